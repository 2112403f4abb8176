// Presence of the team (POST/GET /api/presence): while this console is open it beats as
// often as the platform asks (a third of PRESENCE_TIMEOUT_SECONDS); each beat answers who is
// en línea and who ausente, the same on every replica. The panel lists agents and staff.

import {postJSON} from './api.js';
import {clear, h} from './ui.js';

const ROLES = {agent: 'Agente', staff: 'Staff', admin: 'Administración'};
const personLabel = (user) => {
  const [role, id] = user.split(':');
  return `${ROLES[role] || 'Usuario'} ${id}`;
};

const listeners = new Set();
let team = null;
let timer = null;
let running = false;

async function beat() {
  let every = 20;
  try {
    team = await postJSON('/api/presence');
    every = team.beat_every_seconds || every;
    for (const listener of listeners) listener(team);
  } catch {
    // The live feed already says "Reconectando…"; the next beat tries again.
  }
  if (running) timer = setTimeout(beat, Math.max(1, every) * 1000);
}

/** "en línea" / "ausente" for a person of the team, or null when not known. */
export function presenceOf(user) {
  return team?.people.find((p) => p.user === user)?.label ?? null;
}

/** Start beating (once per signed-in console); `stopPresence` on sign-out. */
export function startPresence() {
  if (running) return;
  running = true;
  beat();
}

export function stopPresence() {
  running = false;
  clearTimeout(timer);
  team = null;
}

/** A compact "Equipo" panel that follows the team's presence while it is on screen. */
export function createTeamPanel(container) {
  const list = h('ul', {class: 'team-list', 'aria-label': 'Presencia del equipo'});
  clear(container).append(
    h('details', {class: 'team', open: true},
      h('summary', {}, 'Equipo'),
      list));
  const render = (current) => {
    if (!container.isConnected) { listeners.delete(render); return; }
    clear(list).append(...(current.people.length
      ? current.people.map((p) => h('li', {class: `person p-${p.status}`, dataset: {user: p.user}},
        h('span', {class: 'dot', 'aria-hidden': 'true'}),
        h('span', {class: 'person-name'}, personLabel(p.user)),
        h('span', {class: 'person-state'}, p.label)))
      : [h('li', {class: 'empty'}, 'Nadie conectado.')]));
  };
  listeners.add(render);
  if (team) render(team);
}
