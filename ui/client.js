// Client modules: the project's JavaScript (client/task.js, client/<item>.js) and the client API
// it is written against, with Jam.py's names and meaning (docs/client-modules.md).
//
// The server serves each module as an ES module from this origin (`GET /api/client/<name>.js`)
// whose default export binds the author's top-level functions; nothing is ever `eval`ed. Every
// call into author code goes through `call()`: a handler that throws is reported (console and a
// message that stays) and the UI goes on as if it were not there.
//
// The API's objects:
// - `task`: the task (`task.<item>`, `task.user_info`, messages); task.js's handlers are its own.
// - `ClientItem`: an item and a dataset of its records (a form's record, a view's page, a detail
//   form's rows, or a copy the author opens), with its fields as `item.<field>`.
// - `ClientField`: `value`, `lookup_value`, `display_text`, … of the item's current record.
// Forms bind an item (`binding`) so that a value set by code shows in its input, and a value the
// user enters reaches the field (and `on_field_changed`).

import { h } from './dom.js';
import { Modal, ask, toast } from './dialog.js';
import { displayText, formatNumber, today, now } from './format.js';
import * as api from './api.js';

const STATE_BROWSE = 'browse';
const STATE_INSERT = 'insert';
const STATE_EDIT = 'edit';

/** The runtime of one page: the task object and the handlers of every module. */
export class ClientRuntime {
  constructor(app, meta) {
    this.app = app;
    this.meta = meta;
    this.modules = new Map(); // name → {handlers}
    this.task = new ClientTask(this);
  }

  /** Imports the modules the server lists for this session. A module that fails is reported. */
  async load(names) {
    await Promise.all(names.map(async (name) => {
      let handlers = {};
      try {
        const mod = await import(`/api/client/${encodeURIComponent(name)}.js`);
        handlers = mod.default(this.task) || {};
      } catch (err) {
        report(err, `client/${name}.js`);
      }
      this.modules.set(name, clean(handlers));
    }));
    Object.assign(this.task, this.modules.get('task') || {});
    // The task's items were made before their modules came.
    for (const item of this.task.items) bindHandlers(item, this.handlers(item.item_name));
  }

  handlers(itemName) {
    return this.modules.get(itemName) || {};
  }

  /** A new item object of `meta` (an ItemMeta), bound to nothing. */
  item(meta, options = {}) {
    return new ClientItem(this, meta, options);
  }

  /**
   * Fires a form event as Jam.py does: the task's handler first, then the item's; a handler that
   * returns true stops the rest. `close_query` goes the other way and stops at the first answer.
   */
  formEvent(item, event) {
    const name = `on_${event}`;
    if (event.endsWith('close_query')) {
      for (const target of [item, this.task]) {
        const answer = call(target, name, item, [item]);
        if (answer !== undefined) return answer;
      }
      return undefined;
    }
    if (call(this.task, name, this.task, [item]) === true) return true;
    return call(item, name, item, [item]);
  }
}

/** A module's functions become the item's methods (`item.calc(item)`), but never hide a field. */
function bindHandlers(item, handlers) {
  for (const [name, fn] of Object.entries(handlers)) {
    if (!(item[name] instanceof ClientField)) item[name] = fn;
  }
}

/** Only the functions a module defines (the wrapper answers undefined for the rest). */
function clean(handlers) {
  return Object.fromEntries(Object.entries(handlers).filter(([, f]) => typeof f === 'function'));
}

/**
 * Calls `target[name]` (an author's handler) with `self` as `this`. A throw, or a rejected
 * promise, is reported and answers undefined; the UI goes on.
 */
export function call(target, name, self, args) {
  const fn = target && target[name];
  if (typeof fn !== 'function') return undefined;
  try {
    const result = fn.apply(self, args);
    if (result && typeof result.then === 'function') {
      result.then(null, (err) => report(err, moduleOf(target), name));
    }
    return result;
  } catch (err) {
    report(err, moduleOf(target), name);
    return undefined;
  }
}

function moduleOf(target) {
  const name = target && target.item_name;
  return name ? `client/${name}.js` : 'a client module';
}

/** An author's error, for the author: in the console with its stack, and on the page. */
export function report(err, where, handler = null) {
  const what = handler ? `${where}: ${handler}` : where;
  console.error(`jamrs: ${what} failed:`, err);
  toast(err && err.message ? err.message : String(err), { kind: 'error', title: `Client module error (${what})` });
}

// ---------------------------------------------------------------------------------------------
// Messages (Jam.py's alert, warning, question, yes_no_cancel, message), shared by task and items.

const messages = {
  alert(message) {
    toast(String(message), { kind: 'info' });
  },
  alert_error(message) {
    toast(message && message.message ? message.message : String(message), { kind: 'error' });
  },
  alert_success(message) {
    toast(String(message), { kind: 'success' });
  },
  warning(message, callback) {
    ask(String(message), { title: 'Warning', buttons: [{ key: 'ok', label: 'OK', kind: 'primary' }] })
      .then(() => callback && callback());
  },
  question(message, yes, no) {
    ask(String(message), {
      title: 'Question',
      buttons: [{ key: 'yes', label: 'Yes', kind: 'primary' }, { key: 'no', label: 'No' }],
    }).then((a) => (a === 'yes' ? yes && yes() : no && no()));
  },
  yes_no_cancel(message, yes, no, cancel) {
    ask(String(message), {
      title: 'Question',
      buttons: [
        { key: 'yes', label: 'Yes', kind: 'primary' }, { key: 'no', label: 'No' }, { key: 'cancel', label: 'Cancel' },
      ],
    }).then((a) => {
      if (a === 'yes') { if (yes) yes(); } else if (a === 'no') { if (no) no(); } else if (cancel) cancel();
    });
  },
  /**
   * A dialog with `mess` (text, or a DOM node the author built: never parsed as HTML) and
   * `options.buttons` (`{caption: callback}`), `title`, `width`. Returns the dialog element.
   */
  message(mess, options = {}) {
    const modal = new Modal({ title: options.title || '', className: 'modal-small modal-message' });
    if (options.width) {
      modal.el.classList.add('modal-sized');
      modal.el.style.setProperty('--form-width', `${Number(options.width)}px`);
    }
    modal.body.append(mess instanceof Node ? mess : h('p', { class: 'question-text' }, String(mess ?? '')));
    for (const [caption, fn] of Object.entries(options.buttons || {})) {
      modal.footer.append(h('button', {
        type: 'button', class: 'btn', onclick: () => {
          modal.close();
          if (typeof fn === 'function') call({ fn, item_name: 'message' }, 'fn', null, []);
        },
      }, caption));
    }
    if (!options.buttons || options.close_button !== false) {
      modal.footer.append(h('button', { type: 'button', class: 'btn btn-primary', onclick: () => modal.close() }, 'Close'));
    }
    modal.open();
    return modal.el;
  },
};

// ---------------------------------------------------------------------------------------------

class ClientTask {
  constructor(runtime) {
    Object.defineProperty(this, '_runtime', { value: runtime });
    this.item_name = 'task';
    this.item_caption = runtime.meta.task.caption;
    this.ID = 0;
    this.user_info = runtime.meta.user || {};
    this.safe_mode = runtime.meta.safeMode;
    this.language = runtime.meta.task.language;
    this.items = [];
    for (const meta of runtime.meta.items.values()) {
      const item = new ClientItem(runtime, meta);
      this.items.push(item);
      if (!(meta.name in this)) this[meta.name] = item;
    }
  }

  item_by_name(name) {
    return this.items.find((i) => i.item_name === name) || null;
  }
}
Object.assign(ClientTask.prototype, messages);

// ---------------------------------------------------------------------------------------------

/** The empty value of a type, as Jam.py's `value` gives for NULL. */
function empty(type) {
  switch (type) {
    case 'integer': case 'float': case 'currency': return 0;
    case 'boolean': return false;
    case 'date': case 'datetime': return null;
    default: return '';
  }
}

export class ClientField {
  constructor(owner, meta) {
    Object.defineProperty(this, 'owner', { value: owner });
    Object.defineProperty(this, 'meta', { value: meta });
    this.field_name = meta.name;
    this.field_caption = meta.caption;
    this.field_type = meta.type;
    this.required = meta.required;
    this.field_size = meta.size || 0;
    this.lookup_values = meta.lookupValues;
    this._readOnly = null;
  }

  get record() {
    return this.owner._record();
  }

  /** The stored value (null when empty): Jam.py's `data` / `raw_value`. */
  get data() {
    const r = this.record;
    const v = r ? r[this.field_name] : undefined;
    return v === undefined ? null : v;
  }

  set data(v) {
    this.owner._set(this, v, undefined, false);
  }

  get raw_value() {
    return this.data;
  }

  /** The value, with NULL as the type's empty value (0, '', false), as in Jam.py. */
  get value() {
    const v = this.data;
    return v === null ? empty(this.field_type) : v;
  }

  set value(v) {
    this.owner._set(this, v, undefined, true);
  }

  /** Sets the value and, for a lookup, the text it shows. */
  set_value(value, lookup_value) {
    this.owner._set(this, value, lookup_value, true);
  }

  get lookup_value() {
    const r = this.record;
    if (!r) return null;
    if (this.meta.isLookup()) return r[`${this.field_name}.text`] ?? null;
    if (this.meta.lookupValues) return this.meta.list() ? this.meta.list().get(this.data) ?? null : null;
    return this.data;
  }

  set lookup_value(text) {
    const r = this.record;
    if (r && this.meta.isLookup()) {
      r[`${this.field_name}.text`] = text;
      this.owner._changed(this);
    }
  }

  /** The value as text, formatted by the locale (lookups: their text). */
  get text() {
    const r = this.record;
    return r ? displayText(this.meta, r, this.owner._keysText) : '';
  }

  /** What a grid or an input shows: `on_field_get_text` when it answers, else `text`. */
  get display_text() {
    const owner = this.owner;
    if (typeof owner.on_field_get_text === 'function' && !this._inGetText) {
      this._inGetText = true;
      try {
        const t = call(owner, 'on_field_get_text', owner, [this]);
        if (t !== undefined && t !== null) return String(t);
      } finally {
        this._inGetText = false;
      }
    }
    return this.text;
  }

  get read_only() {
    return this._readOnly ?? !this.meta.editable();
  }

  /** Read-only for the user (a form's input follows); the server's rules do not change. */
  set read_only(on) {
    this._readOnly = Boolean(on);
    if (this.owner.binding && this.owner.binding.readOnly) this.owner.binding.readOnly(this, this._readOnly);
  }

  get lookup_item() {
    const target = this.meta.lookup ? this.owner.task.item_by_name(this.meta.lookup.item) : null;
    return target ? target.copy() : null;
  }

  get visible() {
    return this.meta.visible;
  }
}

// Names an item object keeps for itself: a field or detail of one of these names is reached
// with `item.field_by_name(name)` / `item.detail_by_name(name)` only.
const RESERVED = new Set([
  'task', 'owner', 'master', 'details', 'fields', 'item_name', 'item_caption', 'rec_count', 'rec_no',
  'item_state', 'selections', 'permissions', 'view_form', 'edit_form', 'binding', 'lookup_field', 'read_only',
]);

export class ClientItem {
  constructor(runtime, meta, { master = null, rows = null, binding = null } = {}) {
    Object.defineProperty(this, '_runtime', { value: runtime });
    Object.defineProperty(this, 'meta', { value: meta });
    this.task = runtime.task;
    this.owner = runtime.task;
    this.item_name = meta.name;
    this.item_caption = meta.caption;
    this.master = master;
    this.binding = binding;
    this._rows = rows || [];
    this._recNo = this._rows.length ? 0 : -1;
    this.item_state = STATE_BROWSE;
    this.selections = [];
    this.view_form = null;
    this.edit_form = null;
    this.lookup_field = null;
    this._readOnly = false;
    this._where = {};
    this._order = null;
    this._fieldsWanted = null;
    this._keysText = new Map();
    this.fields = meta.fields.map((f) => new ClientField(this, f));
    for (const f of this.fields) {
      if (!RESERVED.has(f.field_name) && !(f.field_name in this)) this[f.field_name] = f;
    }
    bindHandlers(this, runtime.handlers(meta.name));
    this.details = [];
    this.permissions = {
      can_view: meta.can('view'), can_create: meta.can('create'), can_edit: meta.can('edit'), can_delete: meta.can('delete'),
    };
  }

  // --- identity and metadata

  field_by_name(name) {
    return this.fields.find((f) => f.field_name === name) || null;
  }

  detail_by_name(name) {
    return this.details.find((d) => d.item_name === name) || null;
  }

  /** Adds a detail item object (a form's detail list) as `item.<detail>`. */
  _addDetail(detail) {
    this.details.push(detail);
    if (!RESERVED.has(detail.item_name) && !(detail.item_name in this && !(this[detail.item_name] instanceof ClientField))) {
      this[detail.item_name] = detail;
    }
  }

  can_view() { return this.permissions.can_view; }
  can_create() { return this.permissions.can_create && !this.read_only; }
  can_edit() { return this.permissions.can_edit && !this.read_only; }
  can_delete() { return this.permissions.can_delete && !this.read_only; }

  get read_only() {
    return this._readOnly;
  }

  set read_only(on) {
    this._readOnly = Boolean(on);
    if (this.binding && this.binding.formReadOnly) this.binding.formReadOnly(this._readOnly);
  }

  // --- the dataset

  _record() {
    return this._rows[this._recNo] || null;
  }

  get rec_count() {
    return this._rows.length;
  }

  record_count() {
    return this._rows.length;
  }

  get rec_no() {
    return this._recNo;
  }

  set rec_no(n) {
    if (this.is_changing()) throw new Error(`${this.item_name}: post or cancel before moving to another record`);
    if (n >= 0 && n < this._rows.length) this._recNo = n;
  }

  first() { this.rec_no = 0; }
  last() { this.rec_no = this._rows.length - 1; }
  next() { if (this._recNo < this._rows.length) this._recNo += 1; }
  prior() { if (this._recNo >= 0) this._recNo -= 1; }
  eof() { return this._recNo >= this._rows.length || this._rows.length === 0; }
  bof() { return this._recNo < 0 || this._rows.length === 0; }

  /** `fn(item, index)` on each record in turn (the item is positioned on it); false stops. */
  each(fn) {
    const keep = this._recNo;
    try {
      for (let i = 0; i < this._rows.length; i += 1) {
        this._recNo = i;
        if (fn.call(this, this, i) === false) break;
      }
    } finally {
      if (!this.is_changing()) this._recNo = keep < this._rows.length ? keep : this._rows.length - 1;
    }
  }

  locate(fields, values) {
    const names = Array.isArray(fields) ? fields : [fields];
    const want = Array.isArray(fields) ? values : [values];
    const at = this._rows.findIndex((r) => names.every((n, i) => (r[n] ?? null) === (want[i] ?? null)));
    if (at >= 0) this._recNo = at;
    return at >= 0;
  }

  is_new() { return this.item_state === STATE_INSERT; }
  is_edited() { return this.item_state === STATE_EDIT; }
  is_changing() { return this.item_state !== STATE_BROWSE; }

  /** The rows as objects (a copy): what an open answered, with lookup texts as `<field>.text`. */
  get dataset() {
    return this._rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('_'))));
  }

  // --- changing records (Jam.py's append, edit, post, cancel, delete)

  append() {
    if (this.is_changing()) throw new Error(`${this.item_name}: post or cancel the record being changed first`);
    if (this.master && !this.master.is_changing()) this.master.edit();
    call(this, 'on_before_append', this, [this]);
    const row = this.binding && this.binding.newRow ? this.binding.newRow() : {};
    for (const f of this.meta.fields) {
      if (f.defaultValue === undefined || row[f.name] !== undefined) continue;
      if (f.defaultValue === 'today' && f.type === 'date') row[f.name] = today();
      else if ((f.defaultValue === 'now' || f.defaultValue === 'today') && f.type === 'datetime') row[f.name] = now();
      else row[f.name] = f.defaultValue;
    }
    this._rows.push(row);
    this._recNo = this._rows.length - 1;
    this.item_state = STATE_INSERT;
    this._buffer = null;
    call(this, 'on_after_append', this, [this]);
    if (this.binding && this.binding.appended) this.binding.appended(row);
  }

  insert() {
    this.append();
  }

  edit() {
    if (this.item_state === STATE_EDIT) return;
    if (this.is_changing()) throw new Error(`${this.item_name}: the record is being inserted`);
    const row = this._record();
    if (!row) throw new Error(`${this.item_name}: there is no record to edit`);
    if (this.master && !this.master.is_changing()) this.master.edit();
    call(this, 'on_before_edit', this, [this]);
    this._buffer = { ...row };
    this.item_state = STATE_EDIT;
    call(this, 'on_after_edit', this, [this]);
  }

  /**
   * Ends the change of the current record: `on_before_post` (a throw refuses the post: it
   * propagates to the caller, as in Jam.py), then `on_after_post`, and a detail tells its master
   * (`on_detail_changed`).
   */
  post() {
    if (!this.is_changing()) throw new Error(`${this.item_name}: post: the record is not being edited or inserted`);
    const fn = this.on_before_post;
    if (typeof fn === 'function') fn.call(this, this);
    const row = this._record();
    const wasNew = this.is_new();
    this.item_state = STATE_BROWSE;
    this._buffer = null;
    if (this.binding && this.binding.posted) this.binding.posted(row, wasNew);
    call(this, 'on_after_post', this, [this]);
    if (this.master) this.master._detailChanged(this);
  }

  cancel() {
    if (!this.is_changing()) return;
    call(this, 'on_before_cancel', this, [this]);
    const row = this._record();
    if (this.is_new()) {
      this._rows.splice(this._recNo, 1);
      this._recNo = Math.min(this._recNo, this._rows.length - 1);
      if (this.binding && this.binding.cancelled) this.binding.cancelled(row, true);
    } else if (this._buffer && row) {
      for (const k of Object.keys(row)) if (!(k in this._buffer)) delete row[k];
      Object.assign(row, this._buffer);
      if (this.binding && this.binding.cancelled) this.binding.cancelled(row, false);
    }
    this.item_state = STATE_BROWSE;
    this._buffer = null;
    call(this, 'on_after_cancel', this, [this]);
  }

  delete() {
    const row = this._record();
    if (!row) throw new Error(`${this.item_name}: there is no record to delete`);
    if (this.master && !this.master.is_changing()) this.master.edit();
    call(this, 'on_before_delete', this, [this]);
    this._rows.splice(this._recNo, 1);
    this._recNo = Math.min(this._recNo, this._rows.length - 1);
    this.item_state = STATE_BROWSE;
    if (this.binding && this.binding.deleted) this.binding.deleted(row);
    call(this, 'on_after_delete', this, [this]);
    if (this.master) this.master._detailChanged(this);
  }

  /**
   * The text a grid shows for `name` in `row` (one of this item's records): the module's
   * `on_field_get_text` when it answers, else null (the grid's own text).
   */
  _textAt(row, name) {
    if (typeof this.on_field_get_text !== 'function') return null;
    const at = this._rows.indexOf(row);
    const field = this.field_by_name(name);
    if (at < 0 || !field) return null;
    const keep = this._recNo;
    this._recNo = at;
    try {
      const t = call(this, 'on_field_get_text', this, [field]);
      return t === undefined || t === null ? null : String(t);
    } finally {
      this._recNo = keep;
    }
  }

  _detailChanged(detail) {
    call(this, 'on_detail_changed', this, [this, detail]);
  }

  /** A field's value set (by code or by the user): the form shows it; `on_field_changed` runs. */
  _set(field, value, lookupValue, fire, lookupRow = null) {
    const row = this._record();
    if (!row) throw new Error(`${this.item_name}: there is no record to set ${field.field_name} on`);
    if (!this.is_changing()) throw new Error(`${this.item_name}: ${field.field_name}: the record is not being edited (call edit() or append() first)`);
    const v = value === undefined ? null : value;
    const before = row[field.field_name] ?? null;
    if (fire && before !== v) call(this, 'on_before_field_changed', this, [field]);
    row[field.field_name] = v;
    if (lookupValue !== undefined) row[`${field.field_name}.text`] = lookupValue;
    this._changed(field);
    if (fire && before !== v) {
      // For a lookup the user chose: the lookup item on the chosen record (Jam.py's lookup_item).
      let lookupItem = null;
      if (lookupRow && field.meta.lookupItem()) {
        lookupItem = new ClientItem(this._runtime, field.meta.lookupItem(), { rows: [lookupRow] });
      }
      call(this, 'on_field_changed', this, [field, lookupItem]);
    }
  }

  _changed(field) {
    if (this.binding && this.binding.changed) this.binding.changed(field, this._record());
  }

  // --- the server

  copy() {
    return new ClientItem(this._runtime, this.meta, {});
  }

  set_where(where) {
    this._where = { ...(where || {}) };
  }

  set_order_by(...fields) {
    this._order = fields.flat().map((f) => (f.startsWith('-') ? [f.slice(1), true] : [f, false]));
  }

  set_fields(...fields) {
    this._fieldsWanted = fields.flat();
  }

  /**
   * Opens the item's records from the server: `options` as Jam.py's (`where`, `order_by`,
   * `fields`, `limit`, `offset`, `open_empty`, and jamrs's `filters`, `funcs`, `group_by`).
   * With a callback (or `options.async`) it answers a promise and calls `callback(item)`; without,
   * it waits, as Jam.py's synchronous open does.
   */
  open(options = {}, callback = null) {
    if (typeof options === 'function') {
      callback = options;
      options = {};
    }
    if (options.open_empty) {
      this._load([]);
      if (callback) callback.call(this, this);
      return Promise.resolve(this);
    }
    const params = this._openParams(options);
    const path = `/api/items/${encodeURIComponent(this.item_name)}/open`;
    const done = (data) => {
      this._load(data.rows.map((row) => Object.fromEntries(data.fields.map((f, i) => [f, row[i]]))));
      call(this, 'on_after_open', this, [this]);
      call({ fn: callback, item_name: this.item_name }, 'fn', this, [this]);
      return this;
    };
    if (callback || options.async) return this._post(path, params).then(done);
    return done(syncPost(path, params));
  }

  _openParams(options) {
    const where = { ...this._where, ...(options.where || {}) };
    const filters = Object.entries(where).map(([k, v]) => {
      const [name, op] = k.split('__');
      return [name, op || 'eq', v];
    });
    const p = { expanded: options.expanded !== false, filters: [...filters, ...(options.filters || [])] };
    const order = options.order_by ? [].concat(options.order_by).map((f) => (f.startsWith('-') ? [f.slice(1), true] : [f, false])) : this._order;
    if (order) p.order = order;
    const fields = options.fields || this._fieldsWanted;
    if (fields) p.fields = fields;
    for (const k of ['limit', 'offset', 'funcs', 'group_by', 'search', 'master']) if (options[k] !== undefined) p[k] = options[k];
    return p;
  }

  _load(rows) {
    this._rows = rows;
    this._recNo = rows.length ? 0 : -1;
    this.item_state = STATE_BROWSE;
  }

  _post(path, body) {
    return fetch(path, {
      method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    }).then(async (res) => {
      const data = await res.json().catch(() => null);
      if (!res.ok) throw apiError(res.status, data);
      return data;
    });
  }

  /**
   * Calls `func`, a function of the item's server module that it lists in `callable`:
   * `item.server('f', [args])` waits for the result (Jam.py's synchronous call);
   * `item.server('f', [args], callback)` calls `callback(result, error)` and answers a promise.
   */
  server(func, args = [], callback = null) {
    if (typeof args === 'function') {
      callback = args;
      args = [];
    }
    const path = `/api/items/${encodeURIComponent(this.item_name)}/call/${encodeURIComponent(func)}`;
    const body = { args: Array.isArray(args) ? args : [args] };
    if (callback) {
      return this._post(path, body).then(
        (data) => {
          call({ fn: callback, item_name: this.item_name }, 'fn', this, [data.result, null]);
          return data.result;
        },
        (err) => {
          call({ fn: callback, item_name: this.item_name }, 'fn', this, [null, err.message]);
          throw err;
        },
      );
    }
    return syncPost(path, body).result;
  }

  // --- forms

  /**
   * A button in the view form's toolbar (Jam.py's add_view_button). Returns the <button>; its
   * `click(fn)` and `on('click', fn)` add a handler, as with Jam.py's jQuery object.
   */
  add_view_button(text, options = {}) {
    return this._addButton('view', text, options);
  }

  /** A button in the edit form's footer (Jam.py's add_edit_button). */
  add_edit_button(text, options = {}) {
    return this._addButton('edit', text, options);
  }

  _addButton(where, text, options) {
    const host = this.binding && this.binding.buttons ? this.binding.buttons(where) : null;
    const button = h('button', {
      type: 'button', class: `btn ${options.btn_class || ''} client-button`, dataset: { clientButton: text },
    }, String(text));
    const owner = this.item_name;
    const on = (fn) => button.addEventListener('click', (e) => call({ fn, item_name: owner }, 'fn', button, [e]));
    Object.defineProperty(button, 'click', {
      value: (fn) => {
        if (typeof fn === 'function') on(fn);
        else HTMLElement.prototype.click.call(button);
        return button;
      },
    });
    button.on = (event, fn) => {
      if (event === 'click') on(fn);
      else button.addEventListener(event, fn);
      return button;
    };
    if (host) host.append(button);
    return button;
  }

  close_edit_form() {
    if (this.binding && this.binding.closeEdit) this.binding.closeEdit();
  }

  close_view_form() {
    if (this.binding && this.binding.closeView) this.binding.closeView();
  }

  /** Refreshes the view form's page (after a server function changed its records). */
  refresh_page(callback) {
    if (this.binding && this.binding.refresh) return this.binding.refresh().then(() => callback && callback.call(this, this));
    return Promise.resolve();
  }

  calc_summary() {
    // Totals rows are computed by the server (view) and by the detail grid itself.
  }
}
Object.assign(ClientItem.prototype, messages);

function apiError(status, data) {
  const e = data && data.error ? data.error : { code: 'internal', message: `The server answered ${status}.` };
  return new api.ApiError(status, e.code, e.message, e.fields || []);
}

/**
 * A synchronous POST, for Jam.py code that calls `open()` or `server()` without a callback and
 * uses the answer on the next line. (The browser warns that a synchronous request blocks the
 * page: the async forms, with a callback, are better.)
 */
function syncPost(path, body) {
  const xhr = new XMLHttpRequest();
  xhr.open('POST', path, false);
  xhr.setRequestHeader('Content-Type', 'application/json');
  xhr.send(JSON.stringify(body));
  let data = null;
  try {
    data = JSON.parse(xhr.responseText);
  } catch {
    data = null;
  }
  if (xhr.status < 200 || xhr.status >= 300) throw apiError(xhr.status, data);
  return data;
}

export { STATE_BROWSE, STATE_EDIT, STATE_INSERT, formatNumber };
