// The directory of people (GET /api/access/directory): display names for user ids, and whom a
// conversation can be handed to. Loaded once after signing in (and again after an admin
// changes someone); every screen reads it synchronously.

import {getJSON} from './api.js';

let people = new Map(); // id → {id, name, role}

/** (Re)read the directory; a failure keeps what was known (ids then show as themselves). */
export async function loadPeople() {
  try {
    const list = await getJSON('/api/access/directory');
    people = new Map(list.map((p) => [p.id, p]));
  } catch {
    /* the names fall back to ids; nothing else depends on them */
  }
  return [...people.values()];
}

/** The directory's display name of a login name ("luis" → "Luis Pérez"), or null. */
export function directoryName(user) {
  return people.get(user)?.name || null;
}

/** Active people of `roles`, by name: [{id, name, role}]. */
export function peopleWith(roles) {
  return [...people.values()]
    .filter((p) => roles.includes(p.role))
    .sort((a, b) => a.name.localeCompare(b.name, 'es'));
}
