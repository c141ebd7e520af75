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
import { createInput } from './inputs.js';
import { DetailList } from './details.js';
import { call } from './client.js';
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
 * Edits the current record of `ci` (a detail's item object, in edit or insert state) in the
 * browser. OK posts it (`ci.post()`), closing otherwise cancels it. Resolves to true when posted.
 */
export function openLocalForm(app, item, { ci, editable = true, keysText, title }) {
  return new Promise((resolve) => {
    const form = new EditForm(app, item, {
      ci, mode: 'local', editable, keysText, title, onDone: (result) => resolve(Boolean(result)),
    });
    form.open();
  });
}

/** Edit forms now open, so leaving the page can warn about unsaved changes. */
export const openForms = new Set();

export class EditForm {
  constructor(app, item, { row = null, ci = null, mode, onSaved = null, onDone = null, editable = null, keysText = null, title = null }) {
    this.app = app;
    this.item = item;
    this.mode = mode;
    this.onSaved = onSaved;
    this.onDone = onDone;
    this.keysText = keysText || new Map();
    this.inputs = new Map();
    this.details = [];
    this.saving = false;
    this.result = null;
    if (mode === 'server') {
      // The record as the client API's item: a new one is appended (defaults, on_before_append,
      // on_after_append), an existing one is edited (on_before_edit, on_after_edit).
      this.isNew = !row;
      this.readOnly = !item.can(this.isNew ? 'create' : 'edit');
      this.ci = app.runtime.item(item, { rows: row ? [{ ...row }] : [], binding: this.binding() });
      if (this.isNew) this.ci.append();
      else if (!this.readOnly) this.ci.edit();
    } else {
      // A detail row: its item object is positioned on it by the detail list.
      this.ci = ci;
      this.ci.binding = this.binding(ci.binding);
      this.isNew = ci.is_new();
      this.readOnly = editable === false;
    }
    this.row = this.ci._record();
    // The record before the user (or code, from the form events on) changed anything.
    this.original = { ...this.row };
    this.title = title || (this.isNew ? `${item.caption} · new record` : item.caption);
  }

  /**
   * How the item object reaches this form: a value set by code shows in its input, a field made
   * read-only by code stops taking input, buttons go to the footer. `inner` is the binding of a
   * detail list the form edits a row of (it keeps its own work).
   */
  binding(inner = null) {
    const self = this;
    return {
      ...(inner || {}),
      changed(field, row) {
        if (inner && inner.changed) inner.changed(field, row);
        if (self.committing === field.field_name) return;
        const input = self.inputs.get(field.field_name);
        if (input && input.set) input.set(row[field.field_name] ?? null, row, self.keysText);
        if (input && input.setText && input.readOnly) input.setText(field.display_text);
      },
      readOnly(field, on) {
        const input = self.inputs.get(field.field_name);
        if (!input || input.readOnly) return;
        // Locked for the user; its value (perhaps set by code) is still saved.
        input.locked = on;
        if (input.lookup) input.lookup.setDisabled(on);
        else if (input.multi) input.multi.setDisabled(on);
        else if (input.el.type === 'checkbox' || input.el.tagName === 'SELECT') input.el.disabled = on;
        else input.el.readOnly = on;
        input.el.closest('.field').classList.toggle('is-readonly', on);
      },
      formReadOnly(on) {
        // `item.read_only = true` from a module: every input locked, nothing to save.
        self.lockedByCode = on;
        for (const f of self.ci.fields) this.readOnly(f, on);
        if (self.saveButton) self.saveButton.hidden = on;
      },
      buttons(where) {
        return where === 'edit' ? self.clientButtons : (inner && inner.buttons ? inner.buttons(where) : null);
      },
      closeEdit() {
        if (self.modal) self.modal.requestClose();
      },
    };
  }

  async open() {
    const item = this.item;
    const details = this.mode === 'server' ? item.editDetails() : [];
    const width = item.edit && item.edit.width;
    const page = item.edit && item.edit.modal === false && this.mode === 'server';
    this.modal = new Modal({
      title: this.title,
      className: `modal-form${details.length && !width ? ' modal-wide' : ''}${width ? ' modal-sized' : ''}${page ? ' modal-page' : ''}`,
      beforeClose: () => this.beforeClose(),
      onClosed: () => {
        openForms.delete(this);
        if (this.ci.is_changing()) this.ci.cancel();
        this.app.runtime.formEvent(this.ci, 'edit_form_closed');
        this.ci.edit_form = null;
        if (this.mode === 'local' && this.onDone) this.onDone(this.result);
        if (this.mode === 'server') this.app.formClosed(item);
      },
    });
    // The layout's width, through the CSSOM (the page's CSP allows no style attributes).
    if (width) this.modal.el.style.setProperty('--form-width', `${width}px`);
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
    this.form.append(this.banner, this.layout(item.editTabs()));
    this.modal.body.append(this.form);

    if (this.mode === 'server') {
      const master = this.isNew ? null : { item: item.name, id: this.row[item.pk] };
      for (const d of details) {
        const list = new DetailList(this.app, d, { master, readOnly: this.readOnly, masterItem: this.ci });
        this.details.push(list);
        this.modal.body.append(list.el);
      }
    }
    this.clientButtons = h('span', { class: 'client-buttons' });

    this.saveButton = h('button', {
      type: 'button', class: 'btn btn-primary', title: 'Save (Ctrl+Enter)', onclick: () => this.save(),
    }, this.mode === 'local' ? 'OK' : 'Save');
    const cancel = h('button', { type: 'button', class: 'btn', onclick: () => this.modal.requestClose() }, this.readOnly ? 'Close' : 'Cancel');
    append(this.modal.footer, [
      h('span', { class: 'modal-hint' }, this.readOnly ? 'Esc closes' : 'Ctrl+Enter saves · Esc cancels'),
      this.clientButtons,
      this.readOnly ? null : this.saveButton,
      cancel,
    ]);
    // Jam.py's order: the task's on_edit_form_created, then the item's; shown once it shows.
    this.ci.edit_form = this.modal.el;
    this.app.runtime.formEvent(this.ci, 'edit_form_created');
    // What "unchanged" means, taken before the user can type (details are unchanged until
    // their rows are loaded and edited).
    this.snapshot = this.values().values;
    this.modal.open();
    openForms.add(this);
    this.app.runtime.formEvent(this.ci, 'edit_form_shown');
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

  /**
   * The inputs laid out as the item's `[edit]` layout says: tabs (a tab bar when there are
   * several) of bands, each band a grid of its `columns`.
   */
  layout(tabs) {
    const band = (b) => h('div', { class: 'form-band' },
      b.caption ? h('h3', { class: 'band-caption' }, b.caption) : null,
      h('div', { class: `form-grid${b.columns ? ` cols-${b.columns}` : ''}` }, b.fields.map((f) => this.fieldRow(f))));
    if (tabs.length === 1) return h('div', { class: 'form-layout' }, tabs[0].bands.map(band));
    const buttons = [];
    const panels = tabs.map((t, i) => h('div', {
      class: 'form-tab-panel', role: 'tabpanel', id: uid('form-tab'), hidden: i > 0, dataset: { tab: String(i) },
    }, t.bands.map(band)));
    this.selectTab = (i, focus = false) => {
      buttons.forEach((b, j) => {
        b.setAttribute('aria-selected', i === j ? 'true' : 'false');
        b.tabIndex = i === j ? 0 : -1;
      });
      panels.forEach((p, j) => { p.hidden = i !== j; });
      if (focus) buttons[i].focus();
    };
    tabs.forEach((t, i) => {
      const b = h('button', {
        type: 'button', role: 'tab', class: 'form-tab', 'aria-controls': panels[i].id,
        'aria-selected': i === 0 ? 'true' : 'false', tabindex: i === 0 ? '0' : '-1',
        onclick: () => this.selectTab(i),
        onkeydown: (e) => {
          if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
          e.preventDefault();
          this.selectTab((i + (e.key === 'ArrowLeft' ? -1 : 1) + tabs.length) % tabs.length, true);
        },
      }, t.caption);
      buttons.push(b);
    });
    this.tabPanels = panels;
    return h('div', { class: 'form-layout' }, h('div', { class: 'form-tabs', role: 'tablist', 'aria-label': 'Form pages' }, buttons), panels);
  }

  /** Shows the tab that holds `el` (a field with an error, say). */
  revealTab(el) {
    if (!this.tabPanels) return;
    const at = this.tabPanels.findIndex((p) => p.contains(el));
    if (at >= 0 && this.tabPanels[at].hidden) this.selectTab(at);
  }

  /** Texts the inputs need that the row does not carry: keys lists, and defaults of lookups. */
  async resolveTexts() {
    for (const f of this.item.editFields()) {
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
    const editable = !this.readOnly && (f.editable() || (this.isNew && f.isNewKey()));
    const input = createInput(this.app, f, {
      id,
      value: this.row[f.name],
      row: this.row,
      keysText: this.keysText,
      editable,
      describedBy: [helpId, errorId].filter(Boolean).join(' '),
      onChange: (value, lookupRow) => {
        this.changed(f, value, lookupRow);
        if (f.isLookup() || f.isKeys()) this.commit(f.name, lookupRow);
      },
      report: (message) => (message ? this.fieldError(f.name, message) : this.clearError(f.name)),
    });
    // A value the user has entered reaches the item's field (and on_field_changed) when the
    // input commits it, as in Jam.py: on change (leaving a text box, choosing in a list).
    if (editable && !input.lookup && !input.multi) input.el.addEventListener('change', () => this.commit(f.name));
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
    // The lookup's own value and text reach the record in commit(), which fires on_field_changed.
    for (const g of this.item.fields.filter((x) => x.masterField === field.name)) {
      const text = lookupRow ? lookupText(field.lookupItem(), g.lookup.path, lookupRow) : '';
      this.row[`${g.name}.text`] = text || null;
      const input = this.inputs.get(g.name);
      if (input && input.setText) input.setText(text);
    }
  }

  /**
   * Puts input `name`'s value into the item object's record, when it reads cleanly and differs:
   * the field changes as if code had set it, and `on_field_changed` runs (with the chosen
   * lookup row as `lookup_item`), then `on_field_validate`.
   */
  commit(name, lookupRow = null) {
    const input = this.inputs.get(name);
    if (!input || input.readOnly || input.locked || !this.ci.is_changing()) return;
    const r = input.get();
    if (r.error) return;
    let v = r.value;
    if (input.multi) {
      input.multi.items.forEach((i) => this.keysText.set(i.id, i.text));
      v = v ? v.join(';') : null;
    }
    const row = this.ci._record();
    const field = this.ci.field_by_name(name);
    if (!field || (row[name] ?? null) === (v ?? null)) return;
    this.committing = name;
    try {
      this.ci._set(field, v, input.lookup ? (input.lookup.text || null) : undefined, true, lookupRow);
    } finally {
      this.committing = null;
    }
    this.validateField(field);
  }

  /** `on_field_validate(field)`: a text it answers is the field's error. */
  validateField(field) {
    const message = call(this.ci, 'on_field_validate', this.ci, [field]);
    if (typeof message === 'string' && message) {
      this.fieldError(field.field_name, message);
      return false;
    }
    return true;
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
    if (!bad) return;
    this.revealTab(bad.el);
    (bad.focusTarget || bad.el).focus();
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
    if (this.readOnly || this.lockedByCode || this.saving) return false;
    this.clearErrors();
    // What was typed and not yet committed (the user did not leave the box) reaches the fields.
    for (const name of this.inputs.keys()) this.commit(name);
    const { values, errors } = this.values();
    for (const [name, message] of Object.entries(errors)) this.fieldError(name, message);
    for (const i of this.missingRequired(values)) this.fieldError(i.field.name, 'is required');
    for (const i of this.inputs.values()) {
      if (!i.readOnly && !i.locked && i.errorEl.hidden) this.validateField(this.ci.field_by_name(i.field.name));
    }
    const marked = [...this.inputs.values()].filter((i) => !i.errorEl.hidden).length;
    if (marked) {
      this.showFieldsBanner(marked);
      this.focusFirstError();
      return false;
    }
    // on_before_post may refuse by throwing (Jam.py's way to validate a record).
    const state = this.ci.item_state;
    try {
      this.ci.post();
    } catch (err) {
      console.warn(`jamrs: ${this.item.name}: on_before_post refused the record:`, err);
      this.showBanner(err instanceof Error ? err : new Error(String(err)), 'Not saved');
      return false;
    }
    if (this.mode === 'local') {
      this.result = true;
      this.modal.close();
      return true;
    }
    const saved = await this.saveServer(values);
    if (!saved) this.ci.item_state = state;
    return saved;
  }

  /** The value of `field` as an apply sends it (a keys list as its keys). */
  static wire(field, v) {
    if (field.isKeys() && typeof v === 'string') return v.split(';').filter(Boolean).map(Number);
    return v ?? null;
  }

  async saveServer(values) {
    const item = this.item;
    const change = this.isNew ? { op: 'insert', values: {} } : { op: 'update', id: this.row[item.pk], values: {} };
    for (const [k, v] of Object.entries(values)) {
      if (this.isNew ? v !== null : JSON.stringify(v) !== JSON.stringify(this.snapshot[k])) change.values[k] = v;
    }
    // Fields a client module set that the form shows no input for.
    for (const f of item.fields) {
      if (!f.editable() || this.inputs.has(f.name)) continue;
      const v = EditForm.wire(f, this.row[f.name]);
      const before = EditForm.wire(f, this.original[f.name]);
      if (this.isNew ? v !== null : JSON.stringify(v) !== JSON.stringify(before)) change.values[f.name] = v;
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
    const params = {};
    call(this.ci, 'on_before_apply', this.ci, [this.ci, params]);
    const body = { changes: [change], expanded: true };
    if (Object.keys(params).length) body.params = params;
    this.saving = true;
    this.saveButton.disabled = true;
    this.form.setAttribute('aria-busy', 'true');
    try {
      const res = await api.apply(item.name, body);
      this.saving = false;
      this.snapshot = values;
      const result = res.changes[0];
      if (result && result.id !== undefined && result.id !== null) this.row[item.pk] = result.id;
      call(this.ci, 'on_after_apply', this.ci, [this.ci]);
      this.modal.close();
      if (this.onSaved) this.onSaved(result);
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
    if (this.app.runtime.formEvent(this.ci, 'edit_form_close_query') === false) return false;
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
