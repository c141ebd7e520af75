// The data grid of view forms, lookup dialogs and detail lists: a table with a current row
// (arrows move it), multi-select by checkboxes (Space, Shift+click), sorting by header (Ctrl+click
// adds a column), resizable columns (drag or arrow keys on the header's edge; widths are kept per
// item in localStorage) and a totals row. Below 700 px wide the CSS shows each row as a card.

import { h, clear, uid, ctrl, storageGet, storageSet } from './dom.js';
import { icon } from './icons.js';
import { displayText, formatNumber } from './format.js';
import { isFileField, fileCell } from './files.js';

const MIN_WIDTH = 48;

function defaultWidth(field) {
  if (field.type === 'boolean') return 90;
  if (field.type === 'date') return 130;
  if (field.type === 'datetime') return 180;
  if (field.isLookup() || field.lookupValues || field.isKeys()) return 190;
  if (field.isNumeric()) return 120;
  if (field.type === 'longtext') return 260;
  if (field.size) return Math.max(110, Math.min(280, field.size * 6));
  return 160;
}

export class Grid {
  /**
   * columns: FieldMeta[]; keyOf(row) → the row's key; order: [[name, desc], …];
   * widthOf(field) → the layout's width in pixels, or null; sortable: false, or (field) → bool;
   * cellText(field, row) → a cell's text, or null for the type's own.
   * Callbacks: onActivate(row) (Enter, double-click), onSort(order), onCurrent(row),
   * onSelection(keys), onPage(delta) (PgUp/PgDn).
   */
  constructor(opts) {
    this.opts = opts;
    this.columns = opts.columns;
    this.keyOf = opts.keyOf;
    this.rows = [];
    this.keysText = new Map();
    this.currentIndex = -1;
    this.selection = new Set();
    this.order = opts.order || [];
    this.anchor = null;
    this.id = uid('grid');
    this.widthKey = opts.widthKey ? `jamrs.widths.${opts.widthKey}` : null;
    this.widths = this.widthKey ? storageGet(this.widthKey, {}) : {};
    this.build();
  }

  build() {
    const o = this.opts;
    this.cols = this.columns.map((f) => h('col', { dataset: { field: f.name } }));
    this.selectAll = o.multiselect ? h('input', {
      type: 'checkbox', 'aria-label': 'Select all rows on this page',
      onchange: () => this.selectPage(this.selectAll.checked),
    }) : null;
    this.headCells = this.columns.map((f) => this.headerCell(f));
    this.tbody = h('tbody');
    this.tfoot = h('tfoot', { hidden: true });
    this.table = h('table', {
      class: 'grid-table',
      role: 'grid',
      tabindex: '0',
      'aria-label': o.label,
      'aria-multiselectable': o.multiselect ? 'true' : null,
      'aria-readonly': 'true',
      onkeydown: (e) => this.keydown(e),
    },
    h('colgroup', null, o.multiselect ? h('col', { class: 'col-select' }) : null, this.cols),
    h('thead', null, h('tr', null,
      o.multiselect ? h('th', { class: 'cell-select', scope: 'col' }, this.selectAll) : null,
      this.headCells)),
    this.tbody,
    this.tfoot);
    this.empty = h('p', { class: 'grid-empty', hidden: true }, o.emptyText || 'No records');
    this.el = h('div', { class: 'grid' }, h('div', { class: 'grid-scroll' }, this.table), this.empty);
    this.applyWidths();
    this.renderOrder();
  }

  headerCell(field) {
    // `sortable`: false for none, or a function that says it per column (the layout's sort_fields).
    const o = this.opts.sortable;
    const sortable = typeof o === 'function' ? o(field) : o !== false;
    const label = h('span', { class: 'th-label' }, field.caption);
    const mark = h('span', { class: 'sort-mark', 'aria-hidden': 'true' });
    const content = sortable
      ? h('button', {
        type: 'button', class: 'th-sort',
        title: 'Sort (Ctrl+click adds to the sort)',
        onclick: (e) => this.sortBy(field.name, ctrl(e) || e.shiftKey),
      }, label, mark)
      : h('span', { class: 'th-sort' }, label);
    const handle = h('span', {
      class: 'col-resize', role: 'separator', tabindex: '0', 'aria-orientation': 'vertical',
      'aria-label': `Resize column ${field.caption}`, title: 'Drag to resize',
    });
    this.resizable(handle, field);
    const th = h('th', { scope: 'col', class: `align-${field.align()}`, 'aria-sort': 'none', dataset: { field: field.name } },
      h('div', { class: 'th-inner' }, content, handle));
    th.mark = mark;
    return th;
  }

  resizable(handle, field) {
    const set = (w) => {
      this.widths[field.name] = Math.max(MIN_WIDTH, Math.round(w));
      this.applyWidths();
    };
    handle.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      e.stopPropagation();
      const startX = e.clientX;
      const start = this.width(field);
      handle.setPointerCapture(e.pointerId);
      handle.classList.add('dragging');
      const move = (ev) => set(start + ev.clientX - startX);
      const up = () => {
        handle.removeEventListener('pointermove', move);
        handle.removeEventListener('pointerup', up);
        handle.removeEventListener('pointercancel', up);
        handle.classList.remove('dragging');
        this.saveWidths();
      };
      handle.addEventListener('pointermove', move);
      handle.addEventListener('pointerup', up);
      handle.addEventListener('pointercancel', up);
    });
    handle.addEventListener('click', (e) => e.stopPropagation());
    handle.addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
      e.preventDefault();
      e.stopPropagation();
      set(this.width(field) + (e.key === 'ArrowLeft' ? -16 : 16));
      this.saveWidths();
    });
  }

  width(field) {
    return this.widths[field.name] || (this.opts.widthOf && this.opts.widthOf(field)) || defaultWidth(field);
  }

  applyWidths() {
    let total = this.opts.multiselect ? 44 : 0;
    this.columns.forEach((f, i) => {
      const w = this.width(f);
      total += w;
      this.cols[i].style.width = `${w}px`;
    });
    this.table.style.width = `${total}px`;
  }

  saveWidths() {
    if (this.widthKey) storageSet(this.widthKey, this.widths);
  }

  sortBy(name, add) {
    const at = this.order.findIndex(([n]) => n === name);
    let order;
    if (add) {
      order = this.order.slice();
      if (at >= 0) order[at] = [name, !order[at][1]];
      else order.push([name, false]);
    } else {
      order = [[name, at >= 0 && this.order.length === 1 ? !this.order[at][1] : false]];
    }
    this.setOrder(order);
    if (this.opts.onSort) this.opts.onSort(order);
  }

  setOrder(order) {
    this.order = order;
    this.renderOrder();
  }

  renderOrder() {
    // Numbers only when more than one shown column sorts (a hidden tie-breaker is not counted).
    const shown = this.order.filter(([n]) => this.columns.some((f) => f.name === n));
    this.headCells.forEach((th) => {
      const at = this.order.findIndex(([n]) => n === th.dataset.field);
      th.setAttribute('aria-sort', at < 0 ? 'none' : (this.order[at][1] ? 'descending' : 'ascending'));
      clear(th.mark);
      if (at >= 0) {
        th.mark.append(icon(this.order[at][1] ? 'down' : 'up', 14));
        if (shown.length > 1) th.mark.append(h('small', null, String(shown.findIndex(([n]) => n === th.dataset.field) + 1)));
      }
    });
  }

  /** Shows `rows`; keeps the current row on `currentKey` when given (else the same key). */
  setRows(rows, { currentKey, keysText } = {}) {
    const keep = currentKey !== undefined ? currentKey : this.currentKey();
    this.rows = rows;
    if (keysText) this.keysText = keysText;
    clear(this.tbody);
    rows.forEach((row, i) => this.tbody.append(this.renderRow(row, i)));
    this.empty.hidden = rows.length > 0;
    this.el.classList.toggle('is-empty', rows.length === 0);
    let index = rows.findIndex((r) => this.keyOf(r) === keep);
    if (index < 0 && rows.length) index = 0;
    this.currentIndex = -1;
    this.setCurrent(index, { scroll: false, notify: true });
    this.syncSelectAll();
  }

  renderRow(row, i) {
    const key = this.keyOf(row);
    const selected = this.selection.has(key);
    const tr = h('tr', {
      id: `${this.id}-r${i}`,
      class: selected ? 'selected' : '',
      'aria-selected': selected ? 'true' : 'false',
      onclick: (e) => this.rowClick(e, i),
      ondblclick: () => this.activate(),
    });
    if (row._invalid) tr.classList.add('invalid');
    if (this.opts.multiselect) {
      tr.append(h('td', { class: 'cell-select' }, h('input', {
        type: 'checkbox', checked: selected, tabindex: '-1', 'aria-label': `Select row ${i + 1}`,
        onclick: (e) => {
          e.stopPropagation();
          this.toggleRange(i, e.shiftKey, e.currentTarget.checked);
        },
      })));
    }
    for (const f of this.columns) {
      tr.append(this.cell(f, row));
    }
    return tr;
  }

  cell(field, row) {
    const td = h('td', { class: `align-${field.align()} type-${field.type}`, dataset: { label: field.caption } });
    if (isFileField(field)) return fileCell(field, row, td);
    if (field.type === 'boolean' && !field.lookupValues) {
      const v = row[field.name];
      if (v) td.append(icon('check', 16));
      td.append(h('span', { class: 'sr-only' }, v ? 'Yes' : 'No'));
      if (v) td.classList.add('is-true');
      return td;
    }
    // A client module's on_field_get_text has the first word (`cellText`), then the type's text.
    const custom = this.opts.cellText ? this.opts.cellText(field, row) : null;
    const text = custom ?? displayText(field, row, this.keysText);
    td.textContent = text;
    if (text.length > 24) td.title = text;
    return td;
  }

  rowClick(e, i) {
    if (this.opts.multiselect && (e.shiftKey || ctrl(e))) {
      this.toggleRange(i, e.shiftKey, e.shiftKey ? true : !this.selection.has(this.keyOf(this.rows[i])));
      window.getSelection()?.removeAllRanges();
    }
    this.setCurrent(i);
    if (document.activeElement !== this.table && !e.target.closest('input,button,a')) this.table.focus({ preventScroll: true });
  }

  toggleRange(i, range, on) {
    const from = range && this.anchor !== null ? Math.min(this.anchor, i) : i;
    const to = range && this.anchor !== null ? Math.max(this.anchor, i) : i;
    for (let j = from; j <= to; j += 1) this.mark(j, on);
    this.anchor = i;
    this.syncSelectAll();
    this.notifySelection();
  }

  mark(i, on) {
    const key = this.keyOf(this.rows[i]);
    if (on) this.selection.add(key);
    else this.selection.delete(key);
    const tr = this.tbody.children[i];
    if (!tr) return;
    tr.classList.toggle('selected', on);
    tr.setAttribute('aria-selected', on ? 'true' : 'false');
    const box = tr.querySelector('.cell-select input');
    if (box) box.checked = on;
  }

  selectPage(on) {
    this.rows.forEach((_, i) => this.mark(i, on));
    this.syncSelectAll();
    this.notifySelection();
  }

  clearSelection() {
    this.selection.clear();
    this.rows.forEach((_, i) => this.mark(i, false));
    this.syncSelectAll();
    this.notifySelection();
  }

  syncSelectAll() {
    if (!this.selectAll) return;
    const onPage = this.rows.filter((r) => this.selection.has(this.keyOf(r))).length;
    this.selectAll.checked = this.rows.length > 0 && onPage === this.rows.length;
    this.selectAll.indeterminate = onPage > 0 && onPage < this.rows.length;
  }

  notifySelection() {
    if (this.opts.onSelection) this.opts.onSelection(this.selection);
  }

  setCurrent(index, { scroll = true, notify = true } = {}) {
    if (index >= this.rows.length) index = this.rows.length - 1;
    const prev = this.tbody.children[this.currentIndex];
    if (prev) prev.classList.remove('current');
    this.currentIndex = index;
    const tr = this.tbody.children[index];
    if (tr) {
      tr.classList.add('current');
      this.table.setAttribute('aria-activedescendant', tr.id);
      if (scroll) tr.scrollIntoView({ block: 'nearest' });
    } else {
      this.table.removeAttribute('aria-activedescendant');
    }
    if (notify && this.opts.onCurrent) this.opts.onCurrent(this.current());
  }

  current() {
    return this.currentIndex >= 0 ? this.rows[this.currentIndex] || null : null;
  }

  currentKey() {
    const row = this.current();
    return row ? this.keyOf(row) : undefined;
  }

  /** The selected keys, or the current row's when nothing is selected. */
  targetKeys() {
    if (this.selection.size) return [...this.selection];
    const key = this.currentKey();
    return key === undefined ? [] : [key];
  }

  activate() {
    const row = this.current();
    if (row && this.opts.onActivate) this.opts.onActivate(row);
  }

  focus() {
    this.table.focus({ preventScroll: true });
  }

  /**
   * The totals row: `[{field, func: 'sum' | 'count', value}]` (null: none). A column without a
   * total stays empty; the first one says "Total" when it can.
   */
  setTotals(totals) {
    clear(this.tfoot);
    if (!totals) {
      this.tfoot.hidden = true;
      return;
    }
    this.tfoot.hidden = false;
    const byName = new Map(totals.map((t) => [t.field.name, t]));
    const tr = h('tr', { class: 'totals' });
    if (this.opts.multiselect) tr.append(h('td', { class: 'cell-select' }));
    this.columns.forEach((f, i) => {
      const t = byName.get(f.name);
      const label = i === 0 && !t ? 'Total' : '';
      const count = t && t.func === 'count';
      tr.append(h('td', {
        class: `align-${f.align()}${t ? ' has-total' : ''}${count ? ' is-count' : ''}`,
        title: count ? 'Number of records' : null,
        dataset: { label: t ? `${f.caption} (${count ? 'count' : 'total'})` : '' },
      }, t ? formatNumber(t.value ?? 0, count ? 'integer' : f.type) : label));
    });
    this.tfoot.append(tr);
  }

  keydown(e) {
    if (e.target !== this.table) return;
    const n = this.rows.length;
    const plain = !e.altKey && !ctrl(e);
    switch (plain && e.key) {
      case 'ArrowDown':
        e.preventDefault();
        if (n) this.setCurrent(Math.min(n - 1, this.currentIndex + 1));
        return;
      case 'ArrowUp':
        e.preventDefault();
        if (n) this.setCurrent(Math.max(0, this.currentIndex - 1));
        return;
      case 'Home':
        e.preventDefault();
        if (n) this.setCurrent(0);
        return;
      case 'End':
        e.preventDefault();
        if (n) this.setCurrent(n - 1);
        return;
      case 'PageDown':
      case 'PageUp':
        e.preventDefault();
        if (this.opts.onPage) this.opts.onPage(e.key === 'PageDown' ? 1 : -1);
        return;
      case 'Enter':
        e.preventDefault();
        this.activate();
        return;
      case ' ':
        if (this.opts.multiselect && this.currentIndex >= 0) {
          e.preventDefault();
          const key = this.keyOf(this.rows[this.currentIndex]);
          this.toggleRange(this.currentIndex, e.shiftKey, !this.selection.has(key));
        }
        return;
      default:
        // Other keys (Ctrl+Ins, Ctrl+Del, Esc, …) bubble to the form that holds the grid.
    }
  }
}
