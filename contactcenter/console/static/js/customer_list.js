// The Clientes screen: search customers by name, document, phone or email and group them by
// tag (seed 000: "las etiquetas nos permiten agrupar a nuestros usuarios"); the customer
// chosen opens in the same panel as beside a conversation.

import {getJSON} from './api.js';
import {CHANNELS, alertError, clear, h} from './ui.js';
import {createCustomerPanel} from './customer.js';

const PAGE_SIZE = 50;

export function renderCustomers(container, {tag: initialTag = '', onOpenConversation}) {
  const q = h('input', {id: 'clientes-q', type: 'search', autocomplete: 'off', maxlength: 200});
  const tag = h('select', {id: 'clientes-tag', name: 'tag'}, h('option', {value: ''}, 'Todas'));
  const form = h('form', {class: 'table-filters', role: 'search', novalidate: true},
    h('div', {class: 'field'}, h('label', {for: 'clientes-q'}, 'BUSCAR'), q),
    h('div', {class: 'field'}, h('label', {for: 'clientes-tag'}, 'ETIQUETA'), tag),
    h('div', {class: 'filter-buttons'}, h('button', {type: 'submit'}, 'Buscar')));
  const summary = h('p', {class: 'table-summary', role: 'status'});
  const rows = h('tbody');
  const side = h('aside', {class: 'customer-pane', 'aria-label': 'Cliente'});
  clear(container).append(h('div', {class: 'customers-screen'},
    h('section', {class: 'tables', 'aria-labelledby': 'clientes-title'},
      h('h1', {id: 'clientes-title'}, 'Clientes'),
      form, summary,
      h('div', {class: 'table-wrap'}, h('table', {},
        h('thead', {}, h('tr', {},
          h('th', {}, 'Nombre'), h('th', {}, 'Documento'), h('th', {}, 'Canales'), h('th', {}, 'Etiquetas'))),
        rows))),
    side));
  const panel = createCustomerPanel(side, {onOpenConversation});
  let labels = {};
  let latest = 0; // searches overlap (the first load, a change of tag): the newest one wins

  async function search() {
    const mine = ++latest;
    try {
      const page = await getJSON('/api/customers', {q: q.value.trim(), tag: tag.value, limit: PAGE_SIZE});
      if (mine !== latest) return;
      summary.textContent = page.total === 1 ? '1 cliente' : `${page.total} clientes`
        + (page.total > page.items.length ? ` (se muestran ${page.items.length})` : '');
      clear(rows).append(...(page.items.length ? page.items.map((c) => h('tr', {dataset: {customerId: c.id}},
        h('td', {}, h('a', {href: '#/clientes', onclick: (event) => { event.preventDefault(); panel.show(c.id, false); }},
          c.full_name || c.display_name || 'Cliente sin nombre')),
        h('td', {}, c.document_number || ''),
        h('td', {}, c.identities.map((i) => CHANNELS[i.channel] || 'Otro').join(', ')),
        h('td', {}, c.tags.map((t) => h('span', {class: `tag tag-${t}`}, labels[t] || t.replace(/_/g, ' ')))),
      )) : [h('tr', {}, h('td', {colspan: 4, class: 'hint'}, 'Ningún cliente coincide con los filtros.'))]));
    } catch (error) {
      alertError(`No se pudo buscar. ${error.message}`);
    }
  }

  form.addEventListener('submit', (event) => { event.preventDefault(); search(); });
  tag.addEventListener('change', search);
  getJSON('/api/tags').then((catalogue) => {
    labels = Object.fromEntries(catalogue.map((t) => [t.tag, t.label]));
    tag.append(...catalogue.map((t) => h('option', {value: t.tag, selected: t.tag === initialTag}, t.label)));
    search();
  }, (error) => alertError(`No se pudo cargar el catálogo de etiquetas. ${error.message}`));
}
