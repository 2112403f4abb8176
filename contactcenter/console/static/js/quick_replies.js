// Quick replies ("respuestas rápidas", seed 002): saved messages, one's own and the team's.
// `attachQuickReplies(textarea)` adds the picker to a reply box: typing "/" and a name
// offers the matching replies (arrows to move, Enter or Tab to insert, Esc to close).
// `renderQuickReplies(container)` is the screen where they are created, edited and deleted.

import {can, deleteJSON, getJSON, patchJSON, postJSON} from './api.js';
import {alertError, askForm, clear, confirmAction, h, toast} from './ui.js';

const FRESH_MS = 30000;
const SCOPES = {personal: 'Personal', team: 'Equipo'};
let cache = null; // {at, items}: GET /api/quick-replies, shared by every reply box

async function loadReplies(force = false) {
  if (force || !cache || Date.now() - cache.at > FRESH_MS) {
    cache = {at: Date.now(), items: await getJSON('/api/quick-replies')};
  }
  return cache.items;
}

/** The "/name" being typed just before the caret, or null. */
function slashToken(textarea) {
  const caret = textarea.selectionStart;
  const match = textarea.value.slice(0, caret).match(/(^|\s)\/([a-z0-9_-]*)$/i);
  return match ? {start: caret - match[2].length - 1, end: caret, query: match[2].toLowerCase()} : null;
}

export function attachQuickReplies(textarea) {
  if (!can('quickReplies')) return;
  const list = h('ul', {class: 'qr-picker', role: 'listbox', id: `${textarea.id}-respuestas`,
    'aria-label': 'Respuestas rápidas', hidden: true});
  textarea.after(list);
  textarea.setAttribute('aria-autocomplete', 'list');
  textarea.setAttribute('aria-controls', list.id);
  textarea.setAttribute('aria-expanded', 'false');
  let matches = [];
  let active = 0;
  let asked = 0;

  function close() {
    list.hidden = true;
    matches = [];
    active = 0;
    textarea.setAttribute('aria-expanded', 'false');
    textarea.removeAttribute('aria-activedescendant');
  }

  function render() {
    clear(list).append(...matches.map((reply, index) => h('li', {
      role: 'option', id: `${list.id}-${index}`, class: index === active ? 'active' : '',
      'aria-selected': String(index === active),
      onmousedown: (event) => { event.preventDefault(); choose(index); },
    },
    h('span', {class: 'qr-name'}, `/${reply.name}`), ' ',
    h('span', {class: 'badge'}, SCOPES[reply.scope]), ' ',
    h('span', {class: 'qr-text'}, reply.text))));
    list.hidden = false;
    textarea.setAttribute('aria-expanded', 'true');
    textarea.setAttribute('aria-activedescendant', `${list.id}-${active}`);
  }

  async function update() {
    const token = slashToken(textarea);
    if (!token) return close();
    const mine = ++asked;
    let items;
    try {
      items = await loadReplies();
    } catch {
      return close(); // the reply box works without them
    }
    if (mine !== asked) return;
    const exact = items.filter((r) => r.name === token.query);
    const rest = items.filter((r) => r.name !== token.query && r.name.startsWith(token.query));
    matches = [...exact, ...rest].slice(0, 8);
    active = 0;
    if (matches.length) render();
    else close();
  }

  function choose(index) {
    const reply = matches[index];
    const token = slashToken(textarea);
    close();
    if (!reply || !token) return;
    const value = textarea.value;
    textarea.value = value.slice(0, token.start) + reply.text + value.slice(token.end);
    const caret = token.start + reply.text.length;
    textarea.setSelectionRange(caret, caret);
    textarea.focus();
    // Whoever keeps the draft hears of the change; the picker stays closed (no "/" before the caret).
    textarea.dispatchEvent(new Event('input', {bubbles: true}));
  }

  textarea.addEventListener('input', update);
  textarea.addEventListener('click', update);
  textarea.addEventListener('blur', () => setTimeout(close, 150));
  textarea.addEventListener('keydown', (event) => {
    if (list.hidden || !matches.length) return;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      active = (active + (event.key === 'ArrowDown' ? 1 : -1) + matches.length) % matches.length;
      render();
    } else if ((event.key === 'Enter' || event.key === 'Tab') && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      event.stopImmediatePropagation();
      choose(active);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  });
}

/** The management screen: the list with Editar and Borrar where allowed, and a form to add. */
export function renderQuickReplies(container) {
  const mayTeam = can('teamQuickReplies');
  const mayChange = (reply) => reply.scope === 'personal' || mayTeam;
  const table = h('tbody');
  const name = h('input', {id: 'qr-name', name: 'name', required: true, maxlength: 40, autocomplete: 'off'});
  const text = h('textarea', {id: 'qr-text', name: 'text', rows: 3, required: true, maxlength: 4096});
  const scope = h('select', {id: 'qr-scope', name: 'scope'},
    h('option', {value: 'personal'}, 'Personal (solo yo)'),
    mayTeam ? h('option', {value: 'team'}, 'Equipo (todos los que responden)') : null);
  const form = h('form', {class: 'qr-form card', novalidate: true},
    h('h2', {}, 'Nueva respuesta rápida'),
    h('div', {class: 'field'}, h('label', {for: 'qr-name'}, 'Nombre (lo que escribís después de "/")'), name,
      h('p', {class: 'hint'}, 'Una palabra: letras, números, _ o -. Por ejemplo: saludo.')),
    h('div', {class: 'field'}, h('label', {for: 'qr-text'}, 'Texto'), text),
    h('div', {class: 'field'}, h('label', {for: 'qr-scope'}, 'Quién la ve'), scope),
    h('button', {type: 'submit'}, 'Guardar respuesta'));
  clear(container).append(h('div', {class: 'quick-replies'},
    h('h1', {}, 'Respuestas rápidas'),
    h('p', {class: 'hint'}, 'En la respuesta al cliente, escribí "/" y el nombre para insertarla.'),
    h('div', {class: 'qr-layout'},
      h('div', {class: 'table-wrap'}, h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'Nombre'), h('th', {}, 'Texto'), h('th', {}, 'Quién la ve'), h('th', {}, 'Acciones'))),
        table)),
      form)));

  async function refresh() {
    try {
      const items = await loadReplies(true);
      clear(table).append(...(items.length ? items.map((reply) => h('tr', {dataset: {name: reply.name}},
        h('td', {}, h('strong', {}, `/${reply.name}`)),
        h('td', {class: 'qr-text'}, reply.text),
        h('td', {}, SCOPES[reply.scope]),
        h('td', {}, mayChange(reply) ? h('div', {class: 'row-actions'},
          h('button', {type: 'button', class: 'secondary small', onclick: () => edit(reply)}, 'Editar'),
          h('button', {type: 'button', class: 'danger small', onclick: () => remove(reply)}, 'Borrar')) : '')))
        : [h('tr', {}, h('td', {colspan: 4, class: 'hint'}, 'Todavía no hay respuestas rápidas.'))]));
    } catch (error) {
      alertError(`No se pudieron cargar las respuestas rápidas. ${error.message}`);
    }
  }

  async function run(call, success) {
    try {
      await call();
      toast(success);
      await refresh();
      return true;
    } catch (error) {
      alertError(error.message);
      return false;
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!name.value.trim() || !text.value.trim()) return alertError('Completá el nombre y el texto.');
    const body = {name: name.value.trim(), text: text.value.trim(), scope: scope.value};
    if (await run(() => postJSON('/api/quick-replies', body), 'Respuesta rápida guardada.')) {
      name.value = '';
      text.value = '';
    }
  });

  async function edit(reply) {
    const values = await askForm({
      title: `Editar /${reply.name}`,
      fields: [
        {name: 'name', label: 'Nombre', required: true, value: reply.name},
        {name: 'text', label: 'Texto', type: 'textarea', required: true, value: reply.text},
      ],
      submit: 'Guardar',
    });
    if (!values) return;
    await run(() => patchJSON(`/api/quick-replies/${encodeURIComponent(reply.id)}`, values), 'Respuesta rápida actualizada.');
  }

  async function remove(reply) {
    if (!await confirmAction(`Borrar /${reply.name}`, 'Deja de estar disponible en la respuesta.', 'Borrar', true)) return;
    await run(() => deleteJSON(`/api/quick-replies/${encodeURIComponent(reply.id)}`), 'Respuesta rápida borrada.');
  }

  refresh();
}
