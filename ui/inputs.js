// One input per field type for the edit form: text (with its size), long text as a textarea,
// numbers typed and shown in the locale's format, date and date-time pickers, a checkbox, a lookup
// list as a <select>, a lookup by typeahead or dialog, a keys list as a multi-select, and a
// read-only display for what the user may not change. Every input reads back as {value} or
// {error}, in the API's value forms. What a user types is never changed behind their back: a
// number that does not read cleanly, or a text longer than the field's size, is kept as typed
// and reported beside the field (`report`) as soon as the user leaves or types it.

import { h } from './dom.js';
import { displayText, formatNumberInput, parseNumber, toDateTimeInput, fromDateTimeInput } from './format.js';
import { LookupInput, MultiLookup } from './lookup.js';
import { isFileField, fileInput } from './files.js';

/**
 * `{el, focusTarget, get() → {value} | {error}, set(value, row), setText(text)}` for `field`.
 * `row` is the expanded row the value comes from (lookup texts as `<name>.text`); `keysText`
 * maps keys-list ids to texts. `editable` false gives a read-only display. `report(message)`
 * shows a problem beside the field while the user edits (null: none).
 */
export function createInput(app, field, { id, value, row, keysText, editable, describedBy, onChange, report = () => {} }) {
  // File and image fields: preview, upload, drag-and-drop (files.js).
  if (isFileField(field)) return fileInput(field, { id, value, row, editable, describedBy, onChange: () => onChange && onChange(), report });
  if (!editable) return display(field, { id, row, keysText, describedBy });
  const changed = () => onChange && onChange();
  const list = field.list();
  if (field.isKeys()) {
    const values = String(value || '').split(';').filter(Boolean).map(Number);
    const multi = new MultiLookup(app, field, { id, values, texts: keysText || new Map(), describedBy, onChange: changed });
    return {
      el: multi.el,
      multi,
      focusTarget: multi.adder.input,
      get: () => ({ value: multi.get().length ? multi.get() : null }),
      set: (v, r, texts) => multi.set(String(v || '').split(';').filter(Boolean).map(Number), texts || new Map()),
    };
  }
  if (field.isLookup()) {
    const lookup = new LookupInput(app, field, {
      id, value: value ?? null, text: row ? row[`${field.name}.text`] ?? '' : '', describedBy,
      onChange: (v, r) => onChange && onChange(v, r),
    });
    return {
      el: lookup.el,
      focusTarget: lookup.input,
      lookup,
      get: () => ({ value: lookup.get() }),
      set: (v, r) => lookup.set(v, r ? r[`${field.name}.text`] : ''),
    };
  }
  if (list) {
    const select = h('select', { id, 'aria-describedby': describedBy, onchange: changed },
      h('option', { value: '' }, '—'),
      [...list].map(([v, t]) => h('option', { value: String(v) }, t)));
    select.value = value === null || value === undefined ? '' : String(value);
    return {
      el: select,
      get: () => ({ value: select.value === '' ? null : Number(select.value) }),
      set: (v) => {
        select.value = v === null || v === undefined ? '' : String(v);
      },
    };
  }
  switch (field.type) {
    case 'boolean': {
      const box = h('input', { id, type: 'checkbox', checked: Boolean(value), 'aria-describedby': describedBy, onchange: changed });
      return { el: box, get: () => ({ value: box.checked }), set: (v) => { box.checked = Boolean(v); }, checkbox: true };
    }
    case 'integer':
    case 'float':
    case 'currency': {
      const input = h('input', {
        id, type: 'text', class: 'input-number', inputmode: field.type === 'integer' ? 'numeric' : 'decimal',
        autocomplete: 'off', value: formatNumberInput(value, field.type), placeholder: field.placeholder,
        'aria-describedby': describedBy, oninput: changed,
      });
      // Leaving the field shows the number as it was read ("1290.5" → "1,290.50"), or says
      // why it cannot be read; it is never rewritten into another number.
      input.addEventListener('blur', () => {
        const r = parseNumber(input.value, field.type);
        if (r.error) report(r.error);
        else input.value = formatNumberInput(r.value, field.type);
      });
      return {
        el: input,
        get: () => parseNumber(input.value, field.type),
        set: (v) => {
          input.value = formatNumberInput(v, field.type);
        },
      };
    }
    case 'date': {
      const input = h('input', { id, type: 'date', value: value || '', 'aria-describedby': describedBy, oninput: changed });
      return {
        el: input,
        get: () => (input.validity.badInput ? { error: 'Enter a complete date' } : { value: input.value || null }),
        set: (v) => { input.value = v || ''; },
      };
    }
    case 'datetime': {
      const input = h('input', { id, type: 'datetime-local', step: '1', value: toDateTimeInput(value), 'aria-describedby': describedBy, oninput: changed });
      return {
        el: input,
        get: () => (input.validity.badInput ? { error: 'Enter a complete date and time' } : { value: fromDateTimeInput(input.value) }),
        set: (v) => { input.value = toDateTimeInput(v); },
      };
    }
    case 'longtext': {
      const area = h('textarea', { id, rows: '4', placeholder: field.placeholder, 'aria-describedby': describedBy });
      area.value = value ?? '';
      return { ...sizedText(area, field, { changed, report }), wide: true };
    }
    default: {
      // text (file and image fields have their own input, above).
      const input = h('input', {
        id, type: 'text', placeholder: field.placeholder, autocomplete: 'off', value: value ?? '',
        'aria-describedby': describedBy,
      });
      return sizedText(input, field, { changed, report });
    }
  }
}

/**
 * A text input held to the field's `size` (in characters, as the server counts them) without
 * `maxlength`, which would cut a longer paste silently: the text stays as typed or pasted, a
 * message beside the field says how much too long it is, and it cannot be saved until it fits.
 */
function sizedText(el, field, { changed, report }) {
  const tooLong = () => {
    const length = [...el.value].length;
    return field.size && length > field.size
      ? `Too long: ${length} characters, at most ${field.size}`
      : null;
  };
  el.addEventListener('input', () => {
    changed();
    const problem = tooLong();
    if (problem) report(problem);
  });
  return {
    el,
    get: () => {
      const problem = tooLong();
      if (problem) return { error: problem };
      return { value: el.value === '' ? null : el.value };
    },
    set: (v) => { el.value = v ?? ''; },
  };
}

/** What the user may not change: its text, in a read-only control that can still be focused. */
function display(field, { id, row, keysText, describedBy }) {
  const text = () => (row ? displayText(field, row, keysText) : '');
  if (field.type === 'boolean' && !field.list()) {
    const box = h('input', { id, type: 'checkbox', checked: Boolean(row && row[field.name]), disabled: true, 'aria-describedby': describedBy });
    return {
      el: box, readOnly: true, checkbox: true, get: () => ({ value: box.checked }),
      set: (v) => { box.checked = Boolean(v); },
    };
  }
  const el = field.type === 'longtext'
    ? h('textarea', { id, rows: '4', readonly: true, 'aria-describedby': describedBy })
    : h('input', { id, type: 'text', readonly: true, 'aria-describedby': describedBy, class: `align-${field.align()}` });
  el.value = text();
  return {
    el,
    readOnly: true,
    wide: field.type === 'longtext',
    get: () => ({ value: row ? row[field.name] ?? null : null }),
    set: (v, r, texts) => {
      row = r;
      keysText = texts || keysText;
      el.value = text();
    },
    setText: (t) => {
      el.value = t;
    },
  };
}
