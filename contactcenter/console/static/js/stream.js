// The activity stream (GET /api/stream) in DESIGN.md's order: mine, other staff, agents,
// Lara, waiting in a queue, closed. Refetched whenever the live feed reports a change.

import {can, getJSON, session} from './api.js';
import {createTeamPanel} from './presence.js';
import {CHANNELS, alertError, clear, h, holderLabel, when} from './ui.js';

const PAGE_SIZE = 100;
// The first-response marks age between refetches: redrawn this often.
const TARGET_REDRAW_MS = 10000;
const SOON_SHARE = 0.2; // "por vencer": less than this share of the target left (routing's rule)
const TARGET_WORDS = {por_vencer: 'Por vencer', vencida: 'Vencida'};

/** How a conversation nobody answered yet stands against its first-response target: the
 * platform's state when fetched, aged with this clock (never less severe than fetched). */
export function targetState(item, now = Date.now()) {
  const first = item.first_response;
  if (!first || first.answered_at || item.status === 'cerrada') return null;
  const left = (Date.parse(first.due_at) - now) / 1000;
  const local = left <= 0 ? 'vencida' : left <= SOON_SHARE * first.target_seconds ? 'por_vencer' : 'en_plazo';
  const rank = {en_plazo: 0, por_vencer: 1, vencida: 2};
  const fetched = item.first_response_state;
  return fetched && rank[fetched] > rank[local] ? fetched : local;
}

const GROUPS = [
  ['mine', 'Mías'],
  ['staff', 'Otros del staff'],
  ['agents', 'Agentes'],
  ['lara', 'Lara'],
  ['queue', 'En cola'],
  ['closed', 'Cerradas'],
];

function groupOf(item) {
  if (item.status === 'cerrada') return 'closed';
  const holder = item.holder;
  if (!holder) return 'queue';
  if (holder === session.actor) return 'mine';
  if (holder === 'lara') return 'lara';
  return holder.startsWith('agent:') ? 'agents' : 'staff';
}

export function createStream(container, {onOpen}) {
  let items = [];
  let total = 0;
  let pages = 1;
  let selected = null;
  let seq = 0;
  let timer = null;
  const fresh = new Set();

  const channel = h('select', {id: 'stream-channel', name: 'channel'},
    h('option', {value: ''}, 'Todos'),
    Object.entries(CHANNELS).map(([value, label]) => h('option', {value}, label)));
  const status = h('select', {id: 'stream-status', name: 'status'},
    h('option', {value: ''}, 'Todos'),
    h('option', {value: 'abierta'}, 'Abiertas'),
    h('option', {value: 'genero_servicio_tecnico'}, 'Generó servicio técnico'),
    h('option', {value: 'cerrada'}, 'Cerradas'));
  // Tags group customers (seed 000): only the conversations of customers with this tag.
  const tag = h('select', {id: 'stream-tag', name: 'tag'}, h('option', {value: ''}, 'Todas'));
  getJSON('/api/tags').then((catalogue) => tag.append(
    ...catalogue.map((t) => h('option', {value: t.tag}, t.label))), () => {});
  for (const select of [channel, status, tag]) {
    select.addEventListener('change', () => { pages = 1; refresh(); });
  }
  const list = h('div', {class: 'stream-list', id: 'stream-list'});
  const team = h('div', {class: 'team-box'});
  const more = h('button', {type: 'button', class: 'secondary', hidden: true,
    onclick: () => { pages += 1; refresh(); }}, 'Mostrar más');
  clear(container).append(
    h('div', {class: 'pane-head'},
      h('h1', {}, 'Actividad'),
      h('div', {class: 'filters-inline'},
        h('label', {for: 'stream-channel'}, 'Canal'), channel,
        h('label', {for: 'stream-status'}, 'Estado'), status,
        h('label', {for: 'stream-tag'}, 'Etiqueta'), tag)),
    team, list, more);
  createTeamPanel(team);
  const redraw = setInterval(() => {
    if (!container.isConnected) clearInterval(redraw);
    else if (items.some((item) => item.first_response && !item.first_response.answered_at)) render();
  }, TARGET_REDRAW_MS);

  async function refresh() {
    const mine = ++seq;
    try {
      const loaded = [];
      let count = 0;
      for (let page = 1; page <= pages; page += 1) {
        const body = await getJSON('/api/stream', {
          page, page_size: PAGE_SIZE, channel: channel.value, status: status.value, tag: tag.value,
        });
        loaded.push(...body.items);
        count = body.total;
        if (body.items.length < PAGE_SIZE) break;
      }
      if (mine !== seq || !container.isConnected) return; // superseded, or the screen was left
      items = loaded;
      total = count;
      render();
    } catch (error) {
      if (mine === seq && container.isConnected) alertError(`No se pudo actualizar la actividad. ${error.message}`);
    }
  }

  function render() {
    const focusedId = document.activeElement?.dataset?.conversationId;
    clear(list);
    const groups = new Map(GROUPS.map(([key]) => [key, []]));
    for (const item of items) groups.get(groupOf(item)).push(item);
    for (const [key, title] of GROUPS) {
      const members = groups.get(key);
      if (!members.length) continue;
      const headingId = `grupo-${key}`;
      list.append(h('section', {class: `group group-${key}`, 'aria-labelledby': headingId},
        h('h2', {id: headingId}, `${title} `, h('span', {class: 'count'}, `(${members.length})`)),
        h('ul', {}, members.map(entry))));
    }
    if (!items.length) list.append(h('p', {class: 'empty'}, 'No hay conversaciones para mostrar.'));
    more.hidden = items.length >= total;
    if (focusedId) list.querySelector(`[data-conversation-id="${CSS.escape(focusedId)}"]`)?.focus();
  }

  function entry(item) {
    const id = item.conversation_id;
    const name = item.customer_name || item.identity?.external_id || 'Cliente sin identificar';
    const link = h('a', {
      href: `#/actividad/${encodeURIComponent(id)}`,
      class: `entry${id === selected ? ' selected' : ''}${fresh.has(id) ? ' fresh' : ''}`,
      'aria-current': id === selected ? 'true' : null,
      dataset: {conversationId: id},
      onclick: (event) => { event.preventDefault(); onOpen(id); },
    },
    h('span', {class: 'entry-top'},
      h('span', {class: 'name'}, name),
      unreadBadge(item),
      h('time', {datetime: item.last_activity_at || item.opened_at}, when(item.last_activity_at || item.last_message_at || item.opened_at))),
    h('span', {class: 'entry-mid'},
      h('span', {class: `badge ch-${item.channel}`}, CHANNELS[item.channel] || item.channel),
      h('span', {class: 'holder'}, holderLabel(item.holder, item.queue)),
      item.status === 'genero_servicio_tecnico' ? h('span', {class: 'badge st'}, 'Servicio técnico') : null,
      targetBadge(item)),
    item.last_message_preview ? h('span', {class: 'preview'}, item.last_message_preview) : null);
    return h('li', {}, link);
  }

  /** "Por vencer" / "Vencida": the first reply of a person is due soon, or overdue. */
  function targetBadge(item) {
    const state = targetState(item);
    if (!TARGET_WORDS[state]) return null;
    const due = new Date(item.first_response.due_at).toLocaleTimeString('es-AR', {hour: '2-digit', minute: '2-digit'});
    const title = state === 'vencida'
      ? `Primera respuesta vencida (debía salir antes de las ${due})`
      : `Primera respuesta por vencer (antes de las ${due})`;
    return h('span', {class: `badge sla-${state}`, title, dataset: {target: state}}, TARGET_WORDS[state]);
  }

  /** Customer messages this person has not read (only for those who act on chats). */
  function unreadBadge(item) {
    if (!item.unread || !can('act')) return null;
    const label = item.unread === 1 ? '1 mensaje sin leer' : `${item.unread} mensajes sin leer`;
    return h('span', {class: 'unread', title: label, 'aria-label': label}, String(item.unread));
  }

  return {
    refresh,
    /** A live change: mark it and refetch soon (several changes → one refetch). */
    refreshSoon(event) {
      const id = event?.conversation?.conversation_id;
      if (id) {
        fresh.add(id);
        setTimeout(() => { fresh.delete(id); render(); }, 4000);
      }
      clearTimeout(timer);
      timer = setTimeout(refresh, 150);
    },
    setSelected(id) {
      selected = id;
      render();
    },
  };
}
