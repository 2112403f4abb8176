// Charts drawn as inline SVG, offline (no library, no CDN): grouped bars, lines, and a
// weekday × hour heat map. Each returns an <svg> with a <title> and a legend, sized by its
// viewBox so it scales with the screen and prints as drawn.

const NS = 'http://www.w3.org/2000/svg';
export const PALETTE = ['#2563eb', '#16a34a', '#f59e0b', '#dc2626', '#7c3aed', '#0891b2'];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function frame(title, width, height, ...children) {
  return s('svg', {viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'chart',
    'aria-label': title, preserveAspectRatio: 'xMidYMid meet'}, s('title', {}, title), ...children);
}

/** The axis top: four equal whole steps of 1, 2 or 5 × 10^n covering `value`. */
function niceMax(value) {
  const quarter = Math.max(1, value / 4);
  const power = 10 ** Math.floor(Math.log10(quarter));
  return 4 * [1, 2, 5, 10].map((m) => m * power).find((m) => m >= quarter);
}

function legend(series, x, y) {
  return series.map((name, i) => s('g', {transform: `translate(${x + i * 150},${y})`},
    s('rect', {width: 12, height: 12, fill: PALETTE[i % PALETTE.length], rx: 2}),
    s('text', {x: 18, y: 11, class: 'chart-legend'}, name)));
}

function axis(top, bottom, left, right, max) {
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return ticks.map((t) => {
    const y = bottom - (bottom - top) * t;
    return s('g', {},
      s('line', {x1: left, x2: right, y1: y, y2: y, class: 'chart-grid'}),
      s('text', {x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'chart-tick'},
        (max * t).toLocaleString('es-AR')));
  });
}

const short = (text, n = 16) => (String(text).length > n ? `${String(text).slice(0, n - 1)}…` : String(text));

/** Grouped bars: `groups` [{label, values: [n per series]}], `series` [names]. */
export function barChart(title, groups, series) {
  const width = 960;
  const height = 320;
  const [top, bottom, left, right] = [36, height - 56, 48, width - 16];
  const max = niceMax(Math.max(0, ...groups.flatMap((g) => g.values)));
  const slot = (right - left) / Math.max(1, groups.length);
  const bar = Math.max(2, Math.min(28, (slot * 0.8) / series.length));
  const bars = groups.map((g, gi) => s('g', {},
    g.values.map((value, si) => {
      const h = ((bottom - top) * value) / max;
      const x = left + gi * slot + (slot - bar * series.length) / 2 + si * bar;
      return s('rect', {x, y: bottom - h, width: bar - 1, height: h, fill: PALETTE[si % PALETTE.length]},
        s('title', {}, `${g.label} · ${series[si]}: ${value}`));
    }),
    s('text', {x: left + gi * slot + slot / 2, y: bottom + 16, 'text-anchor': 'middle', class: 'chart-tick'},
      short(g.label, Math.max(4, Math.floor(slot / 7))))));
  return frame(title, width, height, axis(top, bottom, left, right, max), bars,
    legend(series, left, height - 22));
}

/** Lines over `labels` (x), one per series: [{name, values}]. */
export function lineChart(title, labels, series) {
  const width = 960;
  const height = 320;
  const [top, bottom, left, right] = [36, height - 56, 48, width - 16];
  const max = niceMax(Math.max(0, ...series.flatMap((line) => line.values)));
  const step = labels.length > 1 ? (right - left) / (labels.length - 1) : 0;
  const x = (i) => (labels.length > 1 ? left + i * step : (left + right) / 2);
  const y = (v) => bottom - ((bottom - top) * v) / max;
  const every = Math.max(1, Math.ceil(labels.length / 12));
  const lines = series.map((line, si) => s('g', {},
    s('polyline', {fill: 'none', stroke: PALETTE[si % PALETTE.length], 'stroke-width': 2.5,
      points: line.values.map((v, i) => `${x(i)},${y(v)}`).join(' ')}),
    line.values.map((v, i) => s('circle', {cx: x(i), cy: y(v), r: 3.5, fill: PALETTE[si % PALETTE.length]},
      s('title', {}, `${labels[i]} · ${line.name}: ${v}`)))));
  const ticks = labels.map((label, i) => (i % every === 0
    ? s('text', {x: x(i), y: bottom + 16, 'text-anchor': 'middle', class: 'chart-tick'}, label) : null));
  return frame(title, width, height, axis(top, bottom, left, right, max), lines, ticks,
    legend(series.map((line) => line.name), left, height - 22));
}

/** Weekday × hour: `rows` 7 × 24 counts, `days` their names. Darker: more. */
export function heatMap(title, rows, days) {
  const width = 960;
  const [left, top, cell, gap] = [92, 28, 35, 2];
  const height = top + rows.length * (cell + gap) + 40;
  const max = Math.max(1, ...rows.flat());
  const cells = rows.map((row, d) => row.map((n, hour) => {
    const strength = n / max;
    return s('rect', {x: left + hour * (cell + gap), y: top + d * (cell + gap), width: cell, height: cell, rx: 3,
      fill: n ? `rgba(37, 99, 235, ${(0.12 + 0.88 * strength).toFixed(3)})` : '#f1f5f9'},
    s('title', {}, `${days[d]} ${String(hour).padStart(2, '0')}:00 · ${n}`));
  }));
  const hours = Array.from({length: 24}, (_, hour) => s('text', {x: left + hour * (cell + gap) + cell / 2,
    y: top - 8, 'text-anchor': 'middle', class: 'chart-tick'}, String(hour).padStart(2, '0')));
  const names = days.map((name, d) => s('text', {x: left - 8, y: top + d * (cell + gap) + cell / 2 + 4,
    'text-anchor': 'end', class: 'chart-tick'}, name));
  const scale = s('text', {x: left, y: height - 12, class: 'chart-legend'},
    `Más oscuro: más conversaciones (máximo ${max} en una hora)`);
  return frame(title, width, height, hours, names, cells, scale);
}
