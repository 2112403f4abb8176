// The tables of seed 004 (exports API), built from the platform's catalogue (GET /api/tables):
// the tabs in the seed's order (it opens on LLAMADAS VENTAS), each table's columns and its own
// ESTADO choices in the same words the rows, Copy and Print show. BUSCAR / DESDE / HASTA /
// ESTADO (default: the open ones), pages, Copiar (the TSV onto the clipboard), Imprimir (the
// PDF in a new tab). Per row: Ver (a call's flow with the bot, a chat's conversation) and,
// on an open chat nobody holds yet, Tomar (roles that may take). SERVICIOS also confirms
// (central office) and cancels through the tickets API.

import {ApiError, OfflineError, can, getBlob, getJSON, getText, postJSON} from './api.js';
import {createService} from './services.js';
import {alertError, askForm, authorLabel, clear, h, setBusinessTimeZone, setWords, toast, whenFull} from './ui.js';

const PAGE_SIZE = 50;
const CALL_TABLES = new Set(['llamadas', 'llamadas_ventas']);

let catalogue = null; // the promise of GET /api/tables, once per page

/** The tables this role may read, the business time zone and the display words (cached). */
export function loadCatalogue() {
  if (!catalogue) {
    catalogue = getJSON('/api/tables').then((found) => {
      setBusinessTimeZone(found.time_zone);
      setWords(found.words);
      return found;
    }).catch((error) => {
      catalogue = null;
      throw error;
    });
  }
  return catalogue;
}

const filtersOf = {}; // per table, kept while the page lives

export async function renderTables(container, requested) {
  let found;
  try {
    found = await loadCatalogue();
  } catch (error) {
    alertError(error.message, error instanceof OfflineError ? () => renderTables(container, requested) : null);
    return;
  }
  const specs = Object.fromEntries(found.tables.map((t) => [t.name, t]));
  // Seed 004: "nos ubica automáticamente en LLAMADAS VENTAS", the first tab.
  const table = specs[requested] ? requested : found.tables[0]?.name;
  if (!table) return;
  const spec = specs[table];
  const filters = filtersOf[table] || (filtersOf[table] = {q: '', desde: '', hasta: '', estado: '', page: 1});

  const tabs = h('nav', {class: 'table-tabs', 'aria-label': 'Tablas'},
    found.tables.map((t) => h('a', {href: `#/tablas/${t.name}`,
      'aria-current': t.name === table ? 'page' : null}, t.title)));
  const q = h('input', {id: 'f-q', name: 'q', type: 'search', value: filters.q, maxlength: 200,
    placeholder: 'Nombre o documento'});
  // Day first, as staff write dates (a date input would follow the browser's language).
  const dayInput = (id, value) => h('input', {id, name: id.slice(2), type: 'text', value, inputmode: 'numeric',
    placeholder: 'dd/mm/aaaa', maxlength: 10, autocomplete: 'off', size: 10});
  const desde = dayInput('f-desde', filters.desde);
  const hasta = dayInput('f-hasta', filters.hasta);
  const estado = h('select', {id: 'f-estado', name: 'estado'},
    h('option', {value: ''}, `${spec.default_state} (predeterminado)`),
    spec.states.map(({value, label}) => h('option', {value, selected: filters.estado === value}, label)),
    h('option', {value: 'todos', selected: filters.estado === 'todos'}, 'Todos'));
  const form = h('form', {class: 'table-filters', role: 'search', novalidate: true},
    h('div', {class: 'field'}, h('label', {for: 'f-q'}, 'BUSCAR'), q),
    h('div', {class: 'field'}, h('label', {for: 'f-desde'}, 'DESDE'), desde),
    h('div', {class: 'field'}, h('label', {for: 'f-hasta'}, 'HASTA'), hasta),
    h('div', {class: 'field'}, h('label', {for: 'f-estado'}, 'ESTADO'), estado),
    h('div', {class: 'filter-buttons'},
      h('button', {type: 'submit'}, 'Filtrar'),
      h('button', {type: 'button', class: 'secondary', onclick: copy, id: 'copy'}, 'Copiar'),
      h('button', {type: 'button', class: 'secondary', onclick: print, id: 'print'}, 'Imprimir')));
  const summary = h('p', {class: 'table-summary', role: 'status', 'aria-live': 'polite'});
  const grid = h('div', {class: 'table-wrap'});
  const pager = h('nav', {class: 'pager', 'aria-label': 'Páginas'});
  clear(container).append(h('div', {class: 'tables'},
    h('h1', {class: 'sr-only'}, `Tabla ${spec.title}`), tabs, form, summary, grid, pager));

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    filters.page = 1;
    load();
  });

  /** dd/mm/aaaa → aaaa-mm-dd for the API; '' when empty; null when not a date. */
  function isoDay(text) {
    if (!text) return '';
    const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(text);
    if (!m) return null;
    const [day, month, year] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const date = new Date(Date.UTC(year, month - 1, day));
    if (date.getUTCDate() !== day || date.getUTCMonth() !== month - 1) return null;
    return `${m[3]}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  }

  function query() {
    filters.q = q.value.trim();
    filters.desde = desde.value.trim();
    filters.hasta = hasta.value.trim();
    filters.estado = estado.value;
    return {q: filters.q, desde: isoDay(filters.desde), hasta: isoDay(filters.hasta), estado: filters.estado};
  }

  function badFilters() {
    const f = query();
    for (const [value, input, label] of [[f.desde, desde, 'DESDE'], [f.hasta, hasta, 'HASTA']]) {
      if (value === null) {
        alertError(`${label}: escribí la fecha como dd/mm/aaaa (por ejemplo 31/12/2024).`);
        input.focus();
        return true;
      }
    }
    if (f.desde && f.hasta && f.desde > f.hasta) {
      alertError('DESDE no puede ser posterior a HASTA.');
      hasta.focus();
      return true;
    }
    return false;
  }

  async function load() {
    if (badFilters()) return;
    summary.textContent = 'Cargando…';
    try {
      const page = await getJSON(`/api/tables/${table}`, {...query(), page: filters.page, page_size: PAGE_SIZE});
      render(page);
    } catch (error) {
      summary.textContent = '';
      alertError(error.message, error instanceof OfflineError ? load : null);
    }
  }

  function render(page) {
    const pages = Math.max(1, Math.ceil(page.total / page.page_size));
    summary.textContent = page.total === 1 ? '1 fila' : `${page.total} filas`;
    const actionsOf = page.actions || [];
    clear(grid).append(h('table', {},
      h('caption', {class: 'sr-only'}, spec.title),
      h('thead', {}, h('tr', {},
        page.columns.map((c) => h('th', {scope: 'col'}, c.label)),
        h('th', {scope: 'col'}, 'Acciones'))),
      h('tbody', {}, page.rows.length
        ? page.rows.map((row, i) => h('tr', {},
          page.columns.map((c) => h('td', {}, row[c.key] ?? '')),
          h('td', {}, h('div', {class: 'row-actions'}, rowActions(row, actionsOf[i] || {})))))
        : h('tr', {}, h('td', {colspan: page.columns.length + 1, class: 'empty'},
          'No hay filas con estos filtros.')))));
    clear(pager).append(
      h('button', {type: 'button', class: 'secondary', disabled: filters.page <= 1,
        onclick: () => { filters.page -= 1; load(); }}, '‹ Anterior'),
      h('span', {}, `Página ${filters.page} de ${pages}`),
      h('button', {type: 'button', class: 'secondary', disabled: filters.page >= pages,
        onclick: () => { filters.page += 1; load(); }}, 'Siguiente ›'));
  }

  function rowActions(row, actions) {
    if (table === 'servicios') return serviceActions(row);
    return [
      actions.conversation_id ? h('button', {type: 'button', class: 'small secondary',
        onclick: () => view(row, actions.conversation_id)}, 'Ver') : null,
      actions.takeable && can('take') ? h('button', {type: 'button', class: 'small',
        onclick: () => take(actions.conversation_id)}, 'Tomar') : null,
      CALL_TABLES.has(table) && can('createService') ? callServiceButton(row) : null,
    ];
  }

  // A technical service from a call row (services.js asks for its data and creates it).
  function callServiceButton(row) {
    return h('button', {type: 'button', class: 'small', dataset: {action: 'service'},
      onclick: async () => {
        const origin = {call_sid: row.id, customer_name: row.cliente, document_number: row.documento};
        if (await createService(origin, {channel: 'ivr'})) setTimeout(load, 1000);
      }}, 'Servicio técnico');
  }

  function view(row, conversationId) {
    if (CALL_TABLES.has(table)) return showCall(row, conversationId);
    location.hash = `#/actividad/${encodeURIComponent(conversationId)}`;
    return null;
  }

  async function take(conversationId) {
    const send = async () => {
      try {
        await postJSON(`/api/conversations/${encodeURIComponent(conversationId)}/take`);
        toast('Tomaste la conversación.');
        location.hash = `#/actividad/${encodeURIComponent(conversationId)}`;
      } catch (error) {
        alertError(error.message, error instanceof OfflineError ? send : null);
        if (error instanceof ApiError) load();
      }
    };
    await send();
  }

  /** Seed 004: "todo el flujo de conversación que tuvo el usuario con nuestro bot". */
  async function showCall(row, conversationId) {
    let detail;
    try {
      detail = await getJSON(`/api/conversations/${encodeURIComponent(conversationId)}`);
    } catch (error) {
      return alertError(error.message, error instanceof OfflineError ? () => showCall(row, conversationId) : null);
    }
    const dialog = document.getElementById('dialog');
    const facts = [['Cliente', row.cliente || 'Sin identificar'], ['Teléfono', detail.call?.caller_number || row.telefono],
      ['Ciudad', row.ciudad], ['Motivo', row.motivo], ['Estado', row.estado], ['Llamada', row.estado_llamada],
      ['Grabación', 'Sin grabación registrada']];
    const close = h('button', {type: 'button', class: 'secondary'}, 'Cerrar');
    const open = h('button', {type: 'button'}, 'Abrir en Actividad');
    clear(dialog).append(h('div', {class: 'dialog-form call-view'},
      h('h2', {id: 'dialog-title'}, `Llamada ${row.id}`),
      h('dl', {class: 'call-facts'}, facts.filter(([, v]) => v).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      h('h3', {}, 'Recorrido con el bot de llamadas'),
      h('ol', {class: 'call-flow'}, (detail.messages || []).map((m) => h('li', {},
        h('span', {class: 'who'}, authorLabel(m.author)), ' · ',
        h('time', {datetime: m.at}, whenFull(m.at)), ': ', m.text || ''))),
      h('div', {class: 'dialog-actions'}, close, open)));
    close.addEventListener('click', () => dialog.close());
    open.addEventListener('click', () => {
      dialog.close();
      location.hash = `#/actividad/${encodeURIComponent(conversationId)}`;
    });
    dialog.showModal();
    close.focus();
    return null;
  }

  function serviceActions(row) {
    if (row.estado !== 'PENDIENTE') return [];
    return [
      can('confirmService') ? h('button', {type: 'button', class: 'small',
        onclick: () => changeService(row.numero, 'confirm')}, 'Confirmar') : null,
      can('cancelService') ? h('button', {type: 'button', class: 'small danger',
        onclick: () => changeService(row.numero, 'cancel')}, 'Cancelar') : null,
    ];
  }

  async function changeService(number, action) {
    let body = {};
    if (action === 'cancel') {
      const values = await askForm({
        title: `Cancelar el servicio ${number}`,
        intro: 'Un servicio confirmado ya no se puede cancelar.',
        fields: [{name: 'reason', label: 'Motivo de la cancelación', type: 'textarea', required: true}],
        submit: 'Cancelar servicio', danger: true,
      });
      if (!values) return;
      body = {reason: values.reason};
    } else if (!(await askForm({title: `Confirmar el servicio ${number}`,
      intro: 'La central confirma la visita técnica.', submit: 'Confirmar'}))) {
      return;
    }
    const send = async () => {
      try {
        const service = await getJSON(`/api/services/by-number/${encodeURIComponent(number)}`);
        await postJSON(`/api/services/${encodeURIComponent(service.service_id)}/${action}`, body);
        toast(action === 'confirm' ? `Servicio ${number} confirmado.` : `Servicio ${number} cancelado.`);
        // The table is a read model: it shows the change a moment later.
        setTimeout(load, 500);
        setTimeout(load, 2000);
      } catch (error) {
        alertError(error.message, error instanceof OfflineError ? send : null);
        if (error instanceof ApiError) load();
      }
    };
    await send();
  }

  async function copy() {
    if (badFilters()) return;
    let text;
    try {
      text = await getText(`/api/tables/${table}/copy`, query());
    } catch (error) {
      return alertError(error.message, error instanceof OfflineError ? copy : null);
    }
    const rows = Math.max(0, text.split('\r\n').filter(Boolean).length - 1);
    try {
      await navigator.clipboard.writeText(text);
      toast(`Copiadas ${rows} filas: pegalas en la planilla.`);
    } catch {
      // No clipboard permission: show the text selected, ready for Ctrl+C.
      const area = h('textarea', {rows: 8, 'aria-label': 'Texto para copiar', readonly: true}, text);
      clear(grid).append(h('p', {}, 'El navegador no permitió copiar: seleccioná el texto y usá Ctrl+C.'), area);
      area.select();
    }
  }

  async function print() {
    if (badFilters()) return;
    // Opened now, inside the click, so no popup blocker stops it; filled when the PDF arrives.
    const tab = window.open('', '_blank');
    try {
      const blob = await getBlob(`/api/tables/${table}/print`, query());
      const url = URL.createObjectURL(new Blob([blob], {type: 'application/pdf'}));
      if (tab) tab.location.href = url;
      else {
        clear(summary).append(h('a', {href: url, target: '_blank', rel: 'noopener'}, 'Abrir el PDF'));
      }
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (error) {
      tab?.close();
      alertError(error.message, error instanceof OfflineError ? print : null);
    }
  }

  load();
}
