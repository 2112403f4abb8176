// The console's entry point: sign-in, the two screens (#/actividad, #/tablas/<tabla>) and
// the live feed that keeps the activity screen current.

import {getJSON, readClaims, session} from './api.js';
import {createConversation} from './conversation.js';
import {createCustomerPanel} from './customer.js';
import {connectLive} from './live.js';
import {startPresence, stopPresence} from './presence.js';
import {createStream} from './stream.js';
import {renderTables} from './tables.js';
import {clear, clearAlerts, h, toast} from './ui.js';

const ROLE_NAMES = {agent: 'agente', staff: 'staff', admin: 'administración', central: 'central'};
const main = document.getElementById('main');
let live = null;
let activity = null; // the activity screen while it is mounted

function signInScreen(message) {
  document.getElementById('topbar').hidden = true;
  live?.stop();
  live = null;
  stopPresence();
  activity = null;
  clear(main);
  const error = h('p', {class: 'field-error', id: 'token-error', hidden: !message}, message || '');
  const input = h('textarea', {id: 'token', name: 'token', rows: 5, required: true, spellcheck: 'false',
    autocomplete: 'off', 'aria-describedby': 'token-hint token-error'});
  const form = h('form', {class: 'signin card', novalidate: true},
    h('h1', {}, 'Consola de atención'),
    h('p', {}, 'Ingresá con tu token de acceso.'),
    h('div', {class: 'field'},
      h('label', {for: 'token'}, 'Token de acceso (JWT)'),
      input,
      h('p', {class: 'hint', id: 'token-hint'},
        'Lo entrega un administrador (', h('code', {}, 'contactcenter token --user ana --role staff'), ').'),
      error),
    h('button', {type: 'submit'}, 'Ingresar'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    const claims = readClaims(token);
    const fail = (text) => {
      error.textContent = text;
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    };
    if (!token) return fail('Pegá el token para ingresar.');
    if (!claims) return fail('Eso no parece un token de acceso (JWT con usuario y rol).');
    if (claims.exp && claims.exp * 1000 < Date.now()) return fail('El token venció: pedí uno nuevo.');
    session.signIn(token);
    try {
      await getJSON('/api/stream', {page_size: 1});
    } catch (err) {
      session.signOut();
      return fail(err.status === 401 ? 'La plataforma no aceptó el token (inválido o vencido).' : err.message);
    }
    location.hash = '#/actividad';
    route();
  });
  main.append(form);
  input.focus();
}

function header() {
  document.getElementById('topbar').hidden = false;
  document.getElementById('who').textContent = `${session.user} · ${ROLE_NAMES[session.role] || session.role}`;
}

function setLiveState(state) {
  const el = document.getElementById('live-state');
  el.dataset.state = state;
  el.textContent = state === 'live' ? 'En vivo' : 'Reconectando…';
}

function ensureLive() {
  if (live) return;
  startPresence();
  live = connectLive({
    onState: setLiveState,
    onSync: () => activity?.resync(),
    onEvent: (event) => {
      if (event.action === 'hold_reminder' && event.mine) {
        toast(`Recordatorio: ${event.conversation.customer_name || 'un cliente'} espera tu respuesta.`);
      }
      activity?.apply(event);
    },
  });
}

function activityScreen(conversationId) {
  if (!activity) {
    clear(main);
    const streamBox = h('aside', {class: 'stream-pane', 'aria-label': 'Actividad'});
    const convBox = h('section', {class: 'conversation-pane', 'aria-label': 'Conversación'});
    const custBox = h('aside', {class: 'customer-pane', 'aria-label': 'Cliente'});
    main.append(h('div', {class: 'activity'}, streamBox, convBox, custBox));
    const customer = createCustomerPanel(custBox, {
      onOpenConversation: (id) => { location.hash = `#/actividad/${id}`; },
    });
    const conversation = createConversation(convBox, {
      onLoaded: (detail) => customer.show(detail?.customer_id || null, !!detail),
      onChanged: () => stream.refresh(),
    });
    const stream = createStream(streamBox, {
      onOpen: (id) => { location.hash = `#/actividad/${id}`; },
    });
    activity = {
      conversation,
      stream,
      customer,
      resync() {
        stream.refresh();
        conversation.refresh();
        customer.refresh();
      },
      apply(event) {
        stream.refreshSoon(event);
        if (event.conversation.conversation_id === conversation.id) conversation.refreshSoon();
      },
    };
    stream.refresh();
  }
  activity.stream.setSelected(conversationId || null);
  if (activity.conversation.id !== (conversationId || null)) activity.conversation.open(conversationId || null);
}

function route() {
  if (!session.token || !session.claims) return signInScreen();
  header();
  ensureLive();
  const [, screen, arg] = (location.hash || '#/actividad').split('/');
  for (const [id, on] of [['nav-actividad', screen !== 'tablas'], ['nav-tablas', screen === 'tablas']]) {
    if (on) document.getElementById(id).setAttribute('aria-current', 'page');
    else document.getElementById(id).removeAttribute('aria-current');
  }
  if (screen === 'tablas') {
    activity = null;
    clear(main);
    renderTables(main, arg || 'chats');
  } else {
    activityScreen(arg ? decodeURIComponent(arg) : null);
  }
}

window.addEventListener('hashchange', () => {
  clearAlerts();
  route();
});
window.addEventListener('consola:unauthorized', () => {
  session.signOut();
  signInScreen('Tu sesión no es válida o venció: ingresá de nuevo.');
});
document.getElementById('logout').addEventListener('click', () => {
  session.signOut();
  location.hash = '';
  signInScreen();
});
route();
