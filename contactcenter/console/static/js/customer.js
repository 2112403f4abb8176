// The customer panel beside the conversation: tags always in sight (with "+"), then the
// tabs Resumen, Perfil, Casos, Mensajes, Identidades. Customers API only.

import {ApiError, OfflineError, can, deleteJSON, getJSON, patchJSON, postJSON} from './api.js';
import {
  CHANNELS, STATUS, alertError, askForm, authorLabel, clear, confirmAction, h, holderLabel, toast,
  when, whenFull,
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
  const wrap = h('div', {class: 'customer', hidden: true}, title, tagsBox, tabList, panel);
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
      can('editCustomer') ? h('button', {type: 'button', class: 'tag-remove', 'aria-label': `Quitar etiqueta ${tagLabel(tag)}`,
        onclick: () => removeTag(tag)}, '×') : null));
    clear(tagsBox).append(
      h('h3', {class: 'sr-only'}, 'Etiquetas'),
      h('ul', {class: 'tags', 'aria-label': 'Etiquetas'},
        chips.length ? chips : h('li', {class: 'hint'}, 'Sin etiquetas')),
      can('editCustomer') ? h('button', {type: 'button', class: 'tag-add', 'aria-label': 'Agregar etiqueta',
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

  // --- tabs ----------------------------------------------------------------------------

  async function renderTab() {
    const mine = seq;
    const key = tab;
    let content;
    try {
      content = await ({
        resumen: summary, perfil: profile, casos: comments, mensajes: conversations, identidades: identities,
      })[key]();
    } catch (error) {
      content = h('p', {class: 'field-error'}, `No se pudo cargar. ${error.message}`);
    }
    if (mine !== seq || key !== tab) return;
    clear(panel).append(content);
  }

  async function summary() {
    const c = customer;
    const history = await getJSON(`${base()}/tags/history`);
    const row = (label, value) => (value ? [h('dt', {}, label), h('dd', {}, value)] : []);
    return h('div', {},
      c.status === 'merged' ? h('p', {class: 'notice'}, `Unido a otro cliente (${c.merged_into}).`) : null,
      c.anonymized ? h('p', {class: 'notice'}, 'Datos personales anonimizados.') : null,
      h('dl', {class: 'summary'},
        row('Documento', c.document_number), row('Celular', c.mobile_phone), row('Teléfono fijo', c.home_phone),
        row('Correo', c.email), row('Empresa', c.company), row('Notas', c.notes),
        row('Canales', c.identities.map((i) => CHANNELS[i.channel] || i.channel).join(', ')),
        row('Cliente desde', whenFull(c.created_at))),
      h('h3', {}, 'Historial de etiquetas'),
      history.length
        ? h('ol', {class: 'history'}, history.slice().reverse().map((entry) => h('li', {},
          h('strong', {}, entry.action === 'added' ? '+ ' : '− ', tagLabel(entry.tag)), ' · ',
          authorLabel(entry.actor), ' · ', h('time', {datetime: entry.at}, whenFull(entry.at)),
          entry.note ? h('p', {class: 'evidence'}, entry.note) : null)))
        : h('p', {class: 'hint'}, 'Sin cambios de etiquetas.'));
  }

  function profile() {
    const editable = can('editCustomer') && customer.status !== 'merged' && !customer.anonymized;
    const inputs = {};
    const errors = {};
    const form = h('form', {class: 'profile', novalidate: true});
    for (const [name, label, type] of PROFILE) {
      const id = `perfil-${name}`;
      const value = draft[customerId]?.[name] ?? customer[name] ?? '';
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
      form.append(h('p', {class: 'hint'}, can('editCustomer') ? 'Este cliente no se puede editar.' : 'Tu rol solo puede consultar el perfil.'));
      return form;
    }
    form.append(h('button', {type: 'submit'}, 'Guardar cambios'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const changes = {};
      for (const [name] of PROFILE) {
        const value = inputs[name].value.trim();
        if (value !== (customer[name] ?? '')) changes[name] = value || null;
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

  async function comments() {
    const list = await getJSON(`${base()}/comments`);
    const text = h('textarea', {id: 'comment-text', rows: 3, maxlength: 4000});
    const form = h('form', {class: 'comment-form', novalidate: true},
      h('label', {for: 'comment-text'}, 'Nuevo comentario del caso'),
      text,
      h('p', {class: 'hint'}, 'Los comentarios no se pueden editar ni borrar.'),
      h('button', {type: 'submit'}, 'Agregar comentario'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const value = text.value.trim();
      if (!value) return alertError('El comentario está vacío.');
      const send = () => act(() => postJSON(`${base()}/comments`, {text: value}), 'Comentario agregado.', send);
      await send();
    });
    return h('div', {},
      list.length
        ? h('ol', {class: 'comments'}, list.map((c) => h('li', {},
          h('span', {class: 'who'}, authorLabel(c.author)), ' · ', h('time', {datetime: c.at}, whenFull(c.at)),
          h('p', {}, c.text))))
        : h('p', {class: 'hint'}, 'Sin comentarios.'),
      can('editCustomer') ? form : null);
  }

  async function conversations() {
    const page = await getJSON('/api/conversations', {customer_id: customerId, page_size: 50});
    if (!page.items.length) return h('p', {class: 'hint'}, 'Sin conversaciones.');
    return h('ul', {class: 'past'}, page.items.map((c) => h('li', {},
      h('a', {href: `#/actividad/${encodeURIComponent(c.conversation_id)}`,
        onclick: (event) => { event.preventDefault(); onOpenConversation(c.conversation_id); }},
      `${CHANNELS[c.channel] || c.channel} · ${STATUS[c.status] || c.status} · ${when(c.last_activity_at || c.opened_at)}`),
      h('span', {class: 'hint'}, ` ${holderLabel(c.holder, c.queue)}`),
      c.last_message_preview ? h('p', {class: 'preview'}, c.last_message_preview) : null)));
  }

  async function identities() {
    const [suggestions, audit] = await Promise.all([
      getJSON(`${base()}/suggestions`), getJSON(`${base()}/audit`),
    ]);
    const undone = new Set(audit.filter((a) => a.action === 'unmerged').map((a) => a.detail?.merge_id));
    const merges = audit.filter((a) => a.action === 'merged' && !undone.has(a.detail?.merge_id));
    const edit = can('editCustomer');
    return h('div', {},
      h('h3', {}, 'Identidades por canal'),
      h('ul', {class: 'identities'}, customer.identities.map((i) => h('li', {},
        h('span', {class: `badge ch-${i.channel}`}, CHANNELS[i.channel] || i.channel), ' ',
        h('code', {}, i.external_id), ' ',
        h('span', {class: 'hint'}, `${i.contact_count} contactos`),
        i.blocked ? h('span', {class: 'badge danger'}, 'Bloqueada') : null,
        edit ? h('button', {type: 'button', class: 'secondary small',
          onclick: () => toggleBlock(i)}, i.blocked ? 'Desbloquear' : 'Bloquear') : null))),
      h('h3', {}, 'Posibles duplicados'),
      suggestions.length
        ? h('ul', {class: 'suggestions'}, suggestions.map((s) => h('li', {},
          h('strong', {}, s.customer.full_name || s.customer.id), ' ',
          h('span', {class: 'hint'}, `coincide en ${s.matched_on.map((m) => ({doc: 'documento', email: 'correo', phone: 'teléfono'})[m] || m).join(', ')}`),
          edit ? h('button', {type: 'button', class: 'secondary small', onclick: () => merge(s.customer)}, 'Unir a este cliente') : null)))
        : h('p', {class: 'hint'}, 'No hay sugerencias.'),
      h('h3', {}, 'Uniones'),
      merges.length
        ? h('ul', {class: 'merges'}, merges.map((m) => h('li', {},
          `Absorbió a ${m.detail?.absorbed_id} · ${whenFull(m.at)} · ${authorLabel(m.actor)} `,
          edit ? h('button', {type: 'button', class: 'secondary small', onclick: () => unmerge(m.detail.merge_id)}, 'Deshacer unión') : null)))
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
