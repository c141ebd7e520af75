// Choosing rows of a lookup item: by typing (typeahead: the lookup item opened with a `contains`
// filter on its text field, 10 rows), or in a selection dialog showing the lookup item's grid
// (search, filters, sorting, paging; Enter or double-click picks). `LookupInput` holds one key
// (lookup fields, filters on them); `MultiLookup` holds a list of keys (keys fields, IN filters).

import { h, clear, uid, debounce } from './dom.js';
import { icon } from './icons.js';
import { Modal, showError } from './dialog.js';
import { displayText } from './format.js';
import { textKeyIn } from './meta.js';
import * as api from './api.js';
import { ViewForm } from './view.js';

const TYPEAHEAD_ROWS = 10;

/** The text `lookupItem` shows for a lookup with `path`, read from one of its expanded rows. */
export function lookupText(lookupItem, path, row) {
  const key = textKeyIn(lookupItem, path);
  if (!key || !row) return '';
  const f = lookupItem.fields.find((g) => g.displayKey() === key);
  return f ? displayText(f, row) : String(row[key] ?? '');
}

/** Rows of `lookupItem` whose text (the lookup's first step, `path[0]`) contains `text`. */
export function searchLookup(lookupItem, path, text, limit = TYPEAHEAD_ROWS) {
  const filters = text ? [[path[0], 'contains', text]] : [];
  return api.open(lookupItem.name, { expanded: true, filters, order: [path[0]], limit });
}

/** Texts of the rows with keys `ids` (for showing a keys list). Resolves to Map<id, text>. */
export async function textsOf(lookupItem, path, ids) {
  const out = new Map();
  if (!lookupItem || !ids.length) return out;
  const rows = await api.open(lookupItem.name, {
    expanded: true, filters: [[lookupItem.pk, 'in', ids]], limit: ids.length,
  });
  for (const r of rows) out.set(r[lookupItem.pk], lookupText(lookupItem, path, r));
  return out;
}

/**
 * The selection dialog: the lookup item's grid. Resolves to the chosen rows (one unless
 * `multi`), or null when cancelled.
 */
export function chooseRows(app, lookupItem, { title, multi = false, selectAll = false, selected = [] } = {}) {
  return new Promise((resolve) => {
    let result = null;
    const width = lookupItem.view && lookupItem.view.width;
    const modal = new Modal({
      title: title || `Select ${lookupItem.caption}`,
      className: `${width ? 'modal-sized' : 'modal-wide'} modal-lookup`,
      onClosed: () => {
        view.dispose();
        resolve(result);
      },
    });
    if (width) modal.el.style.setProperty('--form-width', `${width}px`);
    const pick = (rows) => {
      if (!rows.length) return;
      result = rows;
      modal.close();
    };
    const view = new ViewForm(app, lookupItem, {
      mode: 'select',
      multi,
      selectAll,
      selected,
      onPick: (row) => pick(multi ? view.pickedRows() : [row]),
    });
    const choose = h('button', {
      type: 'button', class: 'btn btn-primary',
      onclick: () => pick(multi ? view.pickedRows() : [view.grid.current()].filter(Boolean)),
    }, 'Select');
    const cancel = h('button', { type: 'button', class: 'btn', onclick: () => modal.close() }, 'Cancel');
    modal.body.append(view.el);
    modal.footer.append(h('span', { class: 'modal-hint' }, multi ? 'Space or the checkboxes mark rows' : 'Enter or double-click selects'), choose, cancel);
    modal.onKey = (e) => view.onKey(e, { inDialog: true });
    modal.open();
    view.load().then(() => view.grid.focus());
  });
}

/**
 * One key of a lookup item. The input shows the text; with typeahead (the field's `typeahead`)
 * typing lists matches. The "…" button opens the selection dialog and × clears. `onChange(value,
 * row)` gets the key and the chosen row (null when cleared).
 */
export class LookupInput {
  constructor(app, field, { id, value = null, text = '', disabled = false, typeahead = null, onChange = null, describedBy = null }) {
    this.app = app;
    this.field = field;
    this.lookupItem = field.lookupItem();
    this.path = field.lookup.path;
    this.value = value;
    this.text = text || '';
    this.onChange = onChange;
    this.typeahead = (typeahead === null ? field.typeahead : typeahead) && Boolean(this.lookupItem);
    this.listId = uid('lookup-list');
    this.options = [];
    this.active = -1;
    this.seq = 0;

    this.input = h('input', {
      id, type: 'text', class: 'lookup-text', autocomplete: 'off', spellcheck: 'false',
      role: 'combobox', 'aria-autocomplete': this.typeahead ? 'list' : 'none', 'aria-expanded': 'false',
      'aria-controls': this.listId, 'aria-describedby': describedBy,
      placeholder: field.placeholder || (this.typeahead ? 'Type to search…' : 'Press Enter to choose…'),
      readonly: !this.typeahead,
      value: this.text,
    });
    this.list = h('ul', { id: this.listId, role: 'listbox', class: 'lookup-list', hidden: true, 'aria-label': `${field.caption} matches` });
    this.clearButton = h('button', {
      type: 'button', class: 'btn btn-icon btn-ghost lookup-clear', 'aria-label': `Clear ${field.caption}`,
      title: 'Clear', onclick: () => this.pick(null),
    }, icon('close', 16));
    this.chooseButton = h('button', {
      type: 'button', class: 'btn btn-icon lookup-choose', 'aria-label': `Choose ${field.caption}`,
      title: `Choose from ${this.lookupItem ? this.lookupItem.caption : ''}`, onclick: () => this.openDialog(),
    }, icon('more'));
    this.el = h('div', { class: 'lookup' }, h('div', { class: 'lookup-box' }, this.input, this.clearButton, this.chooseButton), this.list);

    const search = debounce(() => this.search(), 250);
    this.input.addEventListener('input', () => {
      if (!this.typeahead) return;
      search();
    });
    this.input.addEventListener('keydown', (e) => this.keydown(e));
    this.input.addEventListener('click', () => {
      if (!this.typeahead && !this.input.disabled) this.openDialog();
    });
    this.input.addEventListener('blur', () => setTimeout(() => this.blurred(), 150));
    this.setDisabled(disabled || !this.lookupItem);
    this.set(this.value, this.text);
    if (!this.lookupItem) this.input.title = 'Your role may not view the items this field chooses from';
  }

  setDisabled(disabled) {
    this.disabled = disabled;
    this.input.disabled = disabled;
    this.clearButton.hidden = disabled || this.value === null;
    this.chooseButton.hidden = disabled;
    this.el.classList.toggle('is-disabled', disabled);
  }

  focus() {
    this.input.focus();
  }

  get() {
    return this.value;
  }

  set(value, text) {
    this.value = value;
    this.text = text || '';
    this.input.value = this.text;
    this.clearButton.hidden = this.disabled || value === null;
  }

  pick(row) {
    this.closeList();
    const value = row ? row[this.lookupItem.pk] : null;
    this.set(value, row ? lookupText(this.lookupItem, this.path, row) : '');
    if (this.onChange) this.onChange(value, row);
  }

  async search() {
    const text = this.input.value.trim();
    const seq = ++this.seq;
    if (!text) {
      this.closeList();
      return;
    }
    let rows;
    try {
      rows = await searchLookup(this.lookupItem, this.path, text);
    } catch (err) {
      showError(err);
      return;
    }
    if (seq !== this.seq || document.activeElement !== this.input) return;
    this.showOptions(rows);
  }

  showOptions(rows) {
    this.options = rows;
    this.active = rows.length ? 0 : -1;
    clear(this.list);
    if (!rows.length) {
      this.list.append(h('li', { class: 'lookup-none', role: 'option', 'aria-disabled': 'true' }, 'No matches'));
    }
    rows.forEach((row, i) => {
      this.list.append(h('li', {
        id: `${this.listId}-${i}`, role: 'option', class: 'lookup-option',
        onmousedown: (e) => {
          e.preventDefault();
          this.pick(row);
        },
      }, lookupText(this.lookupItem, this.path, row)));
    });
    this.list.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
    this.highlight();
  }

  highlight() {
    [...this.list.querySelectorAll('.lookup-option')].forEach((li, i) => {
      li.setAttribute('aria-selected', i === this.active ? 'true' : 'false');
      li.classList.toggle('active', i === this.active);
      if (i === this.active) li.scrollIntoView({ block: 'nearest' });
    });
    if (this.active >= 0) this.input.setAttribute('aria-activedescendant', `${this.listId}-${this.active}`);
    else this.input.removeAttribute('aria-activedescendant');
  }

  closeList() {
    this.seq += 1;
    this.list.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
    this.options = [];
  }

  keydown(e) {
    const open = !this.list.hidden;
    if (e.key === 'ArrowDown' && open) {
      e.preventDefault();
      this.active = Math.min(this.options.length - 1, this.active + 1);
      this.highlight();
    } else if (e.key === 'ArrowUp' && open) {
      e.preventDefault();
      this.active = Math.max(0, this.active - 1);
      this.highlight();
    } else if (e.key === 'Enter' && !e.ctrlKey && !e.metaKey) {
      if (open && this.active >= 0) {
        e.preventDefault();
        e.stopPropagation();
        this.pick(this.options[this.active]);
      } else if (!this.typeahead || (e.altKey)) {
        e.preventDefault();
        e.stopPropagation();
        this.openDialog();
      }
    } else if (e.key === 'ArrowDown' && e.altKey) {
      e.preventDefault();
      this.openDialog();
    } else if (e.key === 'Escape') {
      if (open) {
        e.preventDefault();
        e.stopPropagation();
        this.closeList();
      } else if (this.input.value !== this.text) {
        e.preventDefault();
        e.stopPropagation();
        this.input.value = this.text;
      }
    } else if ((e.key === 'Delete' || e.key === 'Backspace') && !this.typeahead && this.value !== null) {
      e.preventDefault();
      this.pick(null);
    }
  }

  blurred() {
    if (document.activeElement === this.input) return;
    this.closeList();
    if (this.input.value.trim() === '' && this.value !== null) this.pick(null);
    else this.input.value = this.text;
  }

  async openDialog() {
    if (this.disabled || !this.lookupItem) return;
    this.closeList();
    const rows = await chooseRows(this.app, this.lookupItem, { title: `Select ${this.field.caption}` });
    if (rows && rows.length) this.pick(rows[0]);
    this.input.focus();
  }
}

/**
 * A list of keys of a lookup item, shown as removable chips, with a typeahead to add one and a
 * dialog to mark several. `get()` is an array of keys.
 */
export class MultiLookup {
  constructor(app, field, { id, values = [], texts = new Map(), disabled = false, onChange = null, describedBy = null, selectAll = false }) {
    this.app = app;
    this.field = field;
    this.selectAll = selectAll;
    this.lookupItem = field.lookupItem();
    this.onChange = onChange;
    this.items = values.map((v) => ({ id: v, text: texts.get(v) || `#${v}` }));
    this.chips = h('ul', { class: 'chips', 'aria-label': `${field.caption}: chosen` });
    this.adder = new LookupInput(app, field, {
      id, typeahead: true, describedBy,
      onChange: (value, row) => {
        if (value !== null && !this.items.some((i) => i.id === value)) {
          this.items.push({ id: value, text: lookupText(this.lookupItem, field.lookup.path, row) });
          this.changed();
        }
        this.adder.set(null, '');
      },
    });
    this.adder.input.placeholder = 'Type to add…';
    this.adder.openDialog = () => this.openDialog();
    this.el = h('div', { class: 'multi-lookup', role: 'group', 'aria-label': field.caption }, this.chips, this.adder.el);
    this.setDisabled(disabled || !this.lookupItem);
    this.render();
  }

  setDisabled(disabled) {
    this.disabled = disabled;
    this.adder.setDisabled(disabled);
    this.adder.el.hidden = disabled;
    this.render();
  }

  get() {
    return this.items.map((i) => i.id);
  }

  texts() {
    return this.items.map((i) => i.text);
  }

  focus() {
    this.adder.focus();
  }

  set(values, texts) {
    this.items = values.map((v) => ({ id: v, text: texts.get(v) || `#${v}` }));
    this.render();
  }

  changed() {
    this.render();
    if (this.onChange) this.onChange(this.get());
  }

  render() {
    clear(this.chips);
    if (!this.items.length && this.disabled) this.chips.append(h('li', { class: 'chips-empty' }, '—'));
    for (const item of this.items) {
      this.chips.append(h('li', { class: 'chip' }, h('span', null, item.text), this.disabled ? null : h('button', {
        type: 'button', class: 'chip-remove', 'aria-label': `Remove ${item.text}`,
        onclick: () => {
          this.items = this.items.filter((i) => i !== item);
          this.changed();
          this.adder.focus();
        },
      }, icon('close', 14))));
    }
  }

  async openDialog() {
    if (this.disabled) return;
    const rows = await chooseRows(this.app, this.lookupItem, {
      title: `Select ${this.field.caption}`, multi: true, selectAll: this.selectAll, selected: this.items.map((i) => i.id),
    });
    if (rows) {
      // Rows marked before the dialog and not seen on its pages come back as keys alone.
      const known = new Map(this.items.map((i) => [i.id, i.text]));
      this.items = rows.map((r) => {
        const id = r[this.lookupItem.pk];
        return { id, text: lookupText(this.lookupItem, this.field.lookup.path, r) || known.get(id) || `#${id}` };
      });
      this.changed();
    }
    this.adder.focus();
  }
}
