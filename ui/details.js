// A detail inside an edit form (invoice lines under an invoice): its rows as a grid with their
// own New / Edit / Delete, kept in the browser until the master is saved; then `changes()` is the
// detail's part of the one apply (`details: {name: [changes]}`) that saves master and details in
// one transaction. Server errors for a row (`changes[0].lines[2].qty`) are shown on that row.

import { h, clear, ctrl } from './dom.js';
import { icon } from './icons.js';
import { Grid } from './grid.js';
import { confirm, showError } from './dialog.js';
import { textsOf } from './lookup.js';
import * as api from './api.js';
import { EditForm, openLocalForm } from './form.js';
import { report } from './client.js';

let localKeys = 0;

export class DetailList {
  /**
   * `master`: {item, id} of a saved master, or null for a new one. `readOnly`: the master form's.
   * `masterItem`: the master form's item object; this list's rows are its detail's records
   * (`item.<detail>` in client modules), so code and the user change the same rows.
   */
  constructor(app, item, { master, readOnly, masterItem }) {
    this.app = app;
    this.item = item;
    this.master = master;
    this.readOnly = readOnly;
    this.rows = [];
    this.ci = app.runtime.item(item, { master: masterItem, rows: this.rows, binding: this.binding() });
    masterItem._addDetail(this.ci);
    this.deleted = [];
    this.keysText = new Map();
    this.columns = item.viewFields();
    this.grid = new Grid({
      columns: this.columns,
      widthOf: (f) => item.columnWidth(f),
      cellText: (f, row) => this.ci._textAt(row, f.name),
      keyOf: (row) => row._key,
      multiselect: false,
      sortable: false,
      label: item.caption,
      widthKey: `${app.meta.task.name}.detail.${item.name}`,
      emptyText: 'No rows yet',
      onActivate: () => this.edit(),
      onCurrent: () => this.renderButtons(),
    });
    const button = (name, label, title, fn, cls = '') => h('button', {
      type: 'button', class: `btn btn-small ${cls}`, title, onclick: fn,
    }, icon(name, 16), h('span', { class: 'btn-label' }, label));
    this.newButton = button('plus', 'Add', `Add a row to ${item.caption} (Ctrl+Ins)`, () => this.create());
    this.newButton.setAttribute('aria-label', `Add ${item.caption} row`);
    this.editButton = button('edit', 'Edit', 'Edit the row (Enter)', () => this.edit());
    this.editButton.setAttribute('aria-label', `Edit ${item.caption} row`);
    this.deleteButton = button('trash', 'Delete', 'Delete the row (Ctrl+Del)', () => this.remove(), 'btn-danger-ghost');
    this.deleteButton.setAttribute('aria-label', `Delete ${item.caption} row`);
    this.errors = h('ul', { class: 'detail-errors', role: 'alert', hidden: true });
    this.count = h('span', { class: 'detail-count' });
    this.el = h('section', { class: 'detail', dataset: { detail: item.name }, 'aria-label': item.caption },
      h('div', { class: 'detail-header' },
        h('h3', null, item.caption, ' ', this.count),
        h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': `${item.caption} commands` },
          this.newButton, this.editButton, this.deleteButton)),
      this.errors,
      this.grid.el);
    this.el.addEventListener('keydown', (e) => this.keydown(e));
    this.render();
  }

  async load() {
    if (!this.master) return;
    const rows = await api.open(this.item.name, { expanded: true, master: this.master });
    for (const [k, v] of await this.keysTexts(rows)) this.keysText.set(k, v);
    this.rows = rows.map((r) => ({ _key: `s${r[this.item.pk]}`, _state: 'old', _original: { ...r }, ...r }));
    this.ci._load(this.rows);
    this.render();
  }

  /** How the detail's item object reaches this list (see `ClientItem.binding`). */
  binding() {
    let pending = false;
    const later = () => {
      if (pending) return;
      pending = true;
      queueMicrotask(() => {
        pending = false;
        this.render(this.grid.currentKey());
      });
    };
    return {
      newRow: () => {
        localKeys += 1;
        return { _key: `n${localKeys}`, _state: 'new', _values: {} };
      },
      appended: later,
      changed: later,
      cancelled: later,
      posted: (row) => {
        // What to send for the row: all its values when new, what differs from the stored row
        // otherwise.
        const values = {};
        for (const f of this.item.fields) {
          if (!f.editable() && !(row._state === 'new' && f.isNewKey())) continue;
          const v = EditForm.wire(f, row[f.name]);
          if (row._state === 'new') {
            if (v !== null) values[f.name] = v;
          } else if (!same(v, row._original[f.name])) {
            values[f.name] = v;
          }
        }
        row._values = values;
        if (row._state !== 'new') row._state = Object.keys(values).length ? 'changed' : 'old';
        delete row._invalid;
        later();
      },
      deleted: (row) => {
        if (row._state !== 'new') this.deleted.push(row);
        later();
      },
    };
  }

  async keysTexts(rows) {
    const texts = new Map();
    for (const f of this.columns.filter((c) => c.isKeys())) {
      const ids = [...new Set(rows.flatMap((r) => String(r[f.name] || '').split(';').filter(Boolean).map(Number)))];
      if (ids.length) {
        for (const [k, v] of await textsOf(f.lookupItem(), f.lookup.path, ids)) texts.set(k, v);
      }
    }
    return texts;
  }

  can(what) {
    return !this.readOnly && this.item.can(what);
  }

  render(currentKey) {
    this.grid.setRows(this.rows, { currentKey, keysText: this.keysText });
    const summary = this.item.summary().filter((t) => this.columns.includes(t.field));
    if (summary.length && this.rows.length) {
      this.grid.setTotals(summary.map((t) => ({
        ...t,
        value: t.func === 'count' ? this.rows.length : this.rows.reduce((s, r) => s + (Number(r[t.field.name]) || 0), 0),
      })));
    } else {
      this.grid.setTotals(null);
    }
    this.count.textContent = `(${this.rows.length})`;
    this.renderButtons();
  }

  renderButtons() {
    const current = this.grid.current();
    this.newButton.hidden = this.readOnly;
    this.deleteButton.hidden = this.readOnly;
    this.editButton.querySelector('.btn-label').textContent = this.readOnly ? 'Open' : 'Edit';
    this.newButton.disabled = !this.can('create');
    this.editButton.disabled = !current;
    this.deleteButton.disabled = !current || !(current._state === 'new' || this.can('delete'));
  }

  dirty() {
    return this.deleted.length > 0 || this.rows.some((r) => r._state !== 'old');
  }

  /** The changes to send, and for each its row (to put errors on). */
  changes() {
    const out = [];
    const rows = [];
    for (const r of this.rows) {
      if (r._state === 'new') {
        out.push({ op: 'insert', values: r._values });
        rows.push(r);
      } else if (r._state === 'changed') {
        out.push({ op: 'update', id: r[this.item.pk], values: r._values });
        rows.push(r);
      }
    }
    for (const r of this.deleted) {
      out.push({ op: 'delete', id: r[this.item.pk] });
      rows.push(r);
    }
    this.sent = rows;
    return out;
  }

  /** Errors `[{index, field, message}]` for the changes last sent. */
  showErrors(errors) {
    for (const r of this.rows) delete r._invalid;
    clear(this.errors);
    this.errors.hidden = errors.length === 0;
    for (const e of errors) {
      const row = this.sent && this.sent[e.index];
      const position = row ? this.rows.indexOf(row) + 1 : 0;
      const f = this.item.field(e.field);
      if (row) row._invalid = true;
      this.errors.append(h('li', null,
        position > 0 ? `Row ${position}: ` : (row ? 'A deleted row: ' : ''),
        f ? `${f.caption}: ` : (e.field ? `${e.field}: ` : ''),
        e.message));
    }
    this.render(this.grid.currentKey());
  }

  async create() {
    if (!this.can('create')) return;
    try {
      this.ci.append();
    } catch (err) {
      report(err, `client/${this.item.name}.js`);
      return;
    }
    const row = this.ci._record();
    const posted = await openLocalForm(this.app, this.item, {
      ci: this.ci, keysText: this.keysText, title: `New ${this.item.caption} row`,
    });
    this.render(posted ? row._key : undefined);
    this.grid.focus();
  }

  async edit() {
    const row = this.grid.current();
    if (!row) return;
    const editable = row._state === 'new' ? this.can('create') : this.can('edit');
    this.ci._recNo = this.rows.indexOf(row);
    if (editable) this.ci.edit();
    await openLocalForm(this.app, this.item, {
      ci: this.ci, editable, keysText: this.keysText, title: `${this.item.caption} row ${this.rows.indexOf(row) + 1}`,
    });
    this.render(row._key);
    this.grid.focus();
  }

  async remove() {
    const row = this.grid.current();
    if (!row || !(row._state === 'new' || this.can('delete'))) return;
    if (!(await confirm('Delete the row?', { title: `Delete — ${this.item.caption}`, ok: 'Delete', danger: true }))) {
      this.grid.focus();
      return;
    }
    const at = this.rows.indexOf(row);
    this.ci._recNo = at;
    this.ci.delete();
    const next = this.rows[Math.min(at, this.rows.length - 1)];
    this.render(next ? next._key : undefined);
    this.grid.focus();
  }

  keydown(e) {
    if (!ctrl(e)) return;
    if (e.key === 'Insert') {
      e.preventDefault();
      e.stopPropagation();
      this.create().catch(showError);
    } else if (e.key === 'Delete') {
      e.preventDefault();
      e.stopPropagation();
      this.remove().catch(showError);
    }
  }
}

function same(a, b) {
  if (Array.isArray(a)) return a.join(';') === String(b ?? '');
  return (a ?? null) === (b ?? null);
}
