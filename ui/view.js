// The view form of an item: its grid one page at a time, with the total count and the totals row
// (the item's summary: sums of amounts and of the fields its author marks) from one aggregate open
// (`funcs`), sorting, search, the filter form, multi-select, and the New / Edit / Delete commands
// its role allows. The same form, in "select" mode, is the lookup selection dialog.
//
// Keys: arrows move, PgUp/PgDn page, Enter edits, Ctrl+Ins new, Ctrl+Del deletes, Ctrl+F searches,
// Esc leaves the search box or closes the view.

import { h, clear, uid, debounce, ctrl, storageGet, storageSet, typingTarget } from './dom.js';
import { icon } from './icons.js';
import { Grid } from './grid.js';
import { FilterSet } from './filters.js';
import { confirm, showError, toast } from './dialog.js';
import { formatNumber } from './format.js';
import { textsOf } from './lookup.js';
import { editRecord } from './form.js';
import { historyButton } from './history.js';
import { viewTools } from './export.js';
import * as api from './api.js';

const PAGE_SIZES = [10, 25, 50, 100];

export class ViewForm {
  /**
   * mode: 'tab' (a menu item's view) or 'select' (a lookup dialog; `onPick(row)` on Enter).
   * multi: in select mode, rows are marked with checkboxes and `pickedRows()` returns them.
   * selectAll: with multi, a "Select all" button marks every row that matches the search and
   * filters, on every page (the filter's `multi_select_all`), as many as the server's max_limit.
   */
  constructor(app, item, { mode = 'tab', multi = false, selectAll = false, selected = [], onPick = null, onClose = null } = {}) {
    this.app = app;
    this.item = item;
    this.mode = mode;
    this.multi = multi;
    this.selectAllMatching = multi && selectAll;
    this.onPick = onPick;
    this.onClose = onClose;
    this.prefKey = `jamrs.view.${app.meta.task.name}.${item.name}`;
    const prefs = storageGet(this.prefKey, {});
    this.pageSize = PAGE_SIZES.includes(prefs.pageSize) ? prefs.pageSize : 25;
    this.order = item.defaultOrder.map(([n, d]) => [n, d]);
    this.page = 0;
    this.total = 0;
    this.seq = 0;
    this.columns = item.viewFields();
    this.searchFields = item.searchFields();
    this.searchField = this.searchFields.find((f) => f.name === prefs.searchField) || item.defaultSearchField();
    this.filters = new FilterSet(app, item);
    this.known = new Map();
    // The client API's item: in a tab, the task's own (`task.<item>`); in a lookup dialog, a copy.
    this.ci = mode === 'tab' ? app.runtime.task.item_by_name(item.name) : app.runtime.item(item);
    this.ci.binding = {
      buttons: (where) => (where === 'view' ? this.clientButtons : null),
      refresh: () => this.load(),
      closeView: () => this.onClose && this.onClose(),
    };
    this.build(selected);
    this.ci.view_form = this.el;
    this.ci.selections = [...this.grid.selection];
    // Jam.py's order: the task's on_view_form_created, then the item's; then shown.
    app.runtime.formEvent(this.ci, 'view_form_created');
    app.runtime.formEvent(this.ci, 'view_form_shown');
  }

  get editable() {
    return this.mode === 'tab';
  }

  build(selected) {
    const item = this.item;
    const tab = this.mode === 'tab';
    this.grid = new Grid({
      columns: this.columns,
      widthOf: (f) => item.columnWidth(f),
      sortable: (f) => item.sortable(f),
      keyOf: (row) => row[item.pk],
      cellText: (f, row) => this.ci._textAt(row, f.name),
      order: this.order,
      multiselect: tab || this.multi,
      label: tab ? item.caption : `${item.caption}: choose a row`,
      widthKey: `${this.app.meta.task.name}.${item.name}`,
      emptyText: 'No records',
      onActivate: (row) => (tab ? this.edit(row) : this.onPick && this.onPick(row)),
      onSort: (order) => {
        this.order = order;
        this.page = 0;
        this.load();
      },
      onSelection: () => {
        if (this.ci) this.ci.selections = [...this.grid.selection];
        this.renderSelection();
      },
      onCurrent: (row) => {
        if (this.ci && !this.ci.is_changing()) this.ci._recNo = row ? this.grid.rows.indexOf(row) : -1;
        this.renderButtons();
      },
      onPage: (d) => this.goto(this.page + d),
    });
    for (const key of selected) this.grid.selection.add(key);

    const button = (name, label, onclick, extra = {}) => h('button', {
      type: 'button', class: `btn ${extra.className || ''}`, title: extra.title || label, 'aria-label': extra.aria || label, onclick,
    }, icon(name), h('span', { class: 'btn-label' }, label));
    this.newButton = tab ? button('plus', 'New', () => this.create(), { className: 'btn-primary', title: 'New (Ctrl+Ins)' }) : null;
    this.editButton = tab ? button('edit', item.can('edit') ? 'Edit' : 'Open', () => this.edit(), { title: 'Edit (Enter)' }) : null;
    this.deleteButton = tab ? button('trash', 'Delete', () => this.remove(), { className: 'btn-danger-ghost', title: 'Delete (Ctrl+Del)' }) : null;
    this.refreshButton = button('refresh', 'Refresh', () => this.load(), { className: 'btn-ghost btn-icon-only' });
    // The current record's history, or the item's when no row is current (history.js).
    this.historyButton = tab ? historyButton(this.app, item, () => {
      const row = this.grid.current();
      return row ? row[item.pk] : null;
    }) : null;
    this.filterButton = this.filters.hasFilters()
      ? button('filter', 'Filters', () => this.editFilters(), { className: 'btn-ghost' })
      : null;
    this.filterCount = h('span', { class: 'badge', hidden: true });
    if (this.filterButton) this.filterButton.append(this.filterCount);

    this.searchInput = null;
    let search = null;
    if (this.searchField) {
      const id = uid('search');
      this.searchInput = h('input', {
        id, type: 'search', class: 'search-input', autocomplete: 'off',
        placeholder: this.searchPlaceholder(),
        'aria-label': `Search ${item.caption}`,
      });
      const run = debounce(() => {
        this.page = 0;
        this.load();
      }, 300);
      this.searchInput.addEventListener('input', run);
      this.searchInput.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          run.cancel();
          this.page = 0;
          this.load().then(() => this.grid.focus());
        } else if (e.key === 'ArrowDown') {
          e.preventDefault();
          this.grid.focus();
        }
      });
      let fieldSelect = null;
      if (this.searchFields.length > 1) {
        fieldSelect = h('select', {
          class: 'search-field', 'aria-label': 'Search in',
          onchange: () => {
            this.searchField = this.searchFields.find((f) => f.name === fieldSelect.value);
            this.searchInput.placeholder = this.searchPlaceholder();
            this.savePrefs();
            if (this.searchInput.value.trim()) {
              this.page = 0;
              this.load();
            }
          },
        }, this.searchFields.map((f) => h('option', { value: f.name, selected: f === this.searchField }, f.caption)));
      }
      search = h('div', { class: 'search', role: 'search' }, icon('search', 16), this.searchInput, fieldSelect);
    }

    this.sortSelect = h('select', {
      class: 'sort-select phone-only', 'aria-label': 'Sort by',
      onchange: () => {
        const [name, dir] = this.sortSelect.value.split(':');
        this.order = name ? [[name, dir === 'desc']] : item.defaultOrder.map(([n, d]) => [n, d]);
        this.grid.setOrder(this.order);
        this.page = 0;
        this.load();
      },
    }, h('option', { value: '' }, 'Default order'),
    this.columns.filter((f) => item.sortable(f)).flatMap((f) => [
      h('option', { value: `${f.name}:asc` }, `${f.caption} ↑`),
      h('option', { value: `${f.name}:desc` }, `${f.caption} ↓`),
    ]));

    // Buttons a client module adds (add_view_button).
    this.clientButtons = h('span', { class: 'client-buttons' });
    this.selectionInfo = h('div', { class: 'selection-info', hidden: true, role: 'status' });
    this.selectAllButton = this.selectAllMatching ? h('button', {
      type: 'button', class: 'btn btn-small btn-ghost select-all-matching', onclick: () => this.selectEveryMatch(),
    }, 'Select all') : null;
    this.selectAllNote = h('p', { class: 'select-all-note', role: 'status', hidden: true });
    this.chips = h('div', { class: 'filter-chips', 'aria-label': 'Active filters' });
    this.titleEl = h('h2', { class: 'view-title', id: uid('view-title') }, item.caption);
    const back = tab ? h('button', {
      type: 'button', class: 'btn btn-icon btn-ghost phone-only view-back', 'aria-label': 'Back to the menu',
      onclick: () => this.app.showHome(),
    }, icon('back')) : null;

    this.status = h('span', { class: 'pager-status', role: 'status' });
    this.pageInput = h('input', {
      type: 'text', inputmode: 'numeric', class: 'pager-input', 'aria-label': 'Page number', value: '1',
      onchange: () => this.goto(Number(this.pageInput.value) - 1),
      onkeydown: (e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          this.goto(Number(this.pageInput.value) - 1);
        }
      },
    });
    this.pageCount = h('span', { class: 'pager-count' });
    const pagerButton = (name, label, fn) => h('button', { type: 'button', class: 'btn btn-icon btn-ghost', 'aria-label': label, title: label, onclick: fn }, icon(name));
    this.firstButton = pagerButton('first', 'First page', () => this.goto(0));
    this.prevButton = pagerButton('left', 'Previous page (PgUp)', () => this.goto(this.page - 1));
    this.nextButton = pagerButton('right', 'Next page (PgDn)', () => this.goto(this.page + 1));
    this.lastButton = pagerButton('last', 'Last page', () => this.goto(this.lastPage()));
    this.sizeSelect = h('select', {
      class: 'page-size', 'aria-label': 'Rows per page',
      onchange: () => {
        this.pageSize = Number(this.sizeSelect.value);
        this.page = 0;
        this.savePrefs();
        this.load();
      },
    }, PAGE_SIZES.map((n) => h('option', { value: String(n), selected: n === this.pageSize }, `${n} / page`)));

    this.error = h('div', { class: 'view-error', role: 'alert', hidden: true });
    this.el = h('section', {
      class: `view view-${this.mode}`, 'aria-labelledby': this.titleEl.id, dataset: { item: item.name },
    },
    h('header', { class: 'view-header' },
      h('div', { class: 'view-heading' }, back, this.titleEl, this.refreshButton),
      h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': `${item.caption} commands` },
        this.newButton, this.editButton, this.deleteButton, this.filterButton, this.historyButton, viewTools(this), this.clientButtons, this.sortSelect),
      search),
    h('div', { class: 'view-subbar' }, this.chips, this.selectAllButton, this.selectionInfo),
    this.selectAllNote,
    this.error,
    this.grid.el,
    h('footer', { class: 'pager' },
      this.status,
      h('div', { class: 'pager-nav' }, this.firstButton, this.prevButton,
        h('span', { class: 'pager-page' }, 'Page ', this.pageInput, ' of ', this.pageCount),
        this.nextButton, this.lastButton),
      this.sizeSelect));
    this.renderButtons();
    this.renderChips();
  }

  /** With one searchable field the box names it; with several, the list beside it does. */
  searchPlaceholder() {
    return this.searchFields.length > 1 ? 'Search… (Ctrl+F)' : `Search ${this.searchField.caption.toLowerCase()}… (Ctrl+F)`;
  }

  savePrefs() {
    storageSet(this.prefKey, { pageSize: this.pageSize, searchField: this.searchField ? this.searchField.name : null });
  }

  lastPage() {
    return Math.max(0, Math.ceil(this.total / this.pageSize) - 1);
  }

  goto(page) {
    if (!Number.isFinite(page)) page = this.page;
    const target = Math.max(0, Math.min(this.lastPage(), Math.floor(page)));
    if (target === this.page) {
      this.pageInput.value = String(this.page + 1);
      return;
    }
    this.page = target;
    this.load();
  }

  params() {
    const p = { filters: this.filters.serverFilters() };
    const text = this.searchInput ? this.searchInput.value.trim() : '';
    if (text && this.searchField) p.search = { field: this.searchField.name, text };
    return p;
  }

  /** Loads the current page, the count and the totals. Keeps the current row on `currentKey`. */
  async load({ currentKey } = {}) {
    const seq = ++this.seq;
    const item = this.item;
    const base = this.params();
    const summary = item.summary();
    const sums = summary.filter((t) => t.func === 'sum').map((t) => t.field);
    const funcs = {};
    for (const f of sums) funcs[f.name] = 'sum';
    this.el.setAttribute('aria-busy', 'true');
    this.grid.el.classList.add('loading');
    try {
      // The page comes with its total (one request, one snapshot); sums, when the totals row
      // has any, in a second open beside it.
      const [page, agg] = await Promise.all([
        api.openPage(item.name, {
          ...base, expanded: true, order: this.order, limit: this.pageSize, offset: this.page * this.pageSize, total: true,
        }),
        sums.length ? api.open(item.name, { ...base, fields: sums.map((f) => f.name), funcs }) : [],
      ]);
      if (seq !== this.seq) return;
      const rows = page.rows;
      this.total = page.total || 0;
      if (this.page > this.lastPage()) {
        // Rows went away (deleted, filtered): show the last page there is.
        this.page = this.lastPage();
        await this.load({ currentKey });
        return;
      }
      for (const r of rows) this.known.set(r[item.pk], r);
      const keysText = await this.keysTexts(rows);
      if (seq !== this.seq) return;
      this.error.hidden = true;
      if (!this.ci.is_changing()) this.ci._load(rows);
      this.grid.setRows(rows, { currentKey, keysText });
      if (summary.length && rows.length) {
        this.grid.setTotals(summary.map((t) => ({
          ...t, value: t.func === 'count' ? this.total : (agg[0] ? agg[0][t.field.name] : 0),
        })));
      } else {
        this.grid.setTotals(null);
      }
      this.renderPager();
      this.renderSelection();
    } catch (err) {
      if (seq !== this.seq) return;
      this.error.textContent = api.describeError(err);
      this.error.hidden = false;
      if (err.code !== 'network') showError(err, `Cannot load ${item.caption}`);
    } finally {
      if (seq === this.seq) {
        this.el.removeAttribute('aria-busy');
        this.grid.el.classList.remove('loading');
      }
    }
  }

  /** Texts of the keys in keys-list columns, one open per lookup item. */
  async keysTexts(rows) {
    const texts = new Map();
    for (const f of this.columns.filter((c) => c.isKeys())) {
      const ids = [...new Set(rows.flatMap((r) => String(r[f.name] || '').split(';').filter(Boolean).map(Number)))];
      if (!ids.length) continue;
      try {
        const found = await textsOf(f.lookupItem(), f.lookup.path, ids);
        for (const [k, v] of found) texts.set(k, v);
      } catch (err) {
        showError(err);
      }
    }
    return texts;
  }

  renderPager() {
    const from = this.total ? this.page * this.pageSize + 1 : 0;
    const to = Math.min(this.total, (this.page + 1) * this.pageSize);
    this.status.textContent = this.total ? `${from}–${to} of ${formatNumber(this.total, 'integer')}` : 'No records';
    this.pageInput.value = String(this.page + 1);
    this.pageCount.textContent = String(this.lastPage() + 1);
    this.firstButton.disabled = this.prevButton.disabled = this.page === 0;
    this.nextButton.disabled = this.lastButton.disabled = this.page >= this.lastPage();
  }

  renderSelection() {
    const n = this.grid.selection.size;
    if (!n && this.selectAllNote) this.selectAllNote.hidden = true;
    clear(this.selectionInfo);
    this.selectionInfo.hidden = n === 0;
    if (n) {
      this.selectionInfo.append(h('span', null, `${n} selected`), h('button', {
        type: 'button', class: 'btn btn-link', onclick: () => this.grid.clearSelection(),
      }, 'Clear selection'));
    }
    this.renderButtons();
  }

  renderButtons() {
    if (this.mode !== 'tab') return;
    const has = this.grid.current() !== null || this.grid.selection.size > 0;
    this.newButton.disabled = !this.item.can('create');
    this.editButton.disabled = this.grid.current() === null;
    this.deleteButton.disabled = !this.item.can('delete') || !has;
    if (!this.item.can('create')) this.newButton.title = 'Your role may not create records here';
    if (!this.item.can('delete')) this.deleteButton.title = 'Your role may not delete records here';
  }

  renderChips() {
    clear(this.chips);
    const active = this.filters.active();
    for (const a of active) {
      this.chips.append(h('span', { class: 'chip' },
        h('span', null, `${a.filter.caption}: ${a.text}`),
        h('button', {
          type: 'button', class: 'chip-remove', 'aria-label': `Remove filter ${a.filter.caption}`,
          onclick: () => {
            this.filters.remove(a.filter.name);
            this.renderChips();
            this.page = 0;
            this.load();
          },
        }, icon('close', 14))));
    }
    if (this.filterButton) {
      this.filterCount.hidden = active.length === 0;
      this.filterCount.textContent = String(active.length);
      this.filterButton.setAttribute('aria-label', active.length ? `Filters (${active.length} active)` : 'Filters');
    }
  }

  async editFilters() {
    if (await this.filters.edit()) {
      this.renderChips();
      this.page = 0;
      await this.load();
    }
    this.grid.focus();
  }

  /**
   * Marks every row that matches the dialog's search and filters, on all pages: one open of up
   * to the server's max_limit rows. When more match, it says how many were marked of how many.
   */
  async selectEveryMatch() {
    const item = this.item;
    const max = this.app.meta.task.max_limit;
    this.selectAllButton.disabled = true;
    try {
      const rows = await api.open(item.name, { ...this.params(), expanded: true, order: this.order, limit: max });
      for (const r of rows) {
        this.known.set(r[item.pk], r);
        this.grid.selection.add(r[item.pk]);
      }
      this.grid.setRows(this.grid.rows, { currentKey: this.grid.currentKey() });
      this.selectAllNote.hidden = this.total <= rows.length;
      this.selectAllNote.textContent = this.total > rows.length
        ? `Selected the first ${formatNumber(rows.length, 'integer')} of ${formatNumber(this.total, 'integer')} matching rows: the server sends at most ${formatNumber(max, 'integer')} at a time. Narrow the search to choose among the rest.`
        : '';
      this.ci.selections = [...this.grid.selection];
      this.renderSelection();
    } catch (err) {
      showError(err, `Cannot select all ${item.caption}`);
    } finally {
      this.selectAllButton.disabled = false;
    }
  }

  /** In select mode with `multi`: the marked rows (keys alone for rows not seen on a page). */
  pickedRows() {
    return [...this.grid.selection].map((k) => this.known.get(k) || { [this.item.pk]: k });
  }

  create() {
    if (!this.item.can('create')) return;
    editRecord(this.app, this.item, {
      id: null,
      onSaved: (result) => this.afterSave(result),
    });
  }

  edit(row = this.grid.current()) {
    if (!row) return;
    editRecord(this.app, this.item, {
      id: row[this.item.pk],
      row,
      onSaved: (result) => this.afterSave(result),
    });
  }

  afterSave(result) {
    toast(result.op === 'insert' ? `${this.item.caption}: record created` : `${this.item.caption}: changes saved`, { kind: 'success' });
    this.load({ currentKey: result.id }).then(() => this.grid.focus());
  }

  async remove() {
    if (!this.item.can('delete')) return;
    const keys = this.grid.targetKeys();
    if (!keys.length) return;
    const ok = await confirm(keys.length === 1 ? 'Delete the record?' : `Delete ${keys.length} records?`, {
      title: `Delete — ${this.item.caption}`, ok: 'Delete', danger: true,
    });
    if (!ok) {
      this.grid.focus();
      return;
    }
    try {
      await api.apply(this.item.name, { changes: keys.map((id) => ({ op: 'delete', id })) });
    } catch (err) {
      showError(err, keys.length === 1 ? 'The record was not deleted' : 'The records were not deleted');
      this.grid.focus();
      return;
    }
    for (const k of keys) this.grid.selection.delete(k);
    toast(keys.length === 1 ? 'Record deleted' : `${keys.length} records deleted`, { kind: 'success' });
    await this.load();
    this.grid.focus();
  }

  focusSearch() {
    if (!this.searchInput) return;
    this.searchInput.focus();
    this.searchInput.select();
  }

  /** Keys for this view; `inDialog` when it is a lookup dialog (Esc is the dialog's). */
  onKey(e, { inDialog = false } = {}) {
    if (e.defaultPrevented) return;
    const k = e.key;
    if (ctrl(e) && (k === 'f' || k === 'F')) {
      e.preventDefault();
      this.focusSearch();
    } else if (this.mode === 'tab' && ctrl(e) && k === 'Insert') {
      e.preventDefault();
      this.create();
    } else if (this.mode === 'tab' && ctrl(e) && k === 'Delete') {
      e.preventDefault();
      this.remove();
    } else if (k === 'Escape' && document.activeElement === this.searchInput) {
      e.preventDefault();
      this.grid.focus();
    } else if (k === 'Escape' && !inDialog && !typingTarget(document.activeElement)) {
      e.preventDefault();
      if (this.onClose) this.onClose();
    } else if (k === 'Escape' && !inDialog) {
      e.preventDefault();
      this.grid.focus();
    }
  }

  dispose() {
    this.seq += 1;
  }
}
