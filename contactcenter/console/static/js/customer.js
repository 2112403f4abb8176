// The customer panel beside the conversation (seed 003): tags always in sight (with "+",
// seed 000), the extra actions (export, anonymize), then the tabs Resumen (message history,
// comments), Perfil, Casos (the user's own replies per case, a comment per case, cancel),
// Mensajes and Identidades (match, merge, unmerge, block). Each role sees what it may do.
// Customers API, plus routing's messages of a customer (GET /api/messages).

import {ApiError, OfflineError, can, deleteJSON, getJSON, patchJSON, postJSON} from './api.js';
import {
  CHANNELS, STATUS, alertError, askForm, authorLabel, clear, confirmAction, h, holderLabel,
  satisfactionText, toast, when, whenFull,
} from './ui.js';

const TABS = [
  ['resumen', 'Resumen'],
  ['perfil', 'Perfil'],
  ['casos', 'Casos'],
  ['mensajes', 'Mensajes'],
  ['identidades', 'Identidades'],
];

const PROFILE = [
  ['first_name', 'Nombre', 'text'],
  ['last_name', 'Apellido', 'text'],
  ['company', 'Empresa', 'text'],
  ['gender', 'Género', 'text'],
  ['email', 'Correo electrónico', 'email'],
  ['mobile_phone', 'Celular', 'tel'],
  ['home_phone', 'Teléfono fijo', 'tel'],
  ['document_number', 'Documento', 'text'],
  ['notes', 'Notas', 'textarea'],
];

let catalogue = null; // GET /api/tags, once per page load

async function tagCatalogue() {
  if (!catalogue) catalogue = await getJSON('/api/tags');
  return catalogue;
}

function tagLabel(tag) {
  return catalogue?.find((t) => t.tag === tag)?.label || tag.replace(/_/g, ' ');
}

export function createCustomerPanel(container, {onOpenConversation}) {
  let customerId = null;
  let conversationOpen = false;
  let customer = null;
  let tab = 'resumen';
  let seq = 0;
  const draft = {}; // profile edits not saved yet, kept across live refreshes

  const tagsBox = h('div', {class: 'tags-box'});
  const tabList = h('div', {class: 'tabs', role: 'tablist', 'aria-label': 'Datos del cliente'});
  const panel = h('div', {class: 'tab-panel', role: 'tabpanel', tabindex: '0'});
  const title = h('h2', {class: 'customer-title'});
  const extraBox = h('div', {class: 'customer-extra', role: 'group', 'aria-label': 'Acciones extra'});
  const wrap = h('div', {class: 'customer', hidden: true}, title, tagsBox, extraBox, tabList, panel);
  const empty = h('p', {class: 'empty'}, 'Aquí aparecen los datos del cliente de la conversación abierta.');
  clear(container).append(empty, wrap);

  for (const [key, label] of TABS) {
    const button = h('button', {type: 'button', role: 'tab', id: `tab-${key}`, 'aria-controls': 'customer-tabpanel',
      onclick: () => select(key),
      onkeydown: (event) => {
        const index = TABS.findIndex(([k]) => k === key);
        const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
        if (step) {
          const next = TABS[(index + step + TABS.length) % TABS.length][0];
          select(next);
          tabList.querySelector(`#tab-${next}`).focus();
        }
      }}, label);
    tabList.append(button);
  }
  panel.id = 'customer-tabpanel';

  function select(key) {
    tab = key;
    for (const [k] of TABS) {
      const button = tabList.querySelector(`#tab-${k}`);
      button.setAttribute('aria-selected', String(k === key));
      button.tabIndex = k === key ? 0 : -1;
    }
    panel.setAttribute('aria-labelledby', `tab-${key}`);
    renderTab();
  }

  /** force: re-render the open tab even with the focus in it (after the user's own action). */
  async function load(force = false) {
    const mine = ++seq;
    if (!customerId) {
      customer = null;
      wrap.hidden = true;
      empty.hidden = false;
      empty.textContent = conversationOpen
        ? 'Cliente aún no identificado: sus datos aparecerán en cuanto la plataforma lo reconozca.'
        : 'Aquí aparecen los datos del cliente de la conversación abierta.';
      return;
    }
    try {
      const [loaded] = await Promise.all([getJSON(`/api/customers/${encodeURIComponent(customerId)}`), tagCatalogue()]);
      if (mine !== seq || !container.isConnected) return; // stale, or the screen was left
      customer = loaded;
      empty.hidden = true;
      wrap.hidden = false;
      title.textContent = customer.full_name || customer.display_name || 'Cliente sin nombre';
      renderTags();
      renderExtra();
      if (!tabList.querySelector('[aria-selected="true"]')) select(tab);
      // Never re-render under someone's fingers (a live refresh while editing the profile).
      else if (force || !panel.contains(document.activeElement) || panel === document.activeElement) renderTab();
    } catch (error) {
      if (mine === seq) alertError(`No se pudo cargar el cliente. ${error.message}`);
    }
  }

  const base = () => `/api/customers/${encodeURIComponent(customerId)}`;

  async function act(call, success, retry) {
    try {
      await call();
      if (success) toast(success);
      await load(true);
      return true;
    } catch (error) {
      alertError(error.message, error instanceof OfflineError ? retry : null);
      if (!(error instanceof OfflineError)) await load(true);
      return false;
    }
  }

  // --- tags ----------------------------------------------------------------------------

  function renderTags() {
    const chips = customer.tags.map((tag) => h('li', {class: `tag tag-${tag}`},
      h('span', {}, tagLabel(tag)),
      can('tagCustomer') && customer.status !== 'merged' ? h('button', {type: 'button', class: 'tag-remove', 'aria-label': `Quitar etiqueta ${tagLabel(tag)}`,
        onclick: () => removeTag(tag)}, '×') : null));
    clear(tagsBox).append(
      h('h3', {class: 'sr-only'}, 'Etiquetas'),
      h('ul', {class: 'tags', 'aria-label': 'Etiquetas'},
        chips.length ? chips : h('li', {class: 'hint'}, 'Sin etiquetas')),
      can('tagCustomer') && customer.status !== 'merged' ? h('button', {type: 'button', class: 'tag-add', 'aria-label': 'Agregar etiqueta',
        title: 'Agregar etiqueta', onclick: addTag}, '+') : null);
  }

  async function addTag() {
    const options = (await tagCatalogue()).filter((t) => !customer.tags.includes(t.tag)).map((t) => [t.tag, t.label]);
    if (!options.length) return toast('El cliente ya tiene todas las etiquetas.');
    const values = await askForm({
      title: 'Agregar etiqueta',
      intro: 'La nota con la evidencia es obligatoria: la verá la próxima persona que atienda.',
      fields: [
        {name: 'tag', label: 'Etiqueta', type: 'select', options},
        {name: 'note', label: 'Nota con la evidencia', type: 'textarea', required: true},
      ],
      submit: 'Agregar',
    });
    if (!values) return;
    const send = () => act(() => postJSON(`${base()}/tags`, values), `Etiqueta “${tagLabel(values.tag)}” agregada.`, send);
    await send();
  }

  async function removeTag(tag) {
    const values = await askForm({
      title: `Quitar la etiqueta “${tagLabel(tag)}”`,
      fields: [{name: 'note', label: 'Nota (por qué se quita)', type: 'textarea', required: true}],
      submit: 'Quitar', danger: true,
    });
    if (!values) return;
    const send = () => act(() => deleteJSON(`${base()}/tags/${encodeURIComponent(tag)}`, {note: values.note}),
      'Etiqueta quitada.', send);
    await send();
  }

  // --- extra actions (seed 003: export, block, anonymize by role) --------------------

  function renderExtra() {
    const buttons = [
      h('button', {type: 'button', class: 'secondary small', dataset: {action: 'export'}, onclick: exportData},
        'Exportar datos'),
      can('anonymizeCustomer') && !customer.anonymized && customer.status !== 'merged'
        ? h('button', {type: 'button', class: 'danger small', dataset: {action: 'anonymize'}, onclick: anonymize},
          'Anonimizar')
        : null,
    ];
    clear(extraBox).append(...buttons.filter(Boolean));
  }

  async function exportData() {
    try {
      const data = await getJSON(`${base()}/export`);
      const blob = new Blob([JSON.stringify(data, null, 2)], {type: 'application/json'});
      const link = h('a', {href: URL.createObjectURL(blob), download: `cliente-${customerId}.json`});
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      toast('Datos del cliente exportados (queda registrado).');
    } catch (error) {
      alertError(error.message, error instanceof OfflineError ? exportData : null);
    }
  }

  async function anonymize() {
    const values = await askForm({
      title: 'Anonimizar al cliente',
      intro: 'Se borran sus datos personales, comentarios y evidencias; sus números quedan libres. No se puede deshacer.',
      fields: [{name: 'note', label: 'Nota (motivo)', type: 'textarea', required: true}],
      submit: 'Anonimizar', danger: true,
    });
    if (!values) return;
    const send = () => act(() => postJSON(`${base()}/anonymize`, {note: values.note}), 'Cliente anonimizado.', send);
    await send();
  }

  // --- tabs ----------------------------------------------------------------------------

  async function renderTab() {
    const mine = seq;
    const key = tab;
    let content;
    try {
      content = await ({
        resumen: summary, perfil: profile, casos: cases, mensajes: conversations, identidades: identities,
      })[key]();
    } catch (error) {
      content = h('p', {class: 'field-error'}, `No se pudo cargar. ${error.message}`);
    }
    if (mine !== seq || key !== tab) return;
    clear(panel).append(content);
  }

  const shown = (value) => (value === null || value === undefined ? '' : String(value));

  /** A form with one textarea that posts a comment; null when the role may not comment. */
  function commentForm(id, label, url, hint) {
    if (!can('commentCustomer') || customer.status === 'merged') return null;
    const text = h('textarea', {id, rows: 2, maxlength: 4000});
    const form = h('form', {class: 'comment-form', novalidate: true},
      h('label', {for: id}, label), text,
      hint ? h('p', {class: 'hint'}, hint) : null,
      h('button', {type: 'submit'}, 'Comentar'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const value = text.value.trim();
      if (!value) return alertError('El comentario está vacío.');
      const send = () => act(() => postJSON(url, {text: value}), 'Comentario agregado.', send);
      await send();
    });
    return form;
  }

  function commentList(list, emptyText) {
    return list.length
      ? h('ol', {class: 'comments'}, list.map((c) => h('li', {},
        h('span', {class: 'who'}, authorLabel(c.author)), ' · ', h('time', {datetime: c.at}, whenFull(c.at)),
        h('p', {}, shown(c.text)))))
      : h('p', {class: 'hint'}, emptyText);
  }

  function messageLine(m) {
    return h('li', {class: `log-line author-${m.author.split(':')[0]}`},
      h('span', {class: 'who'}, authorLabel(m.author)), ' · ',
      h('span', {class: 'hint'}, CHANNELS[m.channel] || 'Canal'), ' · ',
      h('time', {datetime: m.at}, whenFull(m.at)),
      h('p', {}, m.text ? m.text : m.message_type !== 'text' ? 'Adjunto' : ''));
  }

  /** The customer's answers to the satisfaction question (their last 50 conversations):
   * the average and how many, and the last one; '' when they never answered. */
  function satisfactionSummary(conversations) {
    const answered = conversations.filter((conv) => conv.satisfaction)
      .sort((a, b) => Date.parse(b.satisfaction.answered_at) - Date.parse(a.satisfaction.answered_at));
    if (!answered.length) return '';
    const mean = answered.reduce((sum, conv) => sum + conv.satisfaction.score, 0) / answered.length;
    const average = mean.toLocaleString('es-AR', {maximumFractionDigits: 1});
    const count = answered.length === 1 ? '1 respuesta' : `${answered.length} respuestas`;
    return `${average} / 5 (${count}; la última: ${satisfactionText(answered[0].satisfaction)})`;
  }

  async function summary() {
    const c = customer;
    const [history, messages, comments, recent] = await Promise.all([
      getJSON(`${base()}/tags/history`),
      getJSON('/api/messages', {customer_id: customerId, limit: 50}),
      getJSON(`${base()}/comments`),
      getJSON('/api/conversations', {customer_id: customerId, page_size: 50}).catch(() => null),
    ]);
    const general = comments.filter((comment) => !comment.case_id);
    const row = (label, value) => (value ? [h('dt', {}, label), h('dd', {}, value)] : []);
    return h('div', {},
      c.status === 'merged' ? h('p', {class: 'notice'}, 'Este cliente fue unido a otro: sus datos siguen en aquel.') : null,
      c.anonymized ? h('p', {class: 'notice'}, 'Datos personales anonimizados.') : null,
      h('dl', {class: 'summary'},
        row('Documento', c.document_number), row('Celular', c.mobile_phone), row('Teléfono fijo', c.home_phone),
        row('Correo', c.email), row('Empresa', c.company), row('Notas', c.notes),
        row('Canales', c.identities.map((i) => CHANNELS[i.channel] || 'Otro').join(', ')),
        row('Cliente desde', whenFull(c.created_at)),
        row('Satisfacción', satisfactionSummary(recent?.items || []))),
      h('h3', {}, 'Historial de mensajes'),
      messages.length
        ? h('ol', {class: 'message-log', 'aria-label': 'Historial de mensajes'}, messages.map(messageLine))
        : h('p', {class: 'hint'}, 'Sin mensajes.'),
      h('h3', {}, 'Comentarios'),
      commentList(general, 'Sin comentarios.'),
      commentForm('comment-text', 'Nuevo comentario', `${base()}/comments`,
        'Los comentarios no se pueden editar ni borrar.'),
      h('h3', {}, 'Historial de etiquetas'),
      history.length
        ? h('ol', {class: 'history'}, history.slice().reverse().map((entry) => h('li', {},
          h('strong', {}, entry.action === 'added' ? '+ ' : '− ', tagLabel(entry.tag)), ' · ',
          authorLabel(entry.actor), ' · ', h('time', {datetime: entry.at}, whenFull(entry.at)),
          entry.note ? h('p', {class: 'evidence'}, entry.note) : null)))
        : h('p', {class: 'hint'}, 'Sin cambios de etiquetas.'));
  }

  function profile() {
    const editable = can('updateCustomer') && customer.status !== 'merged' && !customer.anonymized;
    const inputs = {};
    const errors = {};
    const form = h('form', {class: 'profile', novalidate: true});
    for (const [name, label, type] of PROFILE) {
      const id = `perfil-${name}`;
      const value = shown(draft[customerId]?.[name] ?? customer[name]);
      const input = type === 'textarea'
        ? h('textarea', {id, name, rows: 3, disabled: !editable}, value)
        : h('input', {id, name, type, value, disabled: !editable, autocomplete: 'off'});
      input.addEventListener('input', () => {
        draft[customerId] = {...(draft[customerId] || {}), [name]: input.value};
      });
      errors[name] = h('p', {class: 'field-error', id: `${id}-err`, hidden: true});
      input.setAttribute('aria-describedby', `${id}-err`);
      inputs[name] = input;
      form.append(h('div', {class: 'field'}, h('label', {for: id}, label), input, errors[name]));
    }
    if (!editable) {
      form.append(h('p', {class: 'hint'}, can('updateCustomer') ? 'Este cliente no se puede editar.' : 'Tu rol solo puede consultar el perfil.'));
      return form;
    }
    form.append(h('button', {type: 'submit'}, 'Guardar cambios'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const changes = {};
      for (const [name] of PROFILE) {
        const value = inputs[name].value.trim();
        if (value !== shown(customer[name])) changes[name] = value || null;
        errors[name].hidden = true;
        inputs[name].removeAttribute('aria-invalid');
      }
      if (!Object.keys(changes).length) return toast('No hay cambios para guardar.');
      try {
        await patchJSON(base(), changes);
        delete draft[customerId];
        toast('Perfil guardado.');
        await load(true);
      } catch (error) {
        if (error instanceof ApiError && Object.keys(error.fields).length) {
          let first = null;
          for (const [field, message] of Object.entries(error.fields)) {
            if (!errors[field]) continue;
            errors[field].textContent = message;
            errors[field].hidden = false;
            inputs[field].setAttribute('aria-invalid', 'true');
            first = first || inputs[field];
          }
          toast('No se guardó: revisá los campos marcados.');
          first?.focus();
        } else {
          alertError(error.message);
        }
      }
    });
    return form;
  }

  /** Casos (seed 003): the signed-in user's own previous replies, one case per conversation,
   * each with its comments, a comment box and "Cancelar caso" (which deletes its comments). */
  async function cases() {
    const [list, own] = await Promise.all([
      getJSON(`${base()}/cases`),
      getJSON('/api/messages', {customer_id: customerId, author: 'me', limit: 500}),
    ]);
    const byCase = new Map();
    for (const m of own) {
      if (!byCase.has(m.conversation_id)) byCase.set(m.conversation_id, []);
      byCase.get(m.conversation_id).push(m);
    }
    const states = new Map(list.map((c) => [c.case_id, c]));
    const ids = [...byCase.keys()].reverse(); // the most recent case first
    if (!ids.length) return h('p', {class: 'hint'}, 'Todavía no respondiste a este cliente: acá verás tus respuestas de cada caso.');
    return h('ol', {class: 'cases'}, ids.map((caseId, index) => {
      const replies = byCase.get(caseId);
      const state = states.get(caseId) || {status: 'open', comments: []};
      const cancelled = state.status === 'cancelled';
      const channel = CHANNELS[replies[0].channel] || 'Canal';
      return h('li', {class: `case${cancelled ? ' cancelled' : ''}`, dataset: {caseId}},
        h('h3', {}, `Caso ${ids.length - index} · ${channel} · ${whenFull(replies[0].at)}`,
          cancelled ? h('span', {class: 'badge danger'}, ' Cancelado') : null),
        h('ol', {class: 'message-log', 'aria-label': 'Mis respuestas'}, replies.map(messageLine)),
        cancelled
          ? h('p', {class: 'hint'}, `Cancelado por ${authorLabel(state.cancelled_by)} (${whenFull(state.cancelled_at)}): sus comentarios se eliminaron.`)
          : [
            commentList(state.comments, 'Sin comentarios en este caso.'),
            state.status === 'open' && states.has(caseId)
              ? commentForm(`case-comment-${index}`, 'Comentario del caso', `${base()}/cases/${encodeURIComponent(caseId)}/comments`,
                'No se puede editar ni borrar; si cancelás el caso, se elimina.')
              : null,
            can('commentCustomer') && states.has(caseId)
              ? h('button', {type: 'button', class: 'secondary small', onclick: () => cancelCase(caseId)}, 'Cancelar caso')
              : null,
          ]);
    }));
  }

  async function cancelCase(caseId) {
    const values = await askForm({
      title: 'Cancelar el caso',
      intro: 'Los comentarios del caso se eliminan y el caso ya no admite comentarios.',
      fields: [{name: 'note', label: 'Nota (motivo, opcional)', type: 'textarea'}],
      submit: 'Cancelar caso', danger: true,
    });
    if (!values) return;
    const send = () => act(() => postJSON(`${base()}/cases/${encodeURIComponent(caseId)}/cancel`,
      values.note ? {note: values.note} : {}), 'Caso cancelado: sus comentarios se eliminaron.', send);
    await send();
  }

  async function conversations() {
    const page = await getJSON('/api/conversations', {customer_id: customerId, page_size: 50});
    if (!page.items.length) return h('p', {class: 'hint'}, 'Sin conversaciones.');
    return h('ul', {class: 'past'}, page.items.map((c) => h('li', {},
      h('a', {href: `#/actividad/${encodeURIComponent(c.conversation_id)}`,
        onclick: (event) => { event.preventDefault(); onOpenConversation(c.conversation_id); }},
      `${CHANNELS[c.channel] || 'Canal'} · ${STATUS[c.status] || 'Abierta'} · ${when(c.last_activity_at || c.opened_at)}`),
      h('span', {class: 'hint'}, ` ${holderLabel(c.holder, c.queue)}`),
      c.satisfaction ? h('span', {class: 'satisfaction'}, ` · Satisfacción ${satisfactionText(c.satisfaction)}`) : null,
      c.last_message_preview ? h('p', {class: 'preview'}, c.last_message_preview) : null)));
  }

  const nameOf = (c) => c.full_name || c.display_name || 'Cliente sin nombre';

  async function identities() {
    const [suggestions, audit] = await Promise.all([
      getJSON(`${base()}/suggestions`), getJSON(`${base()}/audit`),
    ]);
    const undone = new Set(audit.filter((a) => a.action === 'unmerged').map((a) => a.detail?.merge_id));
    const merges = audit.filter((a) => a.action === 'merged' && a.detail?.merge_id && !undone.has(a.detail.merge_id));
    const absorbed = await Promise.all(merges.map((m) => getJSON(`/api/customers/${encodeURIComponent(m.detail.absorbed_id)}`)
      .then(nameOf, () => 'otro cliente')));
    const mayMerge = can('mergeCustomers') && customer.status !== 'merged' && !customer.anonymized;
    const mayBlock = can('blockIdentity') && customer.status !== 'merged';
    const matchedOn = {doc: 'documento', email: 'correo', phone: 'teléfono'};
    const candidate = (other, reason) => h('li', {},
      h('strong', {}, nameOf(other)), ' ',
      h('span', {class: 'hint'}, reason), ' ',
      mayMerge ? h('button', {type: 'button', class: 'secondary small', onclick: () => merge(other)}, 'Unir a este cliente') : null);
    const results = h('ul', {class: 'suggestions', 'aria-label': 'Resultados de la búsqueda'});
    const query = h('input', {id: 'identity-search', type: 'search', autocomplete: 'off',
      placeholder: 'Nombre, documento, teléfono…'});
    const search = h('form', {class: 'identity-search', role: 'search', novalidate: true},
      h('label', {for: 'identity-search'}, 'Buscar identidades coincidentes'), query,
      h('button', {type: 'submit', class: 'secondary small'}, 'Buscar'));
    search.addEventListener('submit', async (event) => {
      event.preventDefault();
      const q = query.value.trim();
      if (!q) return;
      try {
        const found = (await getJSON('/api/customers', {q, limit: 10})).items.filter((c) => c.id !== customerId);
        clear(results).append(...(found.length
          ? found.map((c) => candidate(c, c.identities.map((i) => `${CHANNELS[i.channel] || 'Otro'} ${i.external_id}`).join(', ')))
          : [h('li', {class: 'hint'}, 'Ningún otro cliente coincide.')]));
      } catch (error) {
        alertError(error.message);
      }
    });
    return h('div', {},
      h('h3', {}, 'Identidades por canal'),
      h('ul', {class: 'identities'}, customer.identities.map((i) => h('li', {},
        h('span', {class: `badge ch-${i.channel}`}, CHANNELS[i.channel] || 'Otro'), ' ',
        h('code', {}, i.external_id), ' ',
        h('span', {class: 'hint'}, i.contact_count === 1 ? '1 contacto' : `${i.contact_count} contactos`),
        i.blocked ? h('span', {class: 'badge danger'}, 'Bloqueada') : null,
        mayBlock ? h('button', {type: 'button', class: 'secondary small',
          onclick: () => toggleBlock(i)}, i.blocked ? 'Desbloquear' : 'Bloquear') : null))),
      customer.identities.length ? null : h('p', {class: 'hint'}, 'Sin identidades.'),
      h('h3', {}, 'Posibles duplicados'),
      suggestions.length
        ? h('ul', {class: 'suggestions'}, suggestions.map((s) => candidate(s.customer,
          `coincide en ${s.matched_on.map((m) => matchedOn[m] || 'otro dato').join(', ')}`)))
        : h('p', {class: 'hint'}, 'No hay sugerencias.'),
      mayMerge ? search : null,
      results,
      h('h3', {}, 'Uniones'),
      merges.length
        ? h('ul', {class: 'merges'}, merges.map((m, index) => h('li', {},
          `Absorbió a ${absorbed[index]} · ${whenFull(m.at)} · ${authorLabel(m.actor)} `,
          mayMerge ? h('button', {type: 'button', class: 'secondary small', onclick: () => unmerge(m.detail.merge_id)}, 'Deshacer unión') : null)))
        : h('p', {class: 'hint'}, 'Sin uniones.'));
  }

  async function toggleBlock(identity) {
    const verb = identity.blocked ? 'Desbloquear' : 'Bloquear';
    const values = await askForm({
      title: `${verb} ${CHANNELS[identity.channel] || identity.channel} ${identity.external_id}`,
      intro: identity.blocked ? null : 'Sus mensajes ya no abrirán conversaciones.',
      fields: [{name: 'note', label: 'Nota (motivo)', type: 'textarea'}],
      submit: verb, danger: !identity.blocked,
    });
    if (!values) return;
    const action = identity.blocked ? 'unblock' : 'block';
    const send = () => act(() => postJSON(`${base()}/identities/${encodeURIComponent(identity.key)}/${action}`,
      values.note ? {note: values.note} : {}), identity.blocked ? 'Identidad desbloqueada.' : 'Identidad bloqueada.', send);
    await send();
  }

  async function merge(other) {
    const values = await askForm({
      title: 'Unir clientes',
      intro: `${other.full_name || other.id} pasará a formar parte de este cliente (identidades, etiquetas e historial). Se puede deshacer.`,
      fields: [{name: 'note', label: 'Nota (opcional)', type: 'textarea'}],
      submit: 'Unir',
    });
    if (!values) return;
    const send = () => act(() => postJSON(`${base()}/merge`, {other_id: other.id, note: values.note || null}),
      'Clientes unidos.', send);
    await send();
  }

  async function unmerge(mergeId) {
    if (!await confirmAction('Deshacer la unión', 'El cliente absorbido vuelve a estar activo con sus identidades.', 'Deshacer')) return;
    const send = () => act(() => postJSON(`${base()}/unmerge`, {merge_id: mergeId}), 'Unión deshecha.', send);
    await send();
  }

  return {
    show(id, hasConversation = true) {
      conversationOpen = hasConversation;
      if (id === customerId) return load();
      customerId = id;
      if (id) {
        wrap.hidden = true;
        empty.hidden = false;
        empty.textContent = 'Cargando el cliente…';
      }
      tab = 'resumen';
      tabList.querySelectorAll('[role="tab"]').forEach((b) => b.setAttribute('aria-selected', 'false'));
      return load();
    },
    refresh: () => load(),
  };
}
