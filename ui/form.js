// The edit form of a record: an input per shown field (inputs.js), the item's details as grids
// (details.js), and one apply that saves the record with its details. Fields the role or the
// metadata make read-only (read_only, server-set, calculated, master-field fields) are shown but
// cannot be changed; without the edit privilege the whole form is read-only. Server validation
// errors (422, `fields`) appear beside their inputs; other refusals (module_error, forbidden, …)
// in the form's message area, with everything typed kept.
//
// Keys: Ctrl+Enter saves, Esc cancels (asking first when something changed).

import { h, append, clear, uid, ctrl } from './dom.js';
import { Modal, ask, showError } from './dialog.js';
import { today, now } from './format.js';
import { createInput } from './inputs.js';
import { DetailList } from './details.js';
import { lookupText, textsOf } from './lookup.js';
import * as api from './api.js';
import { historyButton } from './history.js';
import { nameVersion, isVersionConflict, askReload } from './lock.js';

/** Opens the form of record `id` of `item` (a new record when null); `onSaved(result)` after. */
export async function editRecord(app, item, { id, onSaved }) {
  let row = null;
  if (id !== null && id !== undefined) {
    try {
      const rows = await api.open(item.name, { expanded: true, filters: [[item.pk, 'eq', id]], limit: 1 });
      row = rows[0] || null;
    } catch (err) {
      showError(err, `Cannot open the ${item.caption} record`);
      return null;
    }
    if (!row) {
      showError(new api.ApiError(404, 'not_found', 'The record no longer exists; it may have been deleted.'));
      return null;
    }
  }
  const form = new EditForm(app, item, { row, mode: 'server', onSaved });
  await form.open();
  return form;
}

/**
 * Edits a detail row in the browser. Resolves to `{values, row}` (values to send, and the row as
 * a grid shows it, lookup texts included) or null when cancelled.
 */
export function openLocalForm(app, item, { row, editable = true, keysText, title }) {
  return new Promise((resolve) => {
    const form = new EditForm(app, item, {
      row, mode: 'local', editable, keysText, title, onDone: (result) => resolve(result),
    });
    form.open();
  });
}

function defaults(item) {
  const row = {};
  for (const f of item.fields) {
    if (f.defaultValue === undefined) continue;
    if (f.defaultValue === 'today' && f.type === 'date') row[f.name] = today();
    else if ((f.defaultValue === 'now' || f.defaultValue === 'today') && f.type === 'datetime') row[f.name] = now();
    else row[f.name] = f.defaultValue;
  }
  return row;
}

/** Edit forms now open, so leaving the page can warn about unsaved changes. */
export const openForms = new Set();

export class EditForm {
  constructor(app, item, { row, mode, onSaved = null, onDone = null, editable = null, keysText = null, title = null }) {
    this.app = app;
    this.item = item;
    this.mode = mode;
    this.isNew = !row || (mode === 'local' && row._state === undefined);
    this.row = row ? { ...row } : defaults(item);
    this.onSaved = onSaved;
    this.onDone = onDone;
    this.keysText = keysText || new Map();
    const allowed = mode === 'local' ? editable !== false : item.can(this.isNew ? 'create' : 'edit');
    this.readOnly = !allowed;
    this.title = title || (this.isNew ? `${item.caption} · new record` : item.caption);
    this.inputs = new Map();
    this.details = [];
    this.saving = false;
    this.result = null;
  }

  async open() {
    const item = this.item;
    this.modal = new Modal({
      title: this.title,
      className: `modal-form${item.detailItems().length && this.mode === 'server' ? ' modal-wide' : ''}`,
      beforeClose: () => this.beforeClose(),
      onClosed: () => {
        openForms.delete(this);
        if (this.mode === 'local' && this.onDone) this.onDone(this.result);
        if (this.mode === 'server') this.app.formClosed(item);
      },
    });
    this.modal.el.dataset.item = item.name;
    this.modal.onKey = (e) => this.onKey(e);
    if (this.readOnly) {
      this.modal.titleEl.append(h('span', { class: 'badge badge-muted' }, 'read-only'));
    }
    if (this.mode === 'server' && !this.isNew) {
      const history = historyButton(this.app, item, () => this.row[item.pk]);
      if (history) this.modal.closeButton.before(history);
    }
    this.banner = h('div', { class: 'form-banner', role: 'alert', hidden: true });
    this.form = h('form', { class: 'edit-form', novalidate: true, 'aria-label': this.title });
    // Ctrl+Enter saves, as in Jam.py; a plain Enter in a field must not (a browser submits a
    // form with a single text box on Enter).
    this.form.addEventListener('submit', (e) => e.preventDefault());
    await this.resolveTexts();
    const grid = h('div', { class: 'form-grid' });
    for (const f of item.shownFields()) grid.append(this.fieldRow(f));
    this.form.append(this.banner, grid);
    this.modal.body.append(this.form);

    if (this.mode === 'server') {
      const master = this.isNew ? null : { item: item.name, id: this.row[item.pk] };
      for (const d of item.detailItems()) {
        const list = new DetailList(this.app, d, { master, readOnly: this.readOnly });
        this.details.push(list);
        this.modal.body.append(list.el);
      }
    }

    this.saveButton = h('button', {
      type: 'button', class: 'btn btn-primary', title: 'Save (Ctrl+Enter)', onclick: () => this.save(),
    }, this.mode === 'local' ? 'OK' : 'Save');
    const cancel = h('button', { type: 'button', class: 'btn', onclick: () => this.modal.requestClose() }, this.readOnly ? 'Close' : 'Cancel');
    append(this.modal.footer, [
      h('span', { class: 'modal-hint' }, this.readOnly ? 'Esc closes' : 'Ctrl+Enter saves · Esc cancels'),
      this.readOnly ? null : this.saveButton,
      cancel,
    ]);
    // What "unchanged" means, taken before the user can type (details are unchanged until
    // their rows are loaded and edited).
    this.snapshot = this.values().values;
    this.modal.open();
    openForms.add(this);
    if (this.mode === 'server') this.app.formOpened(item, this.isNew ? null : this.row[item.pk]);
    const first = [...this.inputs.values()].find((i) => !i.readOnly && !i.disabled);
    if (first) (first.focusTarget || first.el).focus();
    else cancel.focus();
    try {
      await Promise.all(this.details.map((d) => d.load()));
    } catch (err) {
      this.showBanner(err);
    }
  }

  /** Texts the inputs need that the row does not carry: keys lists, and defaults of lookups. */
  async resolveTexts() {
    for (const f of this.item.shownFields()) {
      const v = this.row[f.name];
      if (v === null || v === undefined) continue;
      try {
        if (f.isKeys()) {
          const ids = String(v).split(';').filter(Boolean).map(Number);
          const missing = ids.filter((i) => !this.keysText.has(i));
          if (missing.length) {
            for (const [k, t] of await textsOf(f.lookupItem(), f.lookup.path, missing)) this.keysText.set(k, t);
          }
        } else if (f.isLookup() && this.row[`${f.name}.text`] === undefined && f.lookupItem()) {
          const texts = await textsOf(f.lookupItem(), f.lookup.path, [v]);
          this.row[`${f.name}.text`] = texts.get(v) ?? '';
        }
      } catch (err) {
        showError(err);
      }
    }
  }

  fieldRow(f) {
    const id = uid(`f-${f.name}`);
    const errorId = `${id}-error`;
    const helpId = f.help ? `${id}-help` : null;
    const editable = !this.readOnly && f.editable();
    const input = createInput(this.app, f, {
      id,
      value: this.row[f.name],
      row: this.row,
      keysText: this.keysText,
      editable,
      describedBy: [helpId, errorId].filter(Boolean).join(' '),
      onChange: (value, lookupRow) => this.changed(f, value, lookupRow),
      report: (message) => (message ? this.fieldError(f.name, message) : this.clearError(f.name)),
    });
    const error = h('p', { class: 'field-error', id: errorId, hidden: true });
    const required = f.required && editable;
    const label = h('label', { for: id, id: `${id}-label` },
      f.caption, required ? h('span', { class: 'required', 'aria-hidden': 'true' }, ' *') : null);
    if (required) (input.focusTarget || input.el).setAttribute('aria-required', 'true');
    const row = h('div', {
      class: `field${input.wide ? ' field-wide' : ''}${input.checkbox ? ' field-check' : ''}${input.readOnly ? ' is-readonly' : ''}`,
      dataset: { field: f.name },
    }, label, input.el, f.help ? h('small', { class: 'field-help', id: helpId }, f.help) : null, error);
    input.errorEl = error;
    input.field = f;
    this.inputs.set(f.name, input);
    return row;
  }

  /** A lookup changed: its master-field fields show the new row's texts. */
  changed(field, value, lookupRow) {
    this.clearError(field.name);
    if (!field.isLookup()) return;
    this.row[field.name] = value;
    this.row[`${field.name}.text`] = lookupRow ? lookupText(field.lookupItem(), field.lookup.path, lookupRow) : null;
    for (const g of this.item.fields.filter((x) => x.masterField === field.name)) {
      const text = lookupRow ? lookupText(field.lookupItem(), g.lookup.path, lookupRow) : '';
      this.row[`${g.name}.text`] = text || null;
      const input = this.inputs.get(g.name);
      if (input && input.setText) input.setText(text);
    }
  }

  /** The values of the editable inputs: `{values, errors}`. */
  values() {
    const values = {};
    const errors = {};
    for (const [name, input] of this.inputs) {
      if (input.readOnly) continue;
      const r = input.get();
      if (r.error) errors[name] = r.error;
      else values[name] = r.value;
    }
    return { values, errors };
  }

  dirty() {
    if (this.readOnly) return false;
    const { values, errors } = this.values();
    if (Object.keys(errors).length) return true;
    const before = this.snapshot || {};
    return Object.keys(values).some((k) => JSON.stringify(values[k]) !== JSON.stringify(before[k])) ||
      this.details.some((d) => d.dirty());
  }

  clearError(name) {
    const input = this.inputs.get(name);
    if (!input || input.errorEl.hidden) return;
    input.errorEl.hidden = true;
    (input.focusTarget || input.el).removeAttribute('aria-invalid');
    // The summary of field errors goes once the last of them is dealt with.
    if (this.banner.dataset.kind === 'fields' && [...this.inputs.values()].every((i) => i.errorEl.hidden)) {
      this.banner.hidden = true;
    }
  }

  fieldError(name, message) {
    const input = this.inputs.get(name);
    if (!input) return false;
    input.errorEl.textContent = message;
    input.errorEl.hidden = false;
    (input.focusTarget || input.el).setAttribute('aria-invalid', 'true');
    return true;
  }

  clearErrors() {
    for (const name of this.inputs.keys()) this.clearError(name);
    this.banner.hidden = true;
    for (const d of this.details) d.showErrors([]);
  }

  showBanner(err, title = null) {
    clear(this.banner);
    const heading = title || (err.code === 'module_error' ? 'The server refused the changes' : 'Not saved');
    this.banner.append(h('strong', null, heading), h('span', null, api.describeError(err)));
    this.banner.dataset.kind = 'error';
    this.banner.hidden = false;
    this.banner.scrollIntoView({ block: 'nearest' });
  }

  /** The summary above the form when `count` values are marked beside their fields. */
  showFieldsBanner(count) {
    clear(this.banner);
    this.banner.append(h('strong', null, 'Please correct the marked fields'),
      h('span', null, count === 1 ? 'One value is not valid.' : `${count} values are not valid.`));
    this.banner.dataset.kind = 'fields';
    this.banner.hidden = false;
    this.banner.scrollIntoView({ block: 'nearest' });
  }

  focusFirstError() {
    const bad = [...this.inputs.values()].find((i) => !i.errorEl.hidden);
    if (bad) (bad.focusTarget || bad.el).focus();
  }

  /**
   * Required fields the user left empty. Checked before any save: a server fills an empty field
   * of a new record with its `default_value`, so a required date the user cleared would be saved
   * as today without a word.
   */
  missingRequired(values) {
    return [...this.inputs.values()]
      .filter((i) => !i.readOnly && i.field.required)
      .filter((i) => values[i.field.name] === null); // undefined: its value has an error of its own
  }

  async save() {
    if (this.readOnly || this.saving) return false;
    this.clearErrors();
    const { values, errors } = this.values();
    for (const [name, message] of Object.entries(errors)) this.fieldError(name, message);
    for (const i of this.missingRequired(values)) this.fieldError(i.field.name, 'is required');
    const marked = [...this.inputs.values()].filter((i) => !i.errorEl.hidden).length;
    if (marked) {
      this.showFieldsBanner(marked);
      this.focusFirstError();
      return false;
    }
    if (this.mode === 'local') return this.saveLocal(values);
    return this.saveServer(values);
  }

  saveLocal(values) {
    // The row as shown, without the detail list's bookkeeping (`_state`, `_values`, …).
    const row = Object.fromEntries(Object.entries({ ...this.row, ...values }).filter(([k]) => !k.startsWith('_')));
    for (const [name, input] of this.inputs) {
      if (input.lookup) row[`${name}.text`] = input.lookup.text || null;
      if (input.multi) {
        // A grid shows a keys list as "1;5" and finds the texts in the shared map.
        row[name] = values[name] ? values[name].join(';') : null;
        input.multi.items.forEach((i) => this.keysText.set(i.id, i.text));
      }
    }
    this.result = { values, row };
    this.modal.close();
    return true;
  }

  async saveServer(values) {
    const item = this.item;
    const change = this.isNew ? { op: 'insert', values: {} } : { op: 'update', id: this.row[item.pk], values: {} };
    for (const [k, v] of Object.entries(values)) {
      if (this.isNew ? v !== null : JSON.stringify(v) !== JSON.stringify(this.snapshot[k])) change.values[k] = v;
    }
    const details = {};
    for (const d of this.details) {
      const list = d.changes();
      if (list.length) details[d.item.name] = list;
    }
    if (Object.keys(details).length) change.details = details;
    if (!this.isNew && !Object.keys(change.values).length && !change.details) {
      this.modal.close();
      return true;
    }
    if (!this.isNew) nameVersion(item, this.row, change);
    this.saving = true;
    this.saveButton.disabled = true;
    this.form.setAttribute('aria-busy', 'true');
    try {
      const res = await api.apply(item.name, { changes: [change], expanded: true });
      this.saving = false;
      this.snapshot = values;
      this.modal.close();
      if (this.onSaved) this.onSaved(res.changes[0]);
      return true;
    } catch (err) {
      if (isVersionConflict(item, err)) {
        this.showBanner(err, 'Changed by someone else');
        this.saving = false;
        if (await askReload(item)) await this.reload();
        return false;
      }
      this.showSaveError(err);
      return false;
    } finally {
      this.saving = false;
      this.saveButton.disabled = false;
      this.form.removeAttribute('aria-busy');
    }
  }

  /** Closes this form without asking and opens the record as it is stored now. */
  async reload() {
    this.result = { reloaded: true };
    this.modal.close();
    await editRecord(this.app, this.item, { id: this.row[this.item.pk], onSaved: this.onSaved });
  }

  /** Puts each server field error beside its input or on its detail row. */
  showSaveError(err) {
    const rest = [];
    const perDetail = new Map();
    for (const f of err.fields || []) {
      const path = String(f.field || '');
      const m = /^changes\[0\]\.(.+)$/.exec(path);
      const sub = m ? /^([a-z_][a-z0-9_]*)\[(\d+)\](?:\.(.+))?$/.exec(m[1]) : null;
      if (sub && this.details.some((d) => d.item.name === sub[1])) {
        if (!perDetail.has(sub[1])) perDetail.set(sub[1], []);
        perDetail.get(sub[1]).push({ index: Number(sub[2]), field: sub[3] || '', message: f.message });
      } else if (!(m && this.fieldError(m[1], f.message))) {
        rest.push(f);
      }
    }
    for (const d of this.details) d.showErrors(perDetail.get(d.item.name) || []);
    const placed = (err.fields || []).length - rest.length;
    if (err.code === 'validation' && placed > 0 && rest.length === 0) {
      this.showFieldsBanner(placed);
      if (perDetail.size) this.banner.dataset.kind = 'error';
    } else {
      this.showBanner(err);
    }
    this.focusFirstError();
  }

  async beforeClose() {
    if (this.saving) return false;
    if (this.result || !this.dirty()) return true;
    const answer = await ask('Data has been modified. Do you want to save the changes?', {
      title: 'Unsaved changes',
      buttons: [
        { key: 'save', label: 'Save', kind: 'primary' },
        { key: 'discard', label: 'Discard changes', kind: 'danger' },
        { key: 'keep', label: 'Keep editing' },
      ],
    });
    if (answer === 'save') {
      await this.save();
      return false;
    }
    return answer === 'discard';
  }

  onKey(e) {
    if (e.defaultPrevented) return;
    if (ctrl(e) && e.key === 'Enter') {
      e.preventDefault();
      if (!this.readOnly) this.save();
    }
  }
}
