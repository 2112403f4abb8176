// Technical services (servicio técnico) from the console: created from a conversation or an
// IVR call, their number shown to staff (routing sends it to the customer), confirmed by the
// central office and cancelled by the roles POLICY allows. Only what the role may do is shown.

import {ApiError, OfflineError, can, getJSON, postJSON} from './api.js';
import {alertError, askForm, authorLabel, clear, confirmAction, h, toast, whenFull} from './ui.js';

export const SERVICE_STATUS = {pendiente: 'Pendiente', confirmado: 'Confirmado', cancelado: 'Cancelado'};
const READ_ONLY = new Set(['webchat', 'ivr']);

/**
 * Ask for the service's data (what seed 001 asks: the problem in detail, for whom) and create
 * it. `origin` is {conversation_id} or {call_sid}, plus what is known of the customer.
 * Resolves with the service, or null when cancelled or refused (the refusal is shown).
 */
export async function createService(origin, {channel} = {}) {
  const values = await askForm({
    title: 'Generar servicio técnico',
    intro: 'Avisa a la oficina central, que lo confirma. El número se envía al cliente para que le dé seguimiento.',
    fields: [
      {name: 'reason', label: 'Motivo', required: true, hint: 'Por ejemplo: Sin conexión a internet'},
      {name: 'description', label: 'Detalle del inconveniente', type: 'textarea'},
      {name: 'customer_name', label: 'Nombre del cliente', value: origin.customer_name || ''},
      {name: 'document_number', label: 'Documento', value: origin.document_number || ''},
    ],
    submit: 'Generar servicio',
  });
  if (!values) return null;
  const body = {reason: values.reason};
  if (origin.conversation_id) body.conversation_id = origin.conversation_id;
  if (origin.call_sid) body.call_sid = origin.call_sid;
  for (const name of ['description', 'customer_name', 'document_number']) {
    if (values[name]) body[name] = values[name];
  }
  const send = async (allowAnother) => {
    try {
      const service = await postJSON('/api/services', allowAnother ? {...body, allow_another_open: true} : body);
      toast(READ_ONLY.has(channel)
        ? `Servicio técnico ${service.number} generado. Este canal no admite mensajes: comunicale el número por correo o teléfono.`
        : `Servicio técnico ${service.number} generado; se le envía el número al cliente.`);
      return service;
    } catch (error) {
      if (error instanceof ApiError && error.detail?.error === 'service_already_open' && !allowAnother) {
        const again = await confirmAction('Ya hay un servicio abierto',
          'Esta conversación ya tiene un servicio técnico pendiente o confirmado. ¿Generar otro igualmente?',
          'Generar otro');
        return again ? send(true) : null;
      }
      alertError(error.message, error instanceof OfflineError ? () => send(allowAnother) : null);
      return null;
    }
  };
  return send(false);
}

/** Confirm (central office) or cancel (with a reason) one service; resolves true when done. */
export async function changeService(service, action) {
  let body = {};
  if (action === 'cancel') {
    const values = await askForm({
      title: `Cancelar el servicio ${service.number}`,
      intro: 'Un servicio confirmado por la oficina central ya no se puede cancelar.',
      fields: [{name: 'reason', label: 'Motivo de la cancelación', type: 'textarea', required: true}],
      submit: 'Cancelar servicio', danger: true,
    });
    if (!values) return false;
    body = {reason: values.reason};
  } else if (!(await confirmAction(`Confirmar el servicio ${service.number}`,
    'La oficina central confirma la visita técnica.', 'Confirmar'))) {
    return false;
  }
  try {
    await postJSON(`/api/services/${encodeURIComponent(service.service_id)}/${action}`, body);
    toast(action === 'confirm' ? `Servicio ${service.number} confirmado.` : `Servicio ${service.number} cancelado.`);
    return true;
  } catch (error) {
    alertError(error.message);
    return false;
  }
}

/** The buttons a role may use on a service in its current state (none once it is final). */
export function serviceButtons(service, onDone) {
  if (service.status !== 'pendiente') return [];
  const button = (label, action, danger) => h('button', {type: 'button', class: `small${danger ? ' danger' : ''}`,
    dataset: {action: `service-${action}`},
    onclick: async () => { if (await changeService(service, action)) onDone(); }}, label);
  return [
    can('confirmService') ? button('Confirmar', 'confirm', false) : null,
    can('cancelService') ? button('Cancelar', 'cancel', true) : null,
  ].filter(Boolean);
}

/**
 * The services of the open conversation, under its actions: number, state, reason, who
 * created it, and the buttons the role may use. `create()` opens the form.
 */
export function createServicePanel({onChanged}) {
  const list = h('ul', {class: 'service-list'});
  const element = h('section', {class: 'services-box', 'aria-labelledby': 'services-title', hidden: true},
    h('h2', {id: 'services-title'}, 'Servicios técnicos'), list);
  let conversation = null;
  let loadedFor = null; // conversation id and version the list was read for
  let loadedAt = 0;
  let seq = 0;
  // Confirming or cancelling changes no conversation: someone else's change shows at the
  // conversation's next periodic reread once the list is this old.
  const STALE_MS = 15000;

  async function load() {
    if (!conversation) return;
    const mine = ++seq;
    loadedAt = Date.now();
    try {
      const page = await getJSON('/api/services', {conversation_id: conversation.conversation_id, estado: 'todos'});
      if (mine === seq) render(page.items);
    } catch (error) {
      if (mine === seq && !(error instanceof OfflineError)) alertError(`No se pudieron leer los servicios. ${error.message}`);
    }
  }

  function render(items) {
    element.hidden = !items.length;
    clear(list).append(...items.map((s) => h('li', {class: `service status-${s.status}`, dataset: {number: s.number}},
      h('strong', {class: 'service-number'}, s.number), ' ',
      h('span', {class: `badge service-${s.status}`}, SERVICE_STATUS[s.status] || s.status), ' ',
      h('span', {}, s.reason),
      h('span', {class: 'hint'}, ` · ${authorLabel(s.created_by)} · ${whenFull(s.created_at)}`),
      s.cancel_reason ? h('span', {class: 'hint'}, ` · Motivo de cancelación: ${s.cancel_reason}`) : null,
      h('span', {class: 'row-actions'}, serviceButtons(s, () => { load(); onChanged(); })))));
  }

  return {
    element,
    /** Called on every render of the conversation; rereads when it changed or is stale. */
    show(detail) {
      conversation = detail;
      const key = detail ? `${detail.conversation_id}:${detail.version}` : null;
      if (!detail) {
        element.hidden = true;
        clear(list);
      } else if (key !== loadedFor || Date.now() - loadedAt > STALE_MS) {
        if (!loadedFor?.startsWith(`${detail.conversation_id}:`)) {
          element.hidden = true;
          clear(list);
        }
        load();
      }
      loadedFor = key;
    },
    async create() {
      if (!conversation) return;
      const service = await createService({
        conversation_id: conversation.conversation_id,
        customer_name: conversation.customer_name,
        document_number: conversation.document_number,
      }, {channel: conversation.channel});
      if (service) {
        await load();
        onChanged();
      }
    },
  };
}
