// The five tables (exports API): BUSCAR / DESDE / HASTA / ESTADO (default: the open ones),
// pages, Copiar (the TSV onto the clipboard) and Imprimir (the PDF in a new tab).
// SERVICIOS also confirms (central office) and cancels through the tickets API.

import {ApiError, OfflineError, can, getBlob, getJSON, getText, postJSON} from './api.js';
import {createService} from './services.js';
import {alertError, askForm, clear, h, toast} from './ui.js';

const PAGE_SIZE = 50;

const CALL_STATES = [['queued', 'En cola'], ['ringing', 'Sonando'], ['in-progress', 'En curso'],
  ['completed', 'Completada'], ['busy', 'Ocupado'], ['no-answer', 'Sin respuesta'],
  ['failed', 'Fallida'], ['canceled', 'Cancelada']];

export const TABLES = {
  llamadas_ventas: {title: 'LLAMADAS VENTAS', open: 'En curso', states: CALL_STATES},
  llamadas: {title: 'LLAMADAS', open: 'En curso', states: CALL_STATES},
  chats: {title: 'CHATS', open: 'Abiertos', states: [['abierta', 'Abierta'], ['cerrada', 'Cerrada'],
    ['genero_servicio_tecnico', 'Generó servicio técnico']]},
  consultas: {title: 'CONSULTAS', open: 'Abiertas', states: [['abierta', 'Abierta'], ['respondida', 'Respondida'],
    ['cerrada', 'Cerrada'], ['genero_servicio_tecnico', 'Generó servicio técnico']]},
  servicios: {title: 'SERVICIOS', open: 'Pendientes y confirmados', states: [['pendiente', 'Pendiente'],
    ['confirmado', 'Confirmado'], ['cancelado', 'Cancelado']]},
};

const filtersOf = {}; // per table, kept while the page lives

export function renderTables(container, table) {
  // CONSULTAS is an office table (consultations.read): other roles are not offered it.
  const offered = (key) => key !== 'consultas' || can('consultations');
  if (!TABLES[table] || !offered(table)) table = 'chats';
  const spec = TABLES[table];
  const filters = filtersOf[table] || (filtersOf[table] = {q: '', desde: '', hasta: '', estado: '', page: 1});

  const tabs = h('nav', {class: 'table-tabs', 'aria-label': 'Tablas'},
    Object.entries(TABLES).filter(([key]) => offered(key)).map(([key, t]) => h('a', {href: `#/tablas/${key}`,
      'aria-current': key === table ? 'page' : null}, t.title)));
  const q = h('input', {id: 'f-q', name: 'q', type: 'search', value: filters.q, maxlength: 200,
    placeholder: 'Nombre o documento'});
  const desde = h('input', {id: 'f-desde', name: 'desde', type: 'date', value: filters.desde});
  const hasta = h('input', {id: 'f-hasta', name: 'hasta', type: 'date', value: filters.hasta});
  const estado = h('select', {id: 'f-estado', name: 'estado'},
    h('option', {value: ''}, `${spec.open} (predeterminado)`),
    spec.states.map(([value, label]) => h('option', {value, selected: filters.estado === value}, label)),
    h('option', {value: 'todos', selected: filters.estado === 'todos'}, 'Todos'));
  const form = h('form', {class: 'table-filters', role: 'search', novalidate: true},
    h('div', {class: 'field'}, h('label', {for: 'f-q'}, 'BUSCAR'), q),
    h('div', {class: 'field'}, h('label', {for: 'f-desde'}, 'DESDE'), desde),
    h('div', {class: 'field'}, h('label', {for: 'f-hasta'}, 'HASTA'), hasta),
    h('div', {class: 'field'}, h('label', {for: 'f-estado'}, 'ESTADO'), estado),
    h('div', {class: 'filter-buttons'},
      h('button', {type: 'submit'}, 'Buscar'),
      h('button', {type: 'button', class: 'secondary', onclick: copy, id: 'copy'}, 'Copiar'),
      h('button', {type: 'button', class: 'secondary', onclick: print, id: 'print'}, 'Imprimir')));
  const summary = h('p', {class: 'table-summary', role: 'status', 'aria-live': 'polite'});
  const grid = h('div', {class: 'table-wrap'});
  const pager = h('nav', {class: 'pager', 'aria-label': 'Páginas'});
  clear(container).append(h('div', {class: 'tables'},
    h('h1', {class: 'sr-only'}, `Tabla ${spec.title}`), tabs, form, summary, grid, pager));

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    filters.page = 1;
    load();
  });

  function query() {
    filters.q = q.value.trim();
    filters.desde = desde.value;
    filters.hasta = hasta.value;
    filters.estado = estado.value;
    return {q: filters.q, desde: filters.desde, hasta: filters.hasta, estado: filters.estado};
  }

  function badFilters() {
    const f = query();
    if (f.desde && f.hasta && f.desde > f.hasta) {
      alertError('DESDE no puede ser posterior a HASTA.');
      hasta.focus();
      return true;
    }
    return false;
  }

  async function load() {
    if (badFilters()) return;
    summary.textContent = 'Cargando…';
    try {
      const page = await getJSON(`/api/tables/${table}`, {...query(), page: filters.page, page_size: PAGE_SIZE});
      render(page);
    } catch (error) {
      summary.textContent = '';
      alertError(error.message, error instanceof OfflineError ? load : null);
    }
  }

  function render(page) {
    const pages = Math.max(1, Math.ceil(page.total / page.page_size));
    summary.textContent = page.total === 1 ? '1 fila' : `${page.total} filas`;
    const calls = ['llamadas', 'llamadas_ventas'].includes(table) && can('createService');
    const actions = calls || (table === 'servicios' && (can('confirmService') || can('cancelService')));
    clear(grid).append(h('table', {},
      h('caption', {class: 'sr-only'}, spec.title),
      h('thead', {}, h('tr', {},
        page.columns.map((c) => h('th', {scope: 'col'}, c.label)),
        actions ? h('th', {scope: 'col'}, 'Acciones') : null)),
      h('tbody', {}, page.rows.length
        ? page.rows.map((row) => h('tr', {},
          page.columns.map((c) => h('td', {}, row[c.key] ?? '')),
          actions ? h('td', {}, h('div', {class: 'row-actions'}, calls ? callActions(row) : serviceActions(row))) : null))
        : h('tr', {}, h('td', {colspan: page.columns.length + (actions ? 1 : 0), class: 'empty'},
          'No hay filas con estos filtros.')))));
    clear(pager).append(
      h('button', {type: 'button', class: 'secondary', disabled: filters.page <= 1,
        onclick: () => { filters.page -= 1; load(); }}, '‹ Anterior'),
      h('span', {}, `Página ${filters.page} de ${pages}`),
      h('button', {type: 'button', class: 'secondary', disabled: filters.page >= pages,
        onclick: () => { filters.page += 1; load(); }}, 'Siguiente ›'));
  }

  // A technical service from a call row (services.js asks for its data and creates it).
  function callActions(row) {
    return [h('button', {type: 'button', class: 'small', dataset: {action: 'service'},
      onclick: async () => {
        const origin = {call_sid: row.id, customer_name: row.cliente, document_number: row.documento};
        if (await createService(origin, {channel: 'ivr'})) setTimeout(load, 1000);
      }}, 'Servicio técnico')];
  }

  function serviceActions(row) {
    const status = (row.estado || '').toLowerCase();
    if (status !== 'pendiente') return [];
    return [
      can('confirmService') ? h('button', {type: 'button', class: 'small',
        onclick: () => changeService(row.numero, 'confirm')}, 'Confirmar') : null,
      can('cancelService') ? h('button', {type: 'button', class: 'small danger',
        onclick: () => changeService(row.numero, 'cancel')}, 'Cancelar') : null,
    ];
  }

  async function changeService(number, action) {
    let body = {};
    if (action === 'cancel') {
      const values = await askForm({
        title: `Cancelar el servicio ${number}`,
        intro: 'Un servicio confirmado ya no se puede cancelar.',
        fields: [{name: 'reason', label: 'Motivo de la cancelación', type: 'textarea', required: true}],
        submit: 'Cancelar servicio', danger: true,
      });
      if (!values) return;
      body = {reason: values.reason};
    } else if (!(await askForm({title: `Confirmar el servicio ${number}`,
      intro: 'La central confirma la visita técnica.', submit: 'Confirmar'}))) {
      return;
    }
    const send = async () => {
      try {
        const service = await getJSON(`/api/services/by-number/${encodeURIComponent(number)}`);
        await postJSON(`/api/services/${encodeURIComponent(service.service_id)}/${action}`, body);
        toast(action === 'confirm' ? `Servicio ${number} confirmado.` : `Servicio ${number} cancelado.`);
        // The table is a read model: it shows the change a moment later.
        setTimeout(load, 500);
        setTimeout(load, 2000);
      } catch (error) {
        alertError(error.message, error instanceof OfflineError ? send : null);
        if (error instanceof ApiError) load();
      }
    };
    await send();
  }

  async function copy() {
    if (badFilters()) return;
    let text;
    try {
      text = await getText(`/api/tables/${table}/copy`, query());
    } catch (error) {
      return alertError(error.message, error instanceof OfflineError ? copy : null);
    }
    const rows = Math.max(0, text.split('\r\n').filter(Boolean).length - 1);
    try {
      await navigator.clipboard.writeText(text);
      toast(`Copiadas ${rows} filas: pegalas en la planilla.`);
    } catch {
      // No clipboard permission: show the text selected, ready for Ctrl+C.
      const area = h('textarea', {rows: 8, 'aria-label': 'Texto para copiar', readonly: true}, text);
      clear(grid).append(h('p', {}, 'El navegador no permitió copiar: seleccioná el texto y usá Ctrl+C.'), area);
      area.select();
    }
  }

  async function print() {
    if (badFilters()) return;
    // Opened now, inside the click, so no popup blocker stops it; filled when the PDF arrives.
    const tab = window.open('', '_blank');
    try {
      const blob = await getBlob(`/api/tables/${table}/print`, query());
      const url = URL.createObjectURL(new Blob([blob], {type: 'application/pdf'}));
      if (tab) tab.location.href = url;
      else {
        clear(summary).append(h('a', {href: url, target: '_blank', rel: 'noopener'}, 'Abrir el PDF'));
      }
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (error) {
      tab?.close();
      alertError(error.message, error instanceof OfflineError ? print : null);
    }
  }

  load();
}
