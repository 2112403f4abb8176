// Reportes (issue 27): each report of GET /api/reports/<reporte> drawn as a chart (charts.js,
// inline SVG) with its table below; DESDE / HASTA / CANAL, Copiar (the TSV of /copy onto the
// clipboard) and Imprimir (the PDF of /print in a new tab), like the tables. Agents see only
// PERSONAS, and in it only their own row (the platform filters it).

import {OfflineError, getBlob, getJSON, getText, session} from './api.js';
import {barChart, heatMap, lineChart} from './charts.js';
import {alertError, clear, h, toast} from './ui.js';

const REPORTS = [
  {name: 'personas', title: 'PERSONAS'},
  {name: 'canales', title: 'CANALES'},
  {name: 'horas', title: 'HORAS'},
  {name: 'lara', title: 'LARA'},
  {name: 'servicios', title: 'SERVICIOS'},
];
const CHANNELS = [['', 'Todos'], ['whatsapp', 'WhatsApp'], ['messenger', 'Facebook'], ['webchat', 'Web'],
  ['ivr', 'Llamadas']];
const filters = {desde: '', hasta: '', canal: ''};

/** 75 → 1:15, 3725 → 1:02:05, null → — (as Copy and Print write them). */
export function secondsText(value) {
  if (value === null || value === undefined) return '—';
  const total = Math.round(value);
  const [hours, minutes, seconds] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  const two = (n) => String(n).padStart(2, '0');
  return hours ? `${hours}:${two(minutes)}:${two(seconds)}` : `${minutes}:${two(seconds)}`;
}

const dayText = (iso) => (iso === 'total' ? 'Total' : iso.split('-').reverse().join('/'));
const cellText = (value, kind) => {
  if (kind === 'seconds') return secondsText(value);
  if (kind === 'day') return dayText(value);
  return value ?? '';
};

/** dd/mm/aaaa → aaaa-mm-dd; '' when empty; null when not a date. */
function isoDay(text) {
  if (!text) return '';
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(text);
  if (!m) return null;
  const [day, month, year] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCDate() !== day || date.getUTCMonth() !== month - 1) return null;
  return `${m[3]}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Every day from `desde` to `hasta` (YYYY-MM-DD), inclusive. */
function daysOf(desde, hasta) {
  const days = [];
  for (let t = Date.parse(`${desde}T00:00:00Z`); t <= Date.parse(`${hasta}T00:00:00Z`); t += 86400000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

function chartOf(report) {
  const {rows} = report;
  const values = (row, keys) => keys.map((k) => row[k] || 0);
  switch (report.report) {
    case 'personas':
      return barChart(report.title, rows.map((r) => ({label: r.persona,
        values: values(r, ['taken', 'closed', 'returned', 'escalated'])})),
      ['Tomadas', 'Cerradas', 'Devueltas', 'Escaladas']);
    case 'canales': {
      const days = daysOf(report.desde, report.hasta); // quiet days too, at zero
      const channels = [...new Set(rows.map((r) => r.canal))];
      return lineChart(`${report.title}: mensajes entrantes`, days.map(dayText), channels.map((name) => ({
        name, values: days.map((d) => rows.find((r) => r.day === d && r.canal === name)?.inbound || 0)})));
    }
    case 'horas':
      return heatMap(report.title, rows.map((r) => Array.from({length: 24}, (_, hour) => r[`h${hour}`])),
        rows.map((r) => r.weekday));
    case 'lara':
      return barChart(`${report.title}`, rows.map((r) => ({label: r.reason, values: [r.count]})), ['Derivaciones']);
    default:
      return barChart(report.title, rows.filter((r) => r.day !== 'total').map((r) => ({label: dayText(r.day),
        values: values(r, ['services_created', 'services_confirmed', 'services_cancelled'])})),
      ['Creados', 'Confirmados', 'Cancelados']);
  }
}

function tableOf(report) {
  return h('table', {},
    h('caption', {class: 'sr-only'}, report.title),
    h('thead', {}, h('tr', {}, report.columns.map((c) => h('th', {scope: 'col'}, c.label)))),
    h('tbody', {}, report.rows.length
      ? report.rows.map((row) => h('tr', {}, report.columns.map((c) => h('td', {class: ['count', 'seconds'].includes(c.kind) ? 'num' : null},
        cellText(row[c.key], c.kind)))))
      : h('tr', {}, h('td', {colspan: report.columns.length, class: 'empty'}, 'No hay datos en estas fechas.'))));
}

function summaryOf(report) {
  const range = `Del ${dayText(report.desde)} al ${dayText(report.hasta)}`;
  if (report.report !== 'lara') return range;
  const {resolved, closed, handovers} = report.summary;
  return `${range}: Lara resolvió sola ${resolved} de ${closed} conversaciones cerradas y derivó ${handovers} a personas.`;
}

export function renderReports(container, requested) {
  const allowed = session.role === 'agent' ? REPORTS.slice(0, 1) : REPORTS;
  const report = allowed.find((r) => r.name === requested)?.name || allowed[0].name;
  const tabs = h('nav', {class: 'table-tabs', 'aria-label': 'Reportes'},
    allowed.map((r) => h('a', {href: `#/reportes/${r.name}`, 'aria-current': r.name === report ? 'page' : null}, r.title)));
  const dayInput = (id, value) => h('input', {id, name: id.slice(2), type: 'text', value, inputmode: 'numeric',
    placeholder: 'dd/mm/aaaa', maxlength: 10, autocomplete: 'off', size: 10});
  const desde = dayInput('r-desde', filters.desde);
  const hasta = dayInput('r-hasta', filters.hasta);
  const canal = h('select', {id: 'r-canal', name: 'canal'},
    CHANNELS.map(([value, label]) => h('option', {value, selected: filters.canal === value}, label)));
  const form = h('form', {class: 'table-filters', role: 'search', novalidate: true},
    h('div', {class: 'field'}, h('label', {for: 'r-desde'}, 'DESDE'), desde),
    h('div', {class: 'field'}, h('label', {for: 'r-hasta'}, 'HASTA'), hasta),
    h('div', {class: 'field'}, h('label', {for: 'r-canal'}, 'CANAL'), canal),
    h('div', {class: 'filter-buttons'},
      h('button', {type: 'submit'}, 'Filtrar'),
      h('button', {type: 'button', class: 'secondary', onclick: copy, id: 'copy'}, 'Copiar'),
      h('button', {type: 'button', class: 'secondary', onclick: print, id: 'print'}, 'Imprimir')));
  const summary = h('p', {class: 'table-summary', role: 'status', 'aria-live': 'polite'});
  const chart = h('figure', {class: 'chart-box'});
  const grid = h('div', {class: 'table-wrap'});
  clear(container).append(h('div', {class: 'tables reports'},
    h('h1', {class: 'sr-only'}, 'Reportes'), tabs, form, summary, chart, grid));

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });

  function query() {
    filters.desde = desde.value.trim();
    filters.hasta = hasta.value.trim();
    filters.canal = canal.value;
    const q = {desde: isoDay(filters.desde), hasta: isoDay(filters.hasta), canal: filters.canal};
    for (const [value, input, label] of [[q.desde, desde, 'DESDE'], [q.hasta, hasta, 'HASTA']]) {
      if (value === null) {
        alertError(`${label}: escribí la fecha como dd/mm/aaaa (por ejemplo 31/12/2024).`);
        input.focus();
        return null;
      }
    }
    return q;
  }

  async function load() {
    const q = query();
    if (!q) return;
    summary.textContent = 'Cargando…';
    try {
      const found = await getJSON(`/api/reports/${report}`, q);
      summary.textContent = summaryOf(found);
      clear(chart).append(chartOf(found));
      clear(grid).append(tableOf(found));
    } catch (error) {
      summary.textContent = '';
      alertError(error.message, error instanceof OfflineError ? load : null);
    }
  }

  async function copy() {
    const q = query();
    if (!q) return;
    let text;
    try {
      text = await getText(`/api/reports/${report}/copy`, q);
    } catch (error) {
      return alertError(error.message, error instanceof OfflineError ? copy : null);
    }
    const rows = Math.max(0, text.split('\r\n').filter(Boolean).length - 1);
    try {
      await navigator.clipboard.writeText(text);
      toast(`Copiadas ${rows} filas: pegalas en la planilla.`);
    } catch {
      const area = h('textarea', {rows: 8, 'aria-label': 'Texto para copiar', readonly: true}, text);
      clear(grid).append(h('p', {}, 'El navegador no permitió copiar: seleccioná el texto y usá Ctrl+C.'), area);
      area.select();
    }
  }

  async function print() {
    const q = query();
    if (!q) return;
    const tab = window.open('', '_blank');
    try {
      const blob = await getBlob(`/api/reports/${report}/print`, q);
      const url = URL.createObjectURL(new Blob([blob], {type: 'application/pdf'}));
      if (tab) tab.location.href = url;
      else clear(summary).append(h('a', {href: url, target: '_blank', rel: 'noopener'}, 'Abrir el PDF'));
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (error) {
      tab?.close();
      alertError(error.message, error instanceof OfflineError ? print : null);
    }
  }

  load();
}
