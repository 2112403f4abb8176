// One conversation (GET /api/conversations/{id}): messages, actions, reply, notes, trail.
// What a role or the conversation's state does not allow is not offered; what the platform
// still refuses (someone was faster) is said in Spanish and the view reloads.

import {ApiError, OfflineError, can, getJSON, postJSON, session} from './api.js';
import {loadPeople, peopleWith} from './people.js';
import {allowedActions, currentUser, holderKind} from './permissions.js';
import {presenceOf} from './presence.js';
import {createScorecard} from './quality.js';
import {attachQuickReplies} from './quick_replies.js';
import {createServicePanel} from './services.js';
import {targetState} from './stream.js';
import {
  CHANNELS, STATUS, alertError, askForm, authorLabel, clear, confirmAction, h, holderLabel,
  satisfactionText, toast, when, whenFull,
} from './ui.js';

const ROLE_WORDS = {agent: 'agente', staff: 'staff'};

/** The directory's active people of `roles` as select options: [`agent:luis`, "Luis Pérez (agente)"]. */
function personOptions(roles) {
  return peopleWith(roles).map((p) => [`${p.role}:${p.id}`, `${p.name} (${ROLE_WORDS[p.role] || p.role})`]);
}

const READ_ONLY = new Set(['webchat', 'ivr']);

const DELIVERY = {
  pending: 'Pendiente', sent: 'Enviado', delivered: 'Entregado', read: 'Leído', failed: 'No entregado',
};

const ATTACHMENT = {
  image: 'imagen', audio: 'audio', video: 'video', document: 'documento', sticker: 'sticker',
  location: 'ubicación', contacts: 'contacto', unsupported: 'tipo no admitido', file: 'archivo',
};

const ACTIONS = {
  opened: 'Conversación abierta', message_received: 'Mensaje recibido', message_sent: 'Mensaje enviado',
  seen: 'Vista', assigned: 'Asignada', reassigned: 'Reasignada', escalated: 'Escalada',
  taken: 'Tomada', returned: 'Devuelta', closed: 'Finalizada', note_added: 'Nota interna',
  status_changed: 'Cambio de estado', call_updated: 'Llamada actualizada',
  hold_reminder: 'Recordatorio de espera', secret_revealed: 'Dato oculto revelado (auditado)',
};

// What a status_changed entry of the trail says, when routing names the change.
const CHANGES = {
  satisfaction_asked: 'encuesta de satisfacción enviada',
  satisfaction_answered: 'el cliente calificó la atención',
  first_response_missed: 'primera respuesta fuera de plazo',
};

/** The customer's satisfaction with this conversation, in words (null: never asked). */
function satisfactionLine(c) {
  if (c.satisfaction) {
    return h('span', {class: 'satisfaction', id: 'conv-satisfaction'},
      ' · Satisfacción: ', h('strong', {title: `Respondió ${whenFull(c.satisfaction.answered_at)}`},
        satisfactionText(c.satisfaction)));
  }
  if (c.satisfaction_asked_at) {
    return h('span', {class: 'satisfaction', id: 'conv-satisfaction'}, ' · Encuesta de satisfacción sin respuesta');
  }
  return null;
}

/** The first reply of a person against the channel's target (null: no target). */
function firstResponseLine(c) {
  const first = c.first_response;
  if (!first) return null;
  const state = targetState(c);
  let text;
  if (first.answered_at) text = first.missed ? 'respondida fuera de plazo' : 'respondida a tiempo';
  else if (state === 'vencida') text = 'vencida';
  else if (state === 'por_vencer') text = `por vencer (antes de ${when(first.due_at)})`;
  else text = `en plazo (antes de ${when(first.due_at)})`;
  return h('span', {class: state === 'vencida' || first.missed ? 'target-missed' : ''},
    ` · Primera respuesta: ${text}`);
}

const draftKey = (id) => `consola.borrador.${id}`;

export function createConversation(container, {onLoaded, onChanged}) {
  let current = null; // the last detail loaded
  let id = null;
  let seq = 0;
  let timer = null;
  let busy = false;
  const revealed = new Map(); // message_id → original text (this view only)

  const head = h('div', {class: 'conv-head'});
  const actions = h('div', {class: 'actions', role: 'toolbar', 'aria-label': 'Acciones'});
  const notice = h('p', {class: 'notice', hidden: true});
  const messages = h('ol', {class: 'messages', 'aria-label': 'Mensajes'});
  const replyText = h('textarea', {id: 'reply', name: 'reply', rows: 3, maxlength: 4096});
  const replyForm = h('form', {class: 'composer', novalidate: true},
    h('label', {for: 'reply'}, 'Respuesta al cliente'),
    replyText,
    h('div', {class: 'composer-actions'},
      h('span', {class: 'hint', id: 'reply-hint'}, 'Ctrl+Enter para enviar; "/" y un nombre inserta una respuesta rápida. El borrador se guarda mientras escribís.'),
      h('button', {type: 'submit'}, 'Enviar')));
  replyText.setAttribute('aria-describedby', 'reply-hint');
  attachQuickReplies(replyText); // "/" and a name inserts a saved reply (seed 002)
  const noteText = h('textarea', {id: 'note-text', name: 'note', rows: 2, maxlength: 4000});
  const noteTo = h('select', {id: 'note-to', name: 'to'},
    h('option', {value: ''}, 'Solo el equipo'),
    h('option', {value: 'lara'}, 'Lara (puede volver a responder)'),
    h('option', {value: 'agents'}, 'Agentes (pueden responder)'));
  const noteForm = h('form', {class: 'note-form', novalidate: true},
    h('label', {for: 'note-text'}, 'Nota interna (no se envía al cliente)'),
    noteText,
    h('div', {class: 'composer-actions'},
      h('label', {for: 'note-to'}, 'Dirigida a'), noteTo,
      h('button', {type: 'submit', class: 'secondary'}, 'Agregar nota')));
  const notes = h('ul', {class: 'notes'});
  const trail = h('ol', {class: 'trail'});
  const services = createServicePanel({onChanged: () => { onChanged(); load(); }});
  const scorecard = createScorecard();
  const body = h('div', {class: 'conv-body', hidden: true},
    head, actions, notice, services.element,
    h('div', {class: 'conv-scroll'},
      messages,
      replyForm,
      h('section', {class: 'notes-box', 'aria-labelledby': 'notes-title'},
        h('h2', {id: 'notes-title'}, 'Notas internas'), notes, noteForm),
      h('details', {class: 'trail-box'},
        h('summary', {}, 'Historial de eventos (auditoría)'), trail),
      scorecard.element));
  const empty = h('div', {class: 'conv-empty'},
    h('p', {}, 'Elegí una conversación de la actividad para verla.'));
  clear(container).append(empty, body);

  // Delivery receipts (sent, delivered, read, failed) change a message without a
  // conversation event, so the open conversation is also reread every 20 s while visible.
  const DELIVERY_REFRESH_MS = 20000;
  const poll = setInterval(() => {
    if (!container.isConnected) clearInterval(poll); // the screen was left for good
    else if (id && !busy && document.visibilityState === 'visible') load();
  }, DELIVERY_REFRESH_MS);

  replyText.addEventListener('input', () => {
    if (id) sessionStorage.setItem(draftKey(id), replyText.value);
  });
  replyText.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) replyForm.requestSubmit();
  });
  replyForm.addEventListener('submit', (event) => { event.preventDefault(); reply(); });
  noteForm.addEventListener('submit', (event) => { event.preventDefault(); addNote(); });

  async function load() {
    if (!id) return;
    const mine = ++seq;
    try {
      const detail = await getJSON(`/api/conversations/${encodeURIComponent(id)}`);
      if (mine !== seq || !container.isConnected) return;
      current = detail;
      render();
      onLoaded(detail);
      scorecard.show(detail.conversation_id);
      markSeen(detail);
    } catch (error) {
      if (mine !== seq || !container.isConnected) return;
      if (error instanceof ApiError && error.status === 404) {
        current = null;
        body.hidden = true;
        empty.hidden = false;
        clear(empty).append(h('p', {}, 'Esa conversación no existe.'));
        onLoaded(null);
      } else {
        alertError(`No se pudo cargar la conversación. ${error.message}`);
      }
    }
  }

  /** Opening a conversation with customer messages this person has not read records
   * "seen" (the platform records it once per new customer message) and clears the badge. */
  async function markSeen(detail) {
    if (!detail.unread || !can('act') || document.visibilityState !== 'visible') return;
    try {
      await postJSON(`/api/conversations/${encodeURIComponent(detail.conversation_id)}/seen`);
      onChanged();
    } catch {
      // Not critical: the next load tries again.
    }
  }

  // --- what may be done, from the role and the conversation's state ---------------------

  // What the signed-in user may do here: the platform's holder rules (permissions.js), so
  // no button is shown that the platform would refuse.
  const isOpen = () => current.status !== 'cerrada';
  const heldByPerson = () => !!current.holder && current.holder !== 'lara';
  const allowed = () => allowedActions(current, currentUser());
  const iHold = () => current.holder === currentUser()?.actor;
  const mayAct = () => allowed().has('note');

  function replyState() {
    if (READ_ONLY.has(current.channel)) {
      return {allowed: false, text: 'Canal de solo lectura (web o teléfono): no se puede responder desde aquí; respondé por el correo o el teléfono del cliente.'};
    }
    if (!isOpen()) return {allowed: false, text: 'La conversación está cerrada: el próximo mensaje del cliente abrirá una nueva.'};
    if (!can('act')) return {allowed: false, text: 'Tu rol puede ver esta conversación pero no responder.'};
    if (iHold()) return {allowed: true};
    if (allowed().has('reply')) {
      // Answering a chat someone else (or nobody) holds takes it, except for an agent the
      // staff holder let speak with a note.
      return {allowed: true, takesOver: holderKind(current.holder) !== 'staff'};
    }
    return {allowed: false, text: `La tiene ${holderLabel(current.holder, current.queue)}: solo quien la tiene puede responder.`};
  }

  function render() {
    const c = current;
    empty.hidden = true;
    body.hidden = false;
    const name = c.customer_name || c.identity?.external_id || 'Cliente sin identificar';
    clear(head).append(...[
      h('h1', {id: 'conv-title'}, name),
      h('p', {class: 'meta'},
        h('span', {class: `badge ch-${c.channel}`}, CHANNELS[c.channel] || c.channel), ' ',
        h('span', {class: `badge status-${c.status}`}, STATUS[c.status] || c.status), ' ',
        h('span', {}, 'Responsable: ', h('strong', {id: 'conv-holder'}, holderLabel(c.holder, c.queue))),
        presenceOf(c.holder) ? h('span', {class: 'holder-presence'}, ` (${presenceOf(c.holder)})`) : null,
        c.document_number ? h('span', {}, ` · Doc. ${c.document_number}`) : null,
        h('span', {}, ` · Abierta ${whenFull(c.opened_at)}`),
        firstResponseLine(c),
        satisfactionLine(c)),
      c.customer_tags?.length
        ? h('p', {class: 'tags-line', 'aria-label': 'Etiquetas del cliente'},
          c.customer_tags.map((tag) => h('span', {class: `tag tag-${tag}`}, tag.replace(/_/g, ' '))))
        : null,
    ].filter(Boolean));
    renderActions();
    const state = replyState();
    notice.hidden = state.allowed;
    notice.textContent = state.text || '';
    replyForm.hidden = !state.allowed;
    replyForm.dataset.takesOver = state.takesOver ? 'true' : 'false';
    if (!replyText.value) replyText.value = sessionStorage.getItem(draftKey(c.conversation_id)) || '';
    noteForm.hidden = !mayAct() || !isOpen();
    // Addressing a note to Lara or the agents hands the chat back: only its holder may.
    for (const option of noteTo.options) option.hidden = !!option.value && !allowed().has('noteTo');
    if (!allowed().has('noteTo')) noteTo.value = '';
    services.show(c);
    renderMessages();
    clear(notes).append(...(c.notes.length ? c.notes.map((n) => h('li', {},
      h('span', {class: 'who'}, authorLabel(n.author)),
      n.to ? h('span', {class: 'badge'}, n.to === 'lara' ? 'para Lara' : 'para agentes') : null,
      h('time', {datetime: n.at}, when(n.at)),
      h('p', {}, n.text))) : [h('li', {class: 'empty'}, 'Sin notas.')]));
    clear(trail).append(...c.events.map((e) => h('li', {},
      h('time', {datetime: e.at}, whenFull(e.at)), ' ',
      h('strong', {}, ACTIONS[e.action] || e.action), ' · ', authorLabel(e.actor),
      e.note ? h('span', {class: 'trail-note'}, ` — “${e.note}”`) : null,
      e.change ? h('span', {class: 'trail-note'}, ` (${CHANGES[e.change] || e.change})`) : null)));
  }

  function renderMessages() {
    const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
    const grew = current.messages.length > Number(messages.dataset.count || 0);
    messages.dataset.count = String(current.messages.length);
    clear(messages);
    for (const m of current.messages) {
      const outgoing = m.author !== 'customer';
      const attachment = m.message_type && m.message_type !== 'text'
        ? h('span', {class: 'attachment'}, `📎 Adjunto: ${ATTACHMENT[m.message_type] || m.message_type}`) : null;
      const secret = m.has_secret ? secretControls(m) : null;
      const delivery = outgoing && m.delivery
        ? h('span', {class: `delivery d-${m.delivery}`},
          DELIVERY[m.delivery] || m.delivery,
          m.delivery === 'failed' && (m.delivery_error || m.error) ? `: ${m.delivery_error || m.error}` : '')
        : null;
      messages.append(h('li', {class: `msg ${outgoing ? 'out' : 'in'} author-${m.author.split(':')[0]}`},
        h('div', {class: 'msg-head'},
          h('span', {class: 'who'}, authorLabel(m.author)),
          h('time', {datetime: m.at, title: whenFull(m.at)}, when(m.at))),
        attachment,
        h('p', {class: 'text'}, revealed.get(m.message_id) ?? m.text ?? ''),
        secret,
        delivery));
    }
    if (atBottom || grew || !messages.dataset.scrolled) {
      messages.scrollTop = messages.scrollHeight;
      messages.dataset.scrolled = '1';
    }
  }

  function secretControls(m) {
    if (revealed.has(m.message_id)) {
      return h('p', {class: 'secret-note'}, 'Dato revelado: quedó registrado en la auditoría.');
    }
    if (!allowed().has('reveal')) {
      return h('p', {class: 'secret-note'}, 'Contiene un dato oculto (solo quien tiene la conversación puede verlo).');
    }
    return h('button', {type: 'button', class: 'link', onclick: () => reveal(m)},
      'Mostrar dato oculto (queda registrado)');
  }

  function renderActions() {
    clear(actions);
    const c = current;
    const may = allowed();
    const add = (label, handler, {danger = false, name} = {}) => actions.append(
      h('button', {type: 'button', class: danger ? 'danger' : '', dataset: {action: name}, onclick: handler}, label));
    if (!isOpen()) {
      actions.append(h('span', {class: 'hint'}, `Finalizada ${whenFull(c.closed_at)}.`));
      if (may.has('service')) add('Servicio técnico', () => services.create(), {name: 'service'});
      return;
    }
    if (may.has('take')) add('Tomar', take, {name: 'take'});
    if (may.has('return')) add('Devolver', giveBack, {name: 'return'});
    if (may.has('escalate')) add('Escalar', escalate, {name: 'escalate'});
    if (may.has('assign')) add(heldByPerson() ? 'Reasignar' : 'Asignar', assign, {name: 'assign'});
    if (may.has('seen')) add('Marcar como vista', seen, {name: 'seen'});
    if (may.has('service')) add('Servicio técnico', () => services.create(), {name: 'service'});
    if (may.has('close')) add('Finalizar', finish, {danger: true, name: 'close'});
    if (!can('act')) actions.append(h('span', {class: 'hint'}, 'Tu rol solo puede consultar.'));
    else if (!mayAct()) actions.append(h('span', {class: 'hint'}, `La tiene ${holderLabel(c.holder, c.queue)}: podés consultarla.`));
  }

  // --- actions -------------------------------------------------------------------------

  /** Run one API action; refusals in Spanish; on a lost connection nothing typed is lost. */
  async function run(call, success, retry) {
    if (busy) return false;
    busy = true;
    container.setAttribute('aria-busy', 'true');
    try {
      await call();
      if (success) toast(success);
      onChanged();
      await load();
      return true;
    } catch (error) {
      if (error instanceof OfflineError) {
        alertError(error.message, retry);
      } else {
        alertError(error.message);
        onChanged(); // refused because the screen was stale: bring it up to date
        await load();
      }
      return false;
    } finally {
      busy = false;
      container.removeAttribute('aria-busy');
    }
  }

  const path = (suffix) => `/api/conversations/${encodeURIComponent(id)}/${suffix}`;

  function take() {
    return run(() => postJSON(path('take')), 'Tomaste la conversación.', take);
  }

  function giveBack() {
    return run(() => postJSON(path('return')), 'Conversación devuelta.', giveBack);
  }

  async function finish() {
    const values = await askForm({
      title: 'Finalizar la conversación',
      intro: 'El próximo mensaje del cliente abrirá una conversación nueva con Lara.',
      fields: [{name: 'note', label: 'Nota (opcional)', type: 'textarea'}],
      submit: 'Finalizar', danger: true,
    });
    if (!values) return;
    const send = () => run(() => postJSON(path('close'), values.note ? {note: values.note} : {}),
      'Conversación finalizada.', send);
    await send();
  }

  async function escalate() {
    await loadPeople(); // whoever an admin just added is on the list
    const values = await askForm({
      title: 'Escalar al staff',
      intro: 'La nota explica el motivo y queda como nota interna.',
      fields: [
        {name: 'note', label: 'Nota (motivo)', type: 'textarea', required: true},
        {name: 'to', label: 'Para una persona del staff (opcional)', type: 'select',
          options: [['', 'A la cola del staff (cualquiera)'], ...personOptions(['staff'])]},
      ],
      submit: 'Escalar',
    });
    if (!values) return;
    const bodyOut = {note: values.note};
    if (values.to) bodyOut.to = values.to;
    const send = () => run(() => postJSON(path('escalate'), bodyOut), 'Conversación escalada.', send);
    await send();
  }

  async function assign() {
    await loadPeople();
    const values = await askForm({
      title: heldByPerson() ? 'Reasignar la conversación' : 'Asignar la conversación',
      intro: 'La nota explica el motivo y queda como nota interna.',
      fields: [
        {name: 'to', label: 'Persona', type: 'select', required: true,
          options: [['', 'Elegí a quién…'], ...personOptions(['agent', 'staff'])],
          hint: 'Agentes y staff activos del directorio.'},
        {name: 'note', label: 'Nota (motivo)', type: 'textarea', required: true},
      ],
      submit: 'Asignar',
    });
    if (!values) return;
    const to = values.to;
    const send = () => run(() => postJSON(path('assign'), {to, note: values.note}),
      `Conversación asignada a ${holderLabel(to)}.`, send);
    await send();
  }

  async function seen() {
    let recorded = false;
    const done = await run(async () => { recorded = (await postJSON(path('seen'))).recorded; }, null, seen);
    // The platform records "seen" once per new customer message: say which happened.
    if (done) toast(recorded ? 'Marcada como vista.' : 'Ya estaba vista: no hay mensajes nuevos del cliente.');
  }

  async function reply() {
    const text = replyText.value.trim();
    if (!text) {
      alertError('Escribí la respuesta antes de enviarla.');
      replyText.focus();
      return;
    }
    if (replyForm.dataset.takesOver === 'true') {
      const ok = await confirmAction('Tomar la conversación al responder',
        `La tiene ${holderLabel(current.holder, current.queue)}. Si respondés, pasa a ser tuya y Lara y los agentes dejan de responder.`,
        'Responder y tomarla');
      if (!ok) return;
    }
    const conversationId = id;
    const send = async () => {
      const done = await run(() => postJSON(path('messages'), {text}), 'Respuesta enviada.', send);
      if (done) {
        sessionStorage.removeItem(draftKey(conversationId));
        if (id === conversationId && replyText.value.trim() === text) replyText.value = '';
      }
    };
    await send();
  }

  async function addNote() {
    const text = noteText.value.trim();
    if (!text) {
      alertError('La nota está vacía: escribí el texto.');
      noteText.focus();
      return;
    }
    const bodyOut = noteTo.value ? {text, to: noteTo.value} : {text};
    const send = async () => {
      if (await run(() => postJSON(path('notes'), bodyOut), 'Nota agregada.', send)) noteText.value = '';
    };
    await send();
  }

  async function reveal(m) {
    const ok = await confirmAction('Mostrar el dato oculto',
      'El cliente escribió un dato sensible (p. ej. una contraseña). Verlo queda registrado en la auditoría con tu usuario.',
      'Mostrar');
    if (!ok) return;
    try {
      const out = await postJSON(path(`messages/${encodeURIComponent(m.message_id)}/reveal`));
      revealed.set(m.message_id, out.text);
      renderMessages();
      await load();
    } catch (error) {
      alertError(error.message, error instanceof OfflineError ? () => reveal(m) : null);
    }
  }

  return {
    get id() { return id; },
    open(conversationId) {
      id = conversationId;
      current = null;
      revealed.clear();
      replyText.value = id ? sessionStorage.getItem(draftKey(id)) || '' : '';
      noteText.value = '';
      delete messages.dataset.scrolled;
      delete messages.dataset.count;
      if (!id) {
        body.hidden = true;
        empty.hidden = false;
        onLoaded(null);
        return;
      }
      load();
    },
    refresh: load,
    refreshSoon() {
      clearTimeout(timer);
      timer = setTimeout(load, 150);
    },
  };
}
