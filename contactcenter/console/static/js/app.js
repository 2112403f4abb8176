// The console's entry point: sign-in, the screens (#/actividad, #/tablas/<tabla>, #/reportes/<reporte>, and
// #/usuarios for admins) and the live feed that keeps the activity screen current.

import {can, getJSON, login, logout, readClaims, session, whoAmI} from './api.js';
import {renderConsultations} from './consultations.js';
import {createConversation} from './conversation.js';
import {createCustomerPanel} from './customer.js';
import {renderCustomers} from './customer_list.js';
import {connectLive} from './live.js';
import {renderQuickReplies} from './quick_replies.js';
import {renderReports} from './reports.js';
import {startPresence, stopPresence} from './presence.js';
import {createStream} from './stream.js';
import {loadPeople} from './people.js';
import {loadCatalogue, renderTables} from './tables.js';
import {renderUsers} from './users.js';
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
  const error = h('p', {class: 'field-error', id: 'login-error', role: 'alert', hidden: !message}, message || '');
  const user = h('input', {id: 'login-user', name: 'username', required: true, autocomplete: 'username',
    spellcheck: 'false', autocapitalize: 'none', 'aria-describedby': 'login-error'});
  const password = h('input', {id: 'login-password', name: 'password', type: 'password', required: true,
    autocomplete: 'current-password', 'aria-describedby': 'login-error'});
  const submit = h('button', {type: 'submit'}, 'Ingresar');
  const form = h('form', {class: 'signin card', novalidate: true, 'aria-labelledby': 'signin-title'},
    h('h1', {id: 'signin-title'}, 'Consola de atención'),
    h('p', {}, 'Ingresá con tu usuario y tu contraseña.'),
    h('div', {class: 'field'}, h('label', {for: 'login-user'}, 'Usuario'), user),
    h('div', {class: 'field'}, h('label', {for: 'login-password'}, 'Contraseña'), password),
    error,
    submit,
    h('p', {class: 'hint'}, '¿No tenés usuario o no recordás la contraseña? Pedíselo a un administrador.'),
    tokenSignIn());
  form.addEventListener('submit', async (event) => {
    if (event.submitter && event.submitter !== submit) return; // the token's own button
    event.preventDefault();
    const fail = (text, field) => {
      error.textContent = text;
      error.hidden = false;
      for (const input of [user, password]) input.toggleAttribute('aria-invalid', input === field || !field);
      (field || password).focus();
    };
    if (!user.value.trim()) return fail('Escribí tu usuario.', user);
    if (!password.value) return fail('Escribí tu contraseña.', password);
    submit.disabled = true;
    try {
      await login(user.value.trim(), password.value);
    } catch (err) {
      password.value = '';
      return fail(err.message, null);
    } finally {
      submit.disabled = false;
    }
    await enter();
  });
  main.append(form);
  user.focus();
}

/** Scripts and tests may still sign in with a token of `contactcenter token`. */
function tokenSignIn() {
  const error = h('p', {class: 'field-error', id: 'token-error', hidden: true});
  const input = h('textarea', {id: 'token', name: 'token', rows: 4, spellcheck: 'false',
    autocomplete: 'off', 'aria-describedby': 'token-hint token-error'});
  const use = h('button', {type: 'button', class: 'secondary'}, 'Ingresar con el token');
  use.addEventListener('click', async () => {
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
      if (!await whoAmI()) throw new Error('La plataforma no aceptó el token (inválido o vencido).');
    } catch (err) {
      session.signOut();
      return fail(err.message);
    }
    await enter();
  });
  return h('details', {class: 'token-signin'},
    h('summary', {}, 'Con un token de acceso (scripts y pruebas)'),
    h('div', {class: 'field'},
      h('label', {for: 'token'}, 'Token de acceso (JWT)'),
      input,
      h('p', {class: 'hint', id: 'token-hint'},
        'Lo imprime ', h('code', {}, 'contactcenter token --user ana --role staff'), '.'),
      error),
    use);
}

/** Signed in: read the directory (names, whom to assign), then the screen the URL asks for. */
async function enter() {
  await loadPeople();
  if (!location.hash || location.hash === '#') location.hash = '#/actividad';
  route();
}

function header() {
  document.getElementById('topbar').hidden = false;
  document.getElementById('who').textContent = `${session.name} · ${ROLE_NAMES[session.role] || session.role}`;
  document.getElementById('nav-consultas').hidden = !can('consultations');
  document.getElementById('nav-usuarios').hidden = session.role !== 'admin';
  document.getElementById('nav-reportes').hidden = !can('reports');
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
  if (!session.me) return signInScreen();
  header();
  ensureLive();
  // The business time zone and the display words, before any time or code is shown.
  loadCatalogue().catch(() => {});
  const [, screen, arg] = (location.hash || '#/actividad').split('/');
  const users = screen === 'usuarios' && session.role === 'admin';
  const other = ['tablas', 'clientes', 'respuestas', 'consultas', 'reportes'];
  for (const [id, on] of [['nav-actividad', !other.includes(screen) && !users], ['nav-tablas', screen === 'tablas'],
    ['nav-clientes', screen === 'clientes'], ['nav-respuestas', screen === 'respuestas'],
    ['nav-consultas', screen === 'consultas'], ['nav-reportes', screen === 'reportes'], ['nav-usuarios', users]]) {
    const link = document.getElementById(id);
    if (!link) continue;
    if (on) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.getElementById('nav-respuestas').hidden = !can('quickReplies');
  if (users) {
    activity = null;
    clear(main);
    renderUsers(main);
  } else if (screen === 'clientes' || screen === 'respuestas') {
    activity = null;
    clear(main);
    if (screen === 'clientes') {
      renderCustomers(main, {tag: arg ? decodeURIComponent(arg) : '',
        onOpenConversation: (id) => { location.hash = `#/actividad/${id}`; }});
    } else {
      renderQuickReplies(main);
    }
  } else if (screen === 'tablas') {
    activity = null;
    clear(main);
    renderTables(main, arg); // no table named: the first tab, LLAMADAS VENTAS
  } else if (screen === 'reportes' && can('reports')) {
    activity = null;
    clear(main);
    renderReports(main, arg);
  } else if (screen === 'consultas') {
    activity = null;
    clear(main);
    renderConsultations(main, arg ? decodeURIComponent(arg) : null);
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
document.getElementById('logout').addEventListener('click', async () => {
  await logout();
  location.hash = '';
  signInScreen();
});

// A session cookie (or a pasted token) from before this page load still signs in.
(async () => {
  try {
    if (await whoAmI()) return enter();
  } catch { /* offline or unavailable: the sign-in screen says so on the next try */ }
  signInScreen();
})();
