// The filter form of a view: one input per visible filter of the item (its `[[filters]]`), shaped
// by the filter's type — two inputs for a range, several keys for IN / NOT IN, a yes/no list for
// booleans and ISNULL, text for the text comparisons — and the active filters as removable chips.

import { h, uid } from './dom.js';
import { Modal } from './dialog.js';
import { displayText, formatDate, formatDateTime, fromDateTimeInput, parseNumber, toDateTimeInput, formatNumberInput } from './format.js';
import { LookupInput, MultiLookup } from './lookup.js';

const TEXT_OPS = new Set(['contains', 'startwith', 'endwith', 'contains_all', 'exact']);
const OP_WORDS = {
  eq: '', ne: 'not', lt: '<', le: '≤', gt: '>', ge: '≥', in: '', not_in: 'not', range: '',
  isnull: '', exact: '', contains: '', startwith: 'starts with', endwith: 'ends with', contains_all: '',
};

export class FilterSet {
  constructor(app, item) {
    this.app = app;
    this.item = item;
    this.filters = item.filters.filter((f) => f.visible && item.field(f.field));
    this.state = new Map();
  }

  hasFilters() {
    return this.filters.length > 0;
  }

  active() {
    return this.filters.filter((f) => this.state.has(f.name)).map((f) => ({ filter: f, ...this.state.get(f.name) }));
  }

  /** `[field, type number, value]` triples for an open. */
  serverFilters() {
    return this.active().map(({ filter, value }) => [filter.field, filter.number, value]);
  }

  remove(name) {
    this.state.delete(name);
  }

  clear() {
    this.state.clear();
  }

  /** Opens the filter form; resolves to true when the user applied it. */
  edit() {
    return new Promise((resolve) => {
      let applied = false;
      const modal = new Modal({
        title: `Filters — ${this.item.caption}`, className: 'modal-filters',
        onClosed: () => resolve(applied),
      });
      const inputs = this.filters.map((f) => filterInput(this.app, this.item, f, this.state.get(f.name)));
      const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
      const form = h('form', { class: 'filter-form', novalidate: true },
        inputs.map((i) => i.row), error);
      const apply = () => {
        const next = new Map();
        for (const input of inputs) {
          const read = input.read();
          if (read && read.error) {
            error.textContent = `${input.filter.caption}: ${read.error}`;
            error.hidden = false;
            input.focus();
            return;
          }
          if (read) next.set(input.filter.name, read);
        }
        this.state = next;
        applied = true;
        modal.close();
      };
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        apply();
      });
      modal.body.append(form);
      modal.footer.append(
        h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => inputs.forEach((i) => i.reset()) }, 'Clear all'),
        h('button', { type: 'button', class: 'btn btn-primary', onclick: apply }, 'Apply'),
        h('button', { type: 'button', class: 'btn', onclick: () => modal.close() }, 'Cancel'),
      );
      // Enter in any input or list applies the form (a <select> would not submit it by itself).
      modal.onKey = (e) => {
        const t = e.target;
        if (e.key === 'Enter' && (e.ctrlKey || e.metaKey || t.tagName === 'SELECT' || (t.tagName === 'INPUT' && t.type !== 'button'))) {
          e.preventDefault();
          apply();
        }
      };
      modal.open();
      if (inputs[0]) inputs[0].focus();
    });
  }
}

/** `{row, read() → {value, text} | null | {error}, reset(), focus()}` for one filter. */
function filterInput(app, item, filter, current) {
  const field = item.field(filter.field);
  const id = uid('filter');
  const onLookup = filter.type.endsWith('_l');
  const op = onLookup ? filter.type.slice(0, -2) : filter.type;
  const help = filter.help ? h('small', { class: 'field-help', id: `${id}-help` }, filter.help) : null;
  const label = h('label', { for: id }, filter.caption);
  let control;

  if (op === 'isnull') {
    control = select(id, [['', 'Any'], ['true', 'Empty'], ['false', 'Not empty']], current ? String(current.value) : '');
    control.read = () => (control.value === '' ? null : {
      value: control.value === 'true', text: control.value === 'true' ? 'empty' : 'not empty',
    });
  } else if (onLookup || TEXT_OPS.has(op) || (field.type === 'text' || field.type === 'longtext')) {
    control = h('input', { id, type: 'text', placeholder: filter.placeholder || '', value: current ? current.value : '' });
    if (op === 'in' || op === 'not_in') {
      control.placeholder = filter.placeholder || 'Values separated by commas';
      control.value = current ? current.value.join(', ') : '';
      control.read = () => {
        const list = control.value.split(',').map((s) => s.trim()).filter(Boolean);
        return list.length ? { value: list, text: list.join(', ') } : null;
      };
    } else {
      control.read = () => (control.value.trim() ? { value: control.value.trim(), text: `“${control.value.trim()}”` } : null);
    }
  } else if ((op === 'in' || op === 'not_in') && field.isLookup()) {
    const multi = new MultiLookup(app, field, {
      id, values: current ? current.value : [], texts: current ? current.texts : new Map(),
      selectAll: Boolean(filter.multi_select_all),
    });
    control = multi.el;
    control.focusTarget = multi.adder.input;
    control.read = () => {
      const values = multi.get();
      if (!values.length) return null;
      const texts = new Map(values.map((v, i) => [v, multi.texts()[i]]));
      return { value: values, texts, text: multi.texts().join(', ') };
    };
    control.reset = () => multi.set([], new Map());
  } else if ((op === 'in' || op === 'not_in') && field.list()) {
    const chosen = new Set(current ? current.value : []);
    const boxes = [...field.list()].map(([value, text]) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', value: String(value), checked: chosen.has(value) }), text));
    control = h('div', { class: 'check-group', role: 'group', 'aria-labelledby': `${id}-label` }, boxes);
    control.read = () => {
      const on = boxes.map((b) => b.firstChild).filter((c) => c.checked);
      return on.length ? { value: on.map((c) => Number(c.value)), text: on.map((c) => c.parentNode.textContent).join(', ') } : null;
    };
    control.reset = () => boxes.forEach((b) => { b.firstChild.checked = false; });
    control.focusTarget = boxes[0] ? boxes[0].firstChild : null;
    label.removeAttribute('for');
    label.id = `${id}-label`;
  } else if (op === 'range') {
    const a = valueInput(`${id}`, field, current ? current.value[0] : null, `${filter.caption}, from`);
    const b = valueInput(`${id}-to`, field, current ? current.value[1] : null, `${filter.caption}, to`);
    control = h('div', { class: 'range' }, a.el, h('span', { 'aria-hidden': 'true' }, '–'), b.el);
    control.read = () => {
      const x = a.read();
      const y = b.read();
      if (x && x.error) return x;
      if (y && y.error) return y;
      if (!x && !y) return null;
      if (!x || !y) return { error: 'give both ends of the range' };
      return { value: [x.value, y.value], text: `${x.text} – ${y.text}` };
    };
    control.reset = () => {
      a.reset();
      b.reset();
    };
    control.focusTarget = a.el;
  } else if (field.isLookup()) {
    const lookup = new LookupInput(app, field, {
      id, value: current ? current.value : null, text: current ? current.text : '', typeahead: true,
    });
    control = lookup.el;
    control.focusTarget = lookup.input;
    control.read = () => (lookup.get() === null ? null : { value: lookup.get(), text: lookup.text });
    control.reset = () => lookup.set(null, '');
  } else {
    const v = valueInput(id, field, current ? current.value : null);
    control = v.el;
    control.read = v.read;
    control.reset = v.reset;
  }
  if (help) (control.focusTarget || control).setAttribute('aria-describedby', help.id);
  const word = OP_WORDS[op] || '';
  const row = h('div', { class: 'field' }, label, control, help);
  return {
    filter,
    row,
    read: () => {
      const r = control.read();
      if (!r || r.error) return r;
      return { ...r, text: word ? `${word} ${r.text}` : r.text };
    },
    reset: control.reset || (() => {
      if (control.tagName === 'SELECT') control.value = '';
      else control.value = '';
    }),
    focus: () => (control.focusTarget || control).focus(),
  };
}

function select(id, options, value) {
  return h('select', { id }, options.map(([v, t]) => h('option', { value: v, selected: v === value }, t)));
}

/** An input for one value of `field`'s type: `{el, read, reset}`. */
function valueInput(id, field, value, aria = null) {
  const list = field.list();
  let el;
  if (list) {
    el = select(id, [['', 'Any'], ...[...list].map(([v, t]) => [String(v), t])], value === null ? '' : String(value));
    el.read = () => (el.value === '' ? null : { value: Number(el.value), text: list.get(Number(el.value)) });
  } else if (field.type === 'boolean') {
    el = select(id, [['', 'Any'], ['true', 'Yes'], ['false', 'No']], value === null ? '' : String(value));
    el.read = () => (el.value === '' ? null : { value: el.value === 'true', text: el.value === 'true' ? 'yes' : 'no' });
  } else if (field.type === 'date') {
    el = h('input', { id, type: 'date', value: value || '' });
    el.read = () => (el.value ? { value: el.value, text: formatDate(el.value) } : null);
  } else if (field.type === 'datetime') {
    el = h('input', { id, type: 'datetime-local', step: '1', value: toDateTimeInput(value) });
    el.read = () => {
      const v = fromDateTimeInput(el.value);
      return v ? { value: v, text: formatDateTime(v) } : null;
    };
  } else if (field.isNumeric()) {
    el = h('input', { id, type: 'text', inputmode: field.type === 'integer' ? 'numeric' : 'decimal', value: formatNumberInput(value, field.type) });
    el.read = () => {
      const r = parseNumber(el.value, field.type);
      if (r.error) return { error: r.error };
      return r.value === null ? null : { value: r.value, text: displayText(field, { [field.name]: r.value }) };
    };
  } else {
    el = h('input', { id, type: 'text', value: value || '' });
    el.read = () => (el.value.trim() ? { value: el.value.trim(), text: el.value.trim() } : null);
  }
  if (aria) el.setAttribute('aria-label', aria);
  return {
    el,
    read: el.read,
    reset: () => {
      el.value = '';
    },
  };
}
