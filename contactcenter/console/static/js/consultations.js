// CONSULTAS (#/consultas/<id>): what customers send from "Mi Cuenta". Staff read the text,
// answer through a contact the customer left (email or WhatsApp are sent; by phone it is
// only recorded), close it, or turn it into a technical service. Office roles only.

import {OfflineError, can, getJSON, postJSON} from './api.js';
import {alertError, askForm, authorLabel, clear, h, toast, whenFull} from './ui.js';

export const CONSULTATION_STATUS = {
  abierta: 'Abierta', respondida: 'Respondida', cerrada: 'Cerrada',
  genero_servicio_tecnico: 'Generó servicio técnico',
};
const CHANNEL = {email: 'correo electrónico', whatsapp: 'WhatsApp', phone: 'teléfono'};
const DELIVERY = {
  pending: 'Enviando…', sent: 'Enviada al cliente', failed: 'No se pudo enviar', not_sent: 'Registrada (respondida por teléfono)',
};
const NUMBER_DELIVERY = {pending: 'enviándoselo al cliente…', sent: 'enviado al cliente', failed: 'no se pudo enviar al cliente'};
const FINAL = new Set(['cerrada', 'genero_servicio_tecnico']);
const PAGE_SIZE = 50;
const filters = {q: '', estado: ''}; // kept while the page lives

export function renderConsultations(container, selectedId) {
  const q = h('input', {id: 'cq', name: 'q', type: 'search', value: filters.q, maxlength: 200,
    placeholder: 'Nombre o documento'});
  const estado = h('select', {id: 'cestado', name: 'estado'},
    h('option', {value: ''}, 'Abiertas (predeterminado)'),
    Object.entries(CONSULTATION_STATUS).map(([value, label]) =>
      h('option', {value, selected: filters.estado === value}, label)),
    h('option', {value: 'todos', selected: filters.estado === 'todos'}, 'Todas'));
  const form = h('form', {class: 'table-filters', role: 'search', novalidate: true},
    h('div', {class: 'field'}, h('label', {for: 'cq'}, 'BUSCAR'), q),
    h('div', {class: 'field'}, h('label', {for: 'cestado'}, 'ESTADO'), estado),
    h('div', {class: 'filter-buttons'}, h('button', {type: 'submit'}, 'Filtrar')));
  const summary = h('p', {class: 'table-summary', role: 'status', 'aria-live': 'polite'});
  const list = h('ul', {class: 'consultation-list', 'aria-label': 'Consultas'});
  const detail = h('section', {class: 'consultation-detail', 'aria-label': 'Consulta'},
    h('p', {class: 'conv-empty'}, 'Elegí una consulta para leerla y responderla.'));
  clear(container).append(h('div', {class: 'consultations'},
    h('aside', {class: 'consultation-pane'}, h('h1', {}, 'CONSULTAS'), form, summary, list),
    detail));
  let pollTimer = null;

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    filters.q = q.value.trim();
    filters.estado = estado.value;
    loadList();
  });

  async function loadList() {
    summary.textContent = 'Cargando…';
    try {
      const page = await getJSON('/api/consultations', {q: filters.q, estado: filters.estado, page_size: PAGE_SIZE});
      if (!container.isConnected) return;
      summary.textContent = page.total === 1 ? '1 consulta' : `${page.total} consultas`;
      clear(list).append(...(page.items.length ? page.items.map((c) => h('li', {},
        h('a', {href: `#/consultas/${encodeURIComponent(c.consultation_id)}`, class: 'entry',
          'aria-current': c.consultation_id === selectedId ? 'true' : null},
        h('strong', {}, c.name), ' ',
        h('span', {class: `badge cstatus-${c.status}`}, CONSULTATION_STATUS[c.status] || c.status),
        h('span', {class: 'preview'}, c.subject),
        h('time', {datetime: c.created_at}, whenFull(c.created_at)))))
        : [h('li', {class: 'empty'}, 'No hay consultas con estos filtros.')]));
    } catch (error) {
      summary.textContent = '';
      alertError(error.message, error instanceof OfflineError ? loadList : null);
    }
  }

  async function loadDetail() {
    clearTimeout(pollTimer);
    if (!selectedId) return;
    try {
      const c = await getJSON(`/api/consultations/${encodeURIComponent(selectedId)}`);
      if (!container.isConnected) return;
      renderDetail(c);
      // The connector reports the sending a moment later: reread until it does.
      if (c.answer_delivery === 'pending' || c.number_delivery === 'pending') pollTimer = setTimeout(loadDetail, 1500);
    } catch (error) {
      clear(detail).append(h('p', {class: 'conv-empty'}, error.message));
    }
  }

  function row(label, value) {
    return value ? [h('dt', {}, label), h('dd', {}, value)] : [];
  }

  function renderDetail(c) {
    const final = FINAL.has(c.status);
    const buttons = can('consultations') && !final ? [
      h('button', {type: 'button', onclick: () => answer(c)}, 'Responder'),
      h('button', {type: 'button', class: 'secondary', onclick: () => convert(c)}, 'Generar servicio técnico'),
      h('button', {type: 'button', class: 'danger', onclick: () => close(c)}, 'Cerrar consulta'),
    ] : [];
    const answered = c.answered_at ? h('section', {class: 'answer-box', 'aria-labelledby': 'answer-title'},
      h('h2', {id: 'answer-title'}, 'Respuesta'),
      h('p', {class: 'meta'}, `${authorLabel(c.answered_by)} · por ${CHANNEL[c.answer_channel] || c.answer_channel} · ${whenFull(c.answered_at)}`),
      h('p', {class: 'text'}, c.answer_text || ''),
      c.answer_delivery ? h('p', {class: `delivery d-${c.answer_delivery}`, id: 'answer-delivery'},
        DELIVERY[c.answer_delivery] || c.answer_delivery,
        c.answer_delivery === 'failed' && c.answer_delivery_error ? `: ${c.answer_delivery_error}` : '') : null) : null;
    clear(detail).append(
      h('div', {class: 'conv-head'},
        h('h1', {id: 'consultation-title'}, c.subject),
        h('p', {class: 'meta'},
          h('span', {class: `badge cstatus-${c.status}`, id: 'consultation-status'}, CONSULTATION_STATUS[c.status] || c.status),
          ` · Recibida ${whenFull(c.created_at)}`)),
      h('div', {class: 'actions', role: 'toolbar', 'aria-label': 'Acciones'}, buttons),
      h('dl', {class: 'consultation-data'},
        row('Cliente', c.name), row('Documento', c.document_number), row('Correo electrónico', c.email),
        row('Teléfono', c.phone),
        row('Servicio técnico', c.service_number && [
          h('strong', {class: 'service-number'}, c.service_number),
          c.number_delivery ? h('span', {class: 'hint', id: 'number-delivery'},
            ` · ${NUMBER_DELIVERY[c.number_delivery]} por ${CHANNEL[c.number_channel] || c.number_channel}`) : null]),
        row('Cerrada por', c.closed_by ? `${authorLabel(c.closed_by)} · ${whenFull(c.closed_at)}` : null)),
      h('section', {class: 'consultation-text', 'aria-labelledby': 'ctext-title'},
        h('h2', {id: 'ctext-title'}, 'Consulta del cliente'),
        h('p', {class: 'text'}, c.text)),
      ...(answered ? [answered] : []));
  }

  /** Run one action; `success` is the toast, or a function of the call's answer. */
  async function act(call, success) {
    try {
      const out = await call();
      toast(typeof success === 'function' ? success(out) : success);
      await loadDetail();
      loadList();
    } catch (error) {
      alertError(error.message);
      loadDetail();
    }
  }

  async function answer(c) {
    const options = [];
    if (c.email) options.push(['email', `Correo electrónico (${c.email})`]);
    if (c.phone) options.push(['whatsapp', `WhatsApp (${c.phone})`], ['phone', `Teléfono: ya lo llamé (${c.phone})`]);
    const values = await askForm({
      title: `Responder a ${c.name}`,
      intro: 'Por correo o WhatsApp la respuesta se envía al cliente; por teléfono solo queda registrada.',
      fields: [
        {name: 'channel', label: 'Responder por', type: 'select', options, value: options[0]?.[0]},
        {name: 'text', label: 'Respuesta', type: 'textarea', required: true},
      ],
      submit: 'Responder',
    });
    if (!values) return;
    await act(() => postJSON(`/api/consultations/${encodeURIComponent(c.consultation_id)}/answer`,
      {channel: values.channel, text: values.text}),
    values.channel === 'phone' ? 'Respuesta registrada.' : `Respuesta enviada por ${CHANNEL[values.channel]}.`);
  }

  async function close(c) {
    const values = await askForm({title: 'Cerrar la consulta',
      intro: 'Una consulta cerrada ya no se puede responder ni convertir en servicio técnico.',
      submit: 'Cerrar consulta', danger: true});
    if (!values) return;
    await act(() => postJSON(`/api/consultations/${encodeURIComponent(c.consultation_id)}/close`), 'Consulta cerrada.');
  }

  async function convert(c) {
    const values = await askForm({
      title: 'Generar servicio técnico',
      intro: 'La consulta pasa a “Generó servicio técnico” y la oficina central recibe el aviso.',
      fields: [{name: 'reason', label: 'Motivo', required: true, value: c.subject}],
      submit: 'Generar servicio',
    });
    if (!values) return;
    await act(() => postJSON(`/api/consultations/${encodeURIComponent(c.consultation_id)}/service`, {reason: values.reason}),
      (out) => (out.consultation.number_channel
        ? `Servicio técnico ${out.service.number} generado; se le envía el número al cliente.`
        : `Servicio técnico ${out.service.number} generado: comunicale el número al cliente.`));
  }

  loadList();
  loadDetail();
}
