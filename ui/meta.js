// The task's metadata as `GET /api/task` sends it, with the questions the UI asks of it.
// Everything the server leaves out (items the role cannot view, prohibited fields) is simply
// not here, so the UI cannot show it.

export class Meta {
  constructor(json) {
    this.json = json;
    this.user = json.user;
    this.safeMode = json.safe_mode;
    this.task = json.task;
    this.groups = json.groups;
    this.items = new Map(json.items.map((i) => [i.name, new ItemMeta(i, this)]));
    this.lists = new Map(json.lookup_lists.map((l) => [l.name, new Map(l.values)]));
    this.privileges = json.privileges;
  }

  item(name) {
    return this.items.get(name) || null;
  }

  /** Menu groups with the items the role may view, leaving out invisible groups and items. */
  menu() {
    return this.groups
      .filter((g) => g.visible)
      .map((g) => ({
        name: g.name,
        caption: g.caption,
        items: g.items.map((n) => this.item(n)).filter((i) => i && i.visible && i.can('view')),
      }))
      .filter((g) => g.items.length > 0);
  }
}

export class ItemMeta {
  constructor(json, meta) {
    this.meta = meta;
    this.name = json.name;
    this.caption = json.caption;
    this.visible = json.visible;
    this.pk = json.primary_key;
    // Keyed by a text the client chooses (a table jamrs did not create): the key is shown, and
    // typed into a new record's form.
    this.textKey = Boolean(json.text_key);
    this.masters = json.masters;
    this.details = json.details;
    this.masterLink = json.master_link || [];
    this.fields = json.fields.map((f) => new FieldMeta(f, this));
    this.filters = json.filters;
    this.defaultOrder = json.default_order;
    this.summaryFields = json.summary_fields || null;
    // The author's layouts ([view], [edit]); null parts keep the defaults.
    this.view = json.view || null;
    this.edit = json.edit || null;
    // History and record locking (history.js, lock.js).
    this.keepHistory = Boolean(json.keep_history);
    this.recordVersion = json.record_version || null;
  }

  field(name) {
    return this.fields.find((f) => f.name === name) || null;
  }

  /** `can('view' | 'create' | 'edit' | 'delete')`. */
  can(what) {
    const p = this.meta.privileges[this.name];
    return Boolean(p && p[`can_${what}`]);
  }

  /** Fields shown in grids and forms: visible, and not the link to a master. */
  shownFields() {
    return this.fields.filter((f) => f.visible && (f.name !== this.pk || this.textKey) && !this.masterLink.includes(f.name));
  }

  /** The grid's columns: the `[view]` layout's fields, or else the shown fields. */
  viewFields() {
    if (this.view && this.view.fields) return this.view.fields.map((n) => this.field(n)).filter(Boolean);
    return this.shownFields();
  }

  /** A column's width from the layout (pixels), or null for the grid's default. */
  columnWidth(field) {
    return (this.view && this.view.widths && this.view.widths[field.name]) || null;
  }

  /** Whether a column's header sorts: the layout's `sort_fields`, or every column. */
  sortable(field) {
    return !(this.view && this.view.sort_fields) || this.view.sort_fields.includes(field.name);
  }

  /**
   * The edit form as tabs of bands: `[{caption, bands: [{caption, columns, fields}]}]`. Without an
   * `[edit]` layout, one tab of one band with every shown field.
   */
  editTabs() {
    const tabs = this.edit && this.edit.tabs;
    if (!tabs) return [{ caption: null, bands: [{ caption: null, columns: null, fields: this.shownFields() }] }];
    return tabs.map((t) => ({
      caption: t.caption,
      bands: t.bands.map((b) => ({ ...b, fields: b.fields.map((n) => this.field(n)).filter(Boolean) })),
    }));
  }

  /** The fields of the edit form, in layout order. */
  editFields() {
    return this.editTabs().flatMap((t) => t.bands.flatMap((b) => b.fields));
  }

  /** The details the edit form shows (the layout's `details`, or every detail the role may view). */
  editDetails() {
    const all = this.detailItems();
    if (this.edit && this.edit.details) return this.edit.details.map((n) => all.find((d) => d.name === n)).filter(Boolean);
    return all;
  }

  /** Fields that may be searched: text, and the texts of lookups and lookup lists. */
  searchFields() {
    const fields = this.shownFields();
    for (const f of this.viewFields()) if (!fields.includes(f)) fields.push(f);
    return fields.filter((f) => f.searchable());
  }

  /** The search box's first field: the layout's `search_field`, else the first searchable. */
  defaultSearchField() {
    const name = this.view && this.view.search_field;
    const fields = this.searchFields();
    return fields.find((f) => f.name === name) || fields[0] || null;
  }

  /**
   * What the totals row shows, as `[{field, func}]`: the author's `summary_fields` (Jam.py's
   * Summary fields: a 'sum' for a number, a 'count' of records for anything else), or else the
   * currency fields' sums. A sum of keys, list values, rates or ids means nothing, so no other
   * field is summed unless the author marks it.
   */
  summary() {
    const shown = this.viewFields();
    if (this.summaryFields) {
      return this.summaryFields.map((n) => shown.find((f) => f.name === n)).filter(Boolean)
        .map((field) => ({ field, func: field.summable() ? 'sum' : 'count' }));
    }
    return shown.filter((f) => f.type === 'currency' && f.summable()).map((field) => ({ field, func: 'sum' }));
  }

  /** The detail items of this item the role may view. */
  detailItems() {
    return this.details.map((d) => this.meta.item(d)).filter(Boolean);
  }
}

export class FieldMeta {
  constructor(json, item) {
    this.item = item;
    this.name = json.name;
    this.caption = json.caption;
    this.type = json.type;
    this.required = json.required;
    this.readOnly = json.read_only;
    this.visible = json.visible;
    this.size = json.size;
    this.defaultValue = json.default_value;
    this.alignment = json.alignment;
    this.help = json.help;
    this.placeholder = json.placeholder;
    this.typeahead = Boolean(json.typeahead);
    this.lookup = json.lookup || null;
    this.lookupValues = json.lookup_values || null;
    this.masterField = json.master_field || null;
    this.calc = json.calc || null;
    this.serverSet = Boolean(json.server_set);
    // A file or image field's accept string, largest file and thumbnail sizes (files.js).
    this.file = json.file || null;
  }

  isNumeric() {
    return this.type === 'integer' || this.type === 'float' || this.type === 'currency';
  }

  /** A number whose values add up: not a lookup's key, a list's value or a master field's. */
  summable() {
    return this.isNumeric() && !this.lookup && !this.lookupValues && !this.masterField;
  }

  isKeys() {
    return this.type === 'keys' && Boolean(this.lookup);
  }

  /** A lookup to one row (not a keys list), whose text comes back as `<name>.text`. */
  isLookup() {
    return Boolean(this.lookup) && this.type !== 'keys';
  }

  /** The key a row's displayed value is under in an expanded open. */
  displayKey() {
    return this.isLookup() ? `${this.name}.text` : this.name;
  }

  /** The user may type into it (role, metadata and server-owned fields all allow). */
  editable() {
    return !this.readOnly && !this.serverSet && !this.calc && !this.masterField &&
      !this.item.masterLink.includes(this.name) && this.name !== this.item.pk;
  }

  /** The text key of an item keyed by text, which a new record's form asks for. */
  isNewKey() {
    return this.item.textKey && this.name === this.item.pk;
  }

  searchable() {
    if (this.isLookup()) return true;
    if (this.lookupValues) return true;
    return this.type === 'text' || this.type === 'longtext';
  }

  lookupItem() {
    return this.lookup ? this.item.meta.item(this.lookup.item) : null;
  }

  list() {
    return this.lookupValues ? this.item.meta.lists.get(this.lookupValues) : null;
  }

  align() {
    if (this.alignment) return this.alignment;
    if (this.type === 'boolean') return 'center';
    if (this.isNumeric() && !this.lookup && !this.lookupValues) return 'right';
    return 'left';
  }
}

/**
 * How the lookup item shows the text of a lookup with `path` (`lookup.path`): the lookup item's
 * field `path[0]` when the path has one step, else the field of the lookup item whose own lookup
 * text follows the rest of the path (a lookup field, or a master-field field, as the demo's
 * `tracks.artist`). Returns the key in an expanded row of the lookup item, or null.
 */
export function textKeyIn(lookupItem, path) {
  if (!lookupItem) return null;
  if (path.length === 1) {
    const f = lookupItem.field(path[0]);
    return f ? f.displayKey() : null;
  }
  const rest = path.slice(1).join('/');
  const f = lookupItem.fields.find((g) => g.lookup && (g.name === path[0] || g.masterField === path[0]) &&
    g.lookup.path.join('/') === rest);
  return f ? f.displayKey() : null;
}
