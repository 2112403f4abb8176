// The platform's public HTTP API, with the session (or a pasted token), and refusals in Spanish.

const TOKEN_KEY = 'consola.token';

/** Claims of a JWT, read without checking its signature: the platform checks it on every call. */
export function readClaims(token) {
  const parts = (token || '').trim().split('.');
  if (parts.length !== 3) return null;
  try {
    const json = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(decodeURIComponent(escape(json)));
    if (!claims.sub || !claims.role) return null;
    return claims;
  } catch {
    return null;
  }
}

// Who is signed in. The console signs in with user and password: the platform keeps the
// session in an HttpOnly cookie the scripts never see, and `me` ({id, name, role}) comes from
// GET /api/me. A pasted token (scripts, tests) still works: it travels as a bearer header.
export const session = {
  token: sessionStorage.getItem(TOKEN_KEY),
  me: null,
  get claims() { return readClaims(this.token); },
  get user() { return this.me?.id || this.claims?.sub; },
  get role() { return this.me?.role || this.claims?.role; },
  get name() { return this.me?.name || this.user; },
  /** How the signed-in user appears as a holder: staff:ana, agent:luis, admin:root. */
  get actor() { return `${this.role}:${this.user}`; },
  signIn(token) { this.token = token.trim(); sessionStorage.setItem(TOKEN_KEY, this.token); },
  signOut() { this.token = null; this.me = null; sessionStorage.removeItem(TOKEN_KEY); },
};

/** The CSRF token of the cookie session (the readable `cc_csrf` cookie), for writes. */
function csrfToken() {
  const found = document.cookie.split('; ').find((c) => c.startsWith('cc_csrf='));
  return found ? decodeURIComponent(found.slice('cc_csrf='.length)) : '';
}

/** Headers that authenticate a call: the pasted token, or the cookie plus, on writes, CSRF. */
export function authHeaders(method = 'GET') {
  if (session.token) return {Authorization: `Bearer ${session.token}`};
  return ['GET', 'HEAD', 'OPTIONS'].includes(method) ? {} : {'X-CSRF-Token': csrfToken()};
}

/** GET /api/me with whatever credential there is; null (quietly) when there is none. */
export async function whoAmI() {
  let response;
  try {
    response = await fetch('/api/me', {headers: authHeaders('GET'), cache: 'no-store'});
  } catch {
    throw new OfflineError();
  }
  if (response.status === 401) return null;
  if (!response.ok) throw new ApiError(response.status, describe(response.status, null), null);
  session.me = await response.json();
  return session.me;
}

/** Sign in with user and password: the platform sets the session cookie. */
export async function login(user, password) {
  let response;
  try {
    response = await fetch('/api/access/login', {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({user, password}),
    });
  } catch {
    throw new OfflineError();
  }
  const answer = await response.json().catch(() => null);
  if (!response.ok) {
    const message = response.status === 401 ? 'Usuario o contraseña incorrectos.'
      : answer?.error?.message || describe(response.status, null);
    throw new ApiError(response.status, message, answer);
  }
  session.signOut();
  session.me = {id: answer.id, name: answer.name, role: answer.role};
  return session.me;
}

/** Sign out: the platform ends the session (a pasted token is simply forgotten). */
export async function logout() {
  if (!session.token) {
    try {
      await fetch('/api/access/logout', {method: 'POST', headers: authHeaders('POST')});
    } catch { /* offline: the cookie still goes when the tab closes; nothing to keep */ }
  }
  session.signOut();
}

// What each role may do (README's table); the console offers nothing else.
const ALLOWED = {
  take: ['staff', 'admin'],
  assign: ['staff', 'admin'],
  act: ['agent', 'staff', 'admin'], // escalate, return, close, notes, reply, seen, reveal
  // The customer panel (seed 000: agents tag with evidence; seed 003: agents edit and comment).
  tagCustomer: ['agent', 'staff', 'admin'],
  updateCustomer: ['agent', 'staff', 'admin'],
  commentCustomer: ['agent', 'staff', 'admin'], // comments, case comments, cancelling a case
  mergeCustomers: ['agent', 'staff', 'admin'],
  blockIdentity: ['staff', 'admin'],
  anonymizeCustomer: ['staff', 'admin'],
  quickReplies: ['agent', 'staff', 'admin'], // one's own; the team's: teamQuickReplies
  teamQuickReplies: ['staff', 'admin'],
  confirmService: ['admin', 'central'],
  cancelService: ['staff', 'admin', 'central'],
  createService: ['agent', 'staff', 'admin'], // services.create
  consultations: ['staff', 'admin'], // consultations.read and consultations.handle
  reports: ['agent', 'staff', 'admin'], // reports.own (agents: their own row); reports.read
};

export function can(action) {
  return (ALLOWED[action] || []).includes(session.role);
}

const ERRORS = {
  AlreadyTaken: 'Otra persona ya tomó esta conversación.',
  ConversationClosed: 'La conversación está cerrada.',
  ReadOnlyChannel: 'Este canal es de solo lectura: respondé por el correo o el teléfono del cliente.',
  NoteRequired: 'La nota es obligatoria: explicá el motivo.',
  InvalidTarget: 'El destino no es válido: elegí a una persona de la lista.',
  NotHolder: 'Solo quien tiene la conversación puede hacer esto.',
  NotAllowed: 'Tu rol no puede hacer esto.',
  InvalidTransition: 'La conversación no admite esa acción en su estado actual.',
};

const FIELDS = {
  first_name: 'Nombre', last_name: 'Apellido', display_name: 'Nombre visible', company: 'Empresa',
  gender: 'Género', email: 'Correo electrónico', mobile_phone: 'Celular', home_phone: 'Teléfono fijo',
  document_number: 'Documento', notes: 'Notas', note: 'Nota', text: 'Texto', reason: 'Motivo',
  to: 'Destino', tag: 'Etiqueta',
};

export class ApiError extends Error {
  constructor(status, message, detail, fields = {}) {
    super(message);
    this.status = status;
    this.detail = detail;
    this.fields = fields; // {field: Spanish message} for 422 validation errors
  }
}

export class OfflineError extends Error {
  constructor() {
    super('Sin conexión con la plataforma: no se envió nada. Revisá la red y reintentá; lo que escribiste se conserva.');
  }
}

function fieldMessage(field, item) {
  const label = FIELDS[field] || field;
  const msg = String(item.msg || '');
  if (/missing|required|at least 1 character|empty/i.test(msg) || item.type === 'missing') {
    return `${label}: es obligatorio.`;
  }
  if (/email/i.test(msg) || field === 'email') return `${label}: no es una dirección válida.`;
  if (/phone|E\.164/i.test(msg) || field.endsWith('phone')) {
    return `${label}: no es un teléfono válido (ejemplo: +54 9 11 5555-0000).`;
  }
  if (/extra/i.test(msg) || /not permitted|unknown/i.test(msg)) return `${label}: campo no admitido.`;
  if (/at most|too long/i.test(msg)) return `${label}: es demasiado largo.`;
  return item.spanish ? `${label}: ${msg}` : `${label}: valor no válido (${msg}).`;
}

/** A refusal as Spanish text: what happened and, when the platform says why, why. */
export function describe(status, detail) {
  const error = detail && typeof detail === 'object' && !Array.isArray(detail) ? detail.error : null;
  const serverText = typeof detail === 'string' ? detail : detail?.message;
  if (error && ERRORS[error]) return ERRORS[error];
  // The one-shape bodies already speak Spanish: their message is the best explanation.
  if (detail && typeof detail === 'object' && detail.error && !/^[A-Z]/.test(detail.error) && serverText) {
    return serverText;
  }
  if (status === 401) return 'Tu sesión no es válida o venció: ingresá de nuevo con un token vigente.';
  if (status === 403) return 'Tu rol no tiene permiso para esta acción.';
  if (status === 404) return 'No existe (o ya no está disponible).';
  if (status === 409) return `La plataforma rechazó la acción por el estado actual${serverText ? `: ${serverText}` : '.'}`;
  if (status === 413) return 'Son demasiadas filas para imprimir: acotá los filtros o usá Copiar.';
  if (status === 422) {
    if (error === 'NoteRequired' || /note/i.test(serverText || '')) return ERRORS.NoteRequired;
    return `Datos no válidos${serverText ? `: ${serverText}` : '.'}`;
  }
  if (status === 503) return 'La plataforma no está disponible en este momento; reintentá en unos segundos.';
  return `Error inesperado de la plataforma (${status}).`;
}

// The platform's refusal codes (`{"error": {"code", ...}}`) and the domain exception names of
// the older `{"detail": {"error": ...}}` bodies, to the same Spanish sentence.
const CODES = {
  already_taken: 'AlreadyTaken', conversation_closed: 'ConversationClosed',
  read_only_channel: 'ReadOnlyChannel', note_required: 'NoteRequired', invalid_target: 'InvalidTarget',
  not_holder: 'NotHolder', not_allowed: 'NotAllowed', invalid_transition: 'InvalidTransition',
};

/**
 * A refusal body, in either shape the platform answers: `{"error": {code, message, details}}`
 * or `{"detail": ...}` (a text, `{error, message}`, or a list of field errors). Returns the
 * detail `describe` reads and the field errors as {field: Spanish message}.
 */
function readRefusal(body) {
  const fields = {};
  if (body?.error && typeof body.error === 'object') {
    const {code, message, details = []} = body.error;
    for (const item of details) {
      const field = item.field ? item.field.split('.').pop() : null;
      if (field && field !== 'body') fields[field] = fieldMessage(field, {msg: item.message, type: item.type, spanish: true});
    }
    const reason = details.find((item) => !item.field)?.message;
    return {detail: {error: CODES[code] || code, message: message || reason}, fields};
  }
  const detail = body?.detail ?? null;
  if (Array.isArray(detail)) {
    for (const item of detail) {
      const loc = item.loc || [];
      const field = loc[loc.length - 1];
      if (field) fields[field] = fieldMessage(String(field), item);
    }
  }
  return {detail, fields};
}

async function send(method, path, {body, query, accept} = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, value);
  }
  const headers = authHeaders(method);
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (accept) headers.Accept = accept;
  let response;
  try {
    response = await fetch(url, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  } catch {
    throw new OfflineError();
  }
  if (response.ok) return response;
  let answer = null;
  try { answer = await response.json(); } catch { /* not JSON */ }
  const {detail, fields} = readRefusal(answer);
  const message = Object.keys(fields).length && response.status === 422
    ? Object.values(fields).join(' ')
    : describe(response.status, detail);
  if (response.status === 401) window.dispatchEvent(new CustomEvent('consola:unauthorized'));
  throw new ApiError(response.status, message, detail, fields);
}

export async function getJSON(path, query) {
  return (await send('GET', path, {query})).json();
}

export async function postJSON(path, body = {}) {
  return (await send('POST', path, {body})).json();
}

export async function patchJSON(path, body) {
  return (await send('PATCH', path, {body})).json();
}

export async function deleteJSON(path, query) {
  const response = await send('DELETE', path, {query});
  return response.status === 204 ? null : response.json();
}

export async function getText(path, query) {
  return (await send('GET', path, {query})).text();
}

export async function getBlob(path, query) {
  return (await send('GET', path, {query})).blob();
}
