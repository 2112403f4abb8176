// Who may press which button on a conversation: the holder rules of
// services/routing/domain.py, mirrored from the conversation's holder and the signed-in user,
// so that a button the platform would refuse (403/409) is never shown.
//
// `me` is {id, role, actor}; `currentUser()` builds it from what the console knows of the
// session. Rewire that one function when the session comes from elsewhere (GET /api/me).

import {session} from './api.js';

const STAFF_KINDS = new Set(['staff', 'admin']);
const PEOPLE_WHO_SERVE = new Set(['agent', 'staff', 'admin']);
const READ_ONLY_CHANNELS = new Set(['webchat', 'ivr']);

/** The signed-in user as the platform names them: actor `staff:ana`, `admin:root`, `agent:luis`. */
export function currentUser() {
  const {user: id, role} = session;
  return id && role ? {id, role, actor: `${role}:${id}`} : null;
}

/** staff / agent / lara / queue, as `domain.holder_kind` (admins hold as staff). */
export function holderKind(holder) {
  if (!holder) return 'queue';
  if (holder === 'lara') return 'lara';
  const kind = holder.split(':', 1)[0];
  return kind === 'agent' ? 'agent' : STAFF_KINDS.has(kind) ? 'staff' : 'other';
}

const isHuman = (holder) => ['agent', 'staff'].includes(holderKind(holder));
const isStaff = (me) => !!me && STAFF_KINDS.has(me.role);

/**
 * `domain.can_act`: staff act on every conversation; an agent only on one they hold, one
 * waiting in the agents' queue, or one whose staff holder addressed a note to the agents.
 */
export function canAct(conversation, me) {
  if (!conversation || !me) return false;
  if (isStaff(me)) return true;
  if (me.role !== 'agent') return false;
  const {holder, queue} = conversation;
  if (holder === me.actor) return true;
  if (!holder && queue === 'agentes') return true;
  return !!conversation.agents_allowed && holderKind(holder) === 'staff';
}

/**
 * Every conversation action `me` may take now (a Set of: take, return, escalate, assign, seen,
 * close, note, noteTo, reply, reveal, service). Holder rules: once a person holds it, only
 * they return it, finish it or address a note to Lara or the agents.
 */
export function allowedActions(conversation, me) {
  const can = new Set();
  if (!conversation || !me) return can;
  const {holder, queue} = conversation;
  const open = conversation.status !== 'cerrada';
  const mine = holder === me.actor;
  const acts = canAct(conversation, me);
  // A service comes from a conversation one may act on (services.create), closed ones too.
  if (PEOPLE_WHO_SERVE.has(me.role) && acts) can.add('service');
  if (!open) return can;
  const staffHolds = holderKind(holder) === 'staff';
  if (isStaff(me) && !staffHolds) can.add('take');
  if (isStaff(me)) can.add('assign');
  if (acts) can.add('seen').add('note');
  if (acts && mine) can.add('noteTo');
  if (acts && isHuman(holder) && mine) can.add('return');
  if (acts && !staffHolds && !(!holder && queue === 'staff')) can.add('escalate');
  if (PEOPLE_WHO_SERVE.has(me.role) && (isHuman(holder) ? mine : isStaff(me))) can.add('close');
  if (isHuman(holder) && mine) can.add('reveal');
  if (!READ_ONLY_CHANNELS.has(conversation.channel) && PEOPLE_WHO_SERVE.has(me.role)) {
    if (mine
      || (isStaff(me) && !staffHolds)
      || (me.role === 'agent' && ((!holder && queue === 'agentes') || (staffHolds && conversation.agents_allowed)))) {
      can.add('reply');
    }
  }
  return can;
}
