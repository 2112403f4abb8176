// The quality review of a chat (GET /api/conversations/{id}/quality), as a scorecard: each
// criterion of the contact structure (seed 001) with cumplido / no cumplido / pendiente /
// no aplica. A live chat is judged by what was done: what has not happened yet is pendiente.

import {getJSON} from './api.js';
import {clear, h} from './ui.js';

export function createScorecard() {
  const score = h('p', {class: 'quality-score'});
  const rows = h('tbody', {});
  const element = h('details', {class: 'quality-box', open: true},
    h('summary', {}, 'Revisión de calidad'),
    score,
    h('table', {class: 'scorecard'},
      h('thead', {}, h('tr', {},
        h('th', {scope: 'col'}, 'Criterio'), h('th', {scope: 'col'}, 'Estado'),
        h('th', {scope: 'col'}, 'Detalle'))),
      rows),
    h('p', {class: 'hint'}, 'Pendiente: todavía no ocurrió en un chat en curso; no resta puntos.'));
  let seq = 0;

  return {
    element,
    async show(conversationId) {
      const mine = ++seq;
      try {
        const review = await getJSON(`/api/conversations/${encodeURIComponent(conversationId)}/quality`);
        if (mine !== seq) return;
        score.textContent = `Puntaje: ${Math.round(review.score * 100)} % de lo que ya corresponde evaluar`;
        clear(rows).append(...review.criteria.map((c) => h('tr', {class: `q-${c.verdict}`, dataset: {criterion: c.name}},
          h('th', {scope: 'row'}, c.title),
          h('td', {}, h('span', {class: `verdict v-${c.verdict}`}, c.verdict_label)),
          h('td', {class: 'hint'}, c.detail || ''))));
      } catch (error) {
        if (mine === seq) score.textContent = `No se pudo cargar la revisión de calidad. ${error.message}`;
      }
    },
  };
}
