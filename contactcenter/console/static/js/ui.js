// Small DOM helpers shared by every screen: element builder, notices, dialogs, formats.

import {directoryName} from './people.js';

/** h('button', {type: 'button', onclick}, 'Tomar') → an element; null/false children skipped. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** A passing notice (success, information). */
export function toast(text) {
  const region = document.getElementById('toasts');
  const box = h('div', {class: 'toast'}, text);
  region.append(box);
  while (region.children.length > 3) region.firstElementChild.remove();
  setTimeout(() => box.remove(), 4000);
}

/** Forget the refusals of a screen the user left. */
export function clearAlerts() {
  clear(document.getElementById('alerts'));
}

/** A refusal or failure: stays until dismissed, read at once by screen readers. */
export function alertError(text, retry) {
  const region = document.getElementById('alerts');
  const box = h('div', {class: 'toast error'},
    h('span', {}, text),
    retry ? h('button', {type: 'button', onclick: () => { box.remove(); retry(); }}, 'Reintentar') : null,
    h('button', {type: 'button', class: 'secondary', 'aria-label': 'Cerrar aviso',
      onclick: () => box.remove()}, '×'));
  region.append(box);
  return box;
}

let dialogSeq = 0;

/**
 * A modal form. fields: [{name, label, type: 'textarea'|'text'|'select', required, options,
 * value, hint}]. Resolves with {name: value} or null when cancelled. Required fields are
 * checked here (with a Spanish message) before resolving.
 */
export function askForm({title, intro, fields = [], submit = 'Aceptar', danger = false}) {
  const dialog = document.getElementById('dialog');
  clear(dialog);
  dialogSeq += 1;
  const inputs = {};
  const form = h('form', {method: 'dialog', class: 'dialog-form', novalidate: true});
  form.append(h('h2', {id: 'dialog-title'}, title));
  if (intro) form.append(h('p', {class: 'intro'}, intro));
  for (const f of fields) {
    const id = `dlg${dialogSeq}-${f.name}`;
    let input;
    if (f.type === 'textarea') {
      input = h('textarea', {id, name: f.name, rows: 4, required: !!f.required}, f.value || '');
    } else if (f.type === 'select') {
      input = h('select', {id, name: f.name, required: !!f.required},
        f.options.map(([value, label]) => h('option', {value, selected: value === f.value}, label)));
    } else {
      input = h('input', {id, name: f.name, type: f.type || 'text', value: f.value || '',
        required: !!f.required, autocomplete: 'off'});
    }
    inputs[f.name] = input;
    const error = h('p', {class: 'field-error', id: `${id}-err`, hidden: true});
    input.setAttribute('aria-describedby', `${id}-err`);
    form.append(h('div', {class: 'field'},
      h('label', {for: id}, f.label, f.required ? h('span', {class: 'req'}, ' (obligatorio)') : null),
      input, f.hint ? h('p', {class: 'hint'}, f.hint) : null, error));
  }
  const cancel = h('button', {type: 'button', class: 'secondary', value: 'cancel'}, 'Cancelar');
  const ok = h('button', {type: 'submit', class: danger ? 'danger' : '', value: 'ok'}, submit);
  form.append(h('div', {class: 'dialog-actions'}, cancel, ok));
  dialog.append(form);
  return new Promise((resolve) => {
    let settled = false;
    const done = (value) => {
      if (settled) return;
      settled = true;
      dialog.close();
      resolve(value);
    };
    cancel.addEventListener('click', () => done(null));
    dialog.addEventListener('cancel', () => done(null), {once: true});
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const values = {};
      let firstBad = null;
      for (const f of fields) {
        const input = inputs[f.name];
        const value = input.value.trim();
        const error = document.getElementById(`${input.id}-err`);
        if (f.required && !value) {
          error.textContent = `Este dato es obligatorio: ${f.label}.`;
          error.hidden = false;
          input.setAttribute('aria-invalid', 'true');
          firstBad = firstBad || input;
        } else {
          error.hidden = true;
          input.removeAttribute('aria-invalid');
        }
        values[f.name] = value;
      }
      if (firstBad) {
        firstBad.focus();
        return;
      }
      done(values);
    });
    dialog.showModal();
    const first = fields.length ? inputs[fields[0].name] : ok;
    first.focus();
  });
}

export async function confirmAction(title, intro, submit = 'Confirmar', danger = false) {
  return (await askForm({title, intro, submit, danger})) !== null;
}

// One clock: every time in the business time zone (the platform's TZ setting, from the tables'
// catalogue), as dd/mm/aaaa HH:MM, whatever the browser's own zone is.
let businessTimeZone = 'America/Argentina/Buenos_Aires';
let clockParts = makeClock(businessTimeZone);

function makeClock(timeZone) {
  const format = new Intl.DateTimeFormat('es-AR', {timeZone, day: '2-digit', month: '2-digit',
    year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'});
  return (date) => Object.fromEntries(format.formatToParts(date).map((p) => [p.type, p.value]));
}

export function setBusinessTimeZone(timeZone) {
  if (!timeZone || timeZone === businessTimeZone) return;
  try {
    clockParts = makeClock(timeZone);
    businessTimeZone = timeZone;
  } catch { /* an unknown zone: keep the default */ }
}

function moment(iso) {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : clockParts(date);
}

/** The time alone when it is today in the business time zone, else dd/mm/aaaa HH:MM. */
export function when(iso) {
  const at = moment(iso);
  if (!at) return '';
  const today = clockParts(new Date());
  const sameDay = at.day === today.day && at.month === today.month && at.year === today.year;
  return sameDay ? `${at.hour}:${at.minute}` : `${at.day}/${at.month}/${at.year} ${at.hour}:${at.minute}`;
}

/** dd/mm/aaaa HH:MM in the business time zone: the same text the tables show. */
export function whenFull(iso) {
  const at = moment(iso);
  return at ? `${at.day}/${at.month}/${at.year} ${at.hour}:${at.minute}` : '';
}

// The display words (shared/words.py), replaced by the platform's own on sign-in (setWords).
export const CHANNELS = {
  whatsapp: 'WhatsApp', messenger: 'Facebook', webchat: 'Web', ivr: 'Teléfono',
};
export const STATUS = {
  abierta: 'ABIERTA', cerrada: 'CERRADA', genero_servicio_tecnico: 'GENERÓ SERVICIO TÉCNICO',
};
export const BOTS = {
  lara: 'Lara', 'system:ivr': 'Bot de llamadas', 'system:webchat-bot': 'Bot web',
  'system:csat': 'Encuesta de satisfacción', system: 'Sistema',
  customer: 'Cliente',
};
const ROLE_SUFFIX = {agent: 'agente', central: 'central', admin: 'administración'};

export function setWords(words) {
  Object.assign(CHANNELS, words?.channels || {});
  Object.assign(STATUS, words?.statuses || {});
  Object.assign(BOTS, words?.bots || {});
}

/** An actor as a person reads it (shared/words.py person_name): the directory's display name
 * when known (people.js), else the login name in words; agents and others carry their role:
 * staff:ana → Ana Gómez, agent:luis → Luis Pérez (agente), system:ivr → Bot de llamadas. */
export function personName(actor) {
  if (!actor) return 'En cola';
  if (BOTS[actor]) return BOTS[actor];
  const at = actor.indexOf(':');
  const kind = at < 0 ? '' : actor.slice(0, at);
  const user = at < 0 ? actor : actor.slice(at + 1);
  if (kind === 'system') return BOTS.system;
  const name = directoryName(user)
    || user.split(/[._\s-]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join(' ');
  return ROLE_SUFFIX[kind] ? `${name} (${ROLE_SUFFIX[kind]})` : name;
}

/** A satisfaction answer as staff read it: "★★★★☆ 4/5"; '' when there is none. */
export function satisfactionText(satisfaction) {
  const score = satisfaction?.score;
  if (!score) return '';
  return `${'★'.repeat(score)}${'☆'.repeat(5 - score)} ${score}/5`;
}

/** lara → Lara, agent:luis → Luis Pérez (agente), staff:ana → Ana Gómez, null → En cola. */
export function holderLabel(holder, queue) {
  if (!holder) return queue ? `En cola (${queue === 'agentes' ? 'agentes' : 'staff'})` : 'En cola';
  return personName(holder);
}

export function authorLabel(author) {
  return personName(author);
}
