// Reports (Jam.py's Reports menu): the reports of the menu groups that list them, and the report
// parameter form — one input per visible param (dates, numbers, text, yes/no, lookups, lookup
// lists, several keys for a multi-select param), required ones marked, and the format to print in
// — whose Print button starts the report on the server and follows it to the download (jobs.js).

import { h, uid } from './dom.js';
import { icon } from './icons.js';
import { Modal, showError } from './dialog.js';
import { FieldMeta } from './meta.js';
import { createInput } from './inputs.js';
import { MultiLookup } from './lookup.js';
import * as jobs from './jobs.js';

const FORMAT_NAMES = {
  pdf: 'PDF', ods: 'Spreadsheet (ODS)', xlsx: 'Excel (XLSX)', xls: 'Excel 97 (XLS)', html: 'Web page (HTML)',
};

/** The reports the role may print, by name. */
function reports(meta) {
  return new Map((meta.json.reports || []).map((r) => [r.name, r]));
}

/** The menu groups that list reports the role may print: `[{caption, reports}]`. */
export function reportGroups(meta) {
  const byName = reports(meta);
  return meta.groups
    .filter((g) => g.visible && g.reports && g.reports.length)
    .map((g) => ({ name: g.name, caption: g.caption, reports: g.reports.map((n) => byName.get(n)).filter((r) => r && r.visible) }))
    .filter((g) => g.reports.length);
}

/** The sidebar's and the home page's report groups (a hook of `App.menuList`). */
export function reportMenus(app) {
  return reportGroups(app.meta).map((g) => h('div', { class: 'menu-group menu-reports', dataset: { group: g.name } },
    h('h2', { class: 'menu-caption' }, g.caption),
    h('ul', null, g.reports.map((r) => h('li', null, h('button', {
      type: 'button', class: 'menu-item menu-report', dataset: { report: r.name },
      onclick: () => {
        app.toggleMenu(false);
        printReport(app, r.name);
      },
    }, icon('print', 16), h('span', null, r.caption)))))));
}

/** The reports an item's view offers (its `reports` the role may print). */
export function itemReports(meta, itemName) {
  const item = (meta.json.items || []).find((i) => i.name === itemName);
  const byName = reports(meta);
  return item && item.reports ? item.reports.map((n) => byName.get(n)).filter(Boolean) : [];
}

/** The params as fields of the form (the form's inputs take an item's fields). */
function paramFields(meta, report) {
  const owner = { meta, name: report.name, caption: report.caption, pk: null, masterLink: [] };
  return report.params.map((p) => {
    const f = new FieldMeta(p, owner);
    f.multiSelect = Boolean(p.multi_select);
    return f;
  });
}

/** Today's date or the current time for a param whose default is `today` / `now`. */
function defaultOf(field) {
  const d = field.defaultValue;
  if (d === undefined || d === null) return null;
  const pad = (n) => String(n).padStart(2, '0');
  const t = new Date();
  const date = `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}`;
  if (d === 'today') return date;
  if (d === 'now') return `${date} ${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  return d;
}

/** An input for a multi-select param: several keys, or several values of a lookup list. */
function multiInput(app, field, id, values) {
  if (field.isLookup()) {
    const multi = new MultiLookup(app, field, { id, values: values || [] });
    return { el: multi.el, focusTarget: multi.adder.input, get: () => ({ value: multi.get() }) };
  }
  const list = field.list() || new Map();
  const chosen = new Set(values || []);
  const boxes = [...list].map(([value, text]) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', value: String(value), checked: chosen.has(value) }), text));
  return {
    el: h('div', { class: 'check-group', role: 'group', 'aria-label': field.caption }, boxes),
    focusTarget: boxes[0] ? boxes[0].firstChild : null,
    get: () => ({ value: boxes.map((b) => b.firstChild).filter((c) => c.checked).map((c) => Number(c.value)) }),
  };
}

/**
 * Prints report `name`: the parameter form (prefilled with `preset` `{param: value}`), then the
 * job's progress and the download.
 */
export function printReport(app, name, { preset = {} } = {}) {
  const report = reports(app.meta).get(name);
  if (!report) return;
  const fields = paramFields(app.meta, report);
  const modal = new Modal({ title: report.caption, className: 'modal-report' });
  modal.el.dataset.report = report.name;
  const inputs = new Map();
  const rows = [];
  for (const f of fields) {
    if (!f.visible) continue;
    const id = uid('param');
    const errorId = `${id}-error`;
    const helpId = f.help ? `${id}-help` : null;
    const value = preset[f.name] !== undefined ? preset[f.name] : defaultOf(f);
    const input = f.multiSelect
      ? multiInput(app, f, id, Array.isArray(value) ? value : [])
      : createInput(app, f, {
        id, value, row: null, editable: true, describedBy: [helpId, errorId].filter(Boolean).join(' '),
      });
    if (input.lookup && value !== null && value !== undefined && preset[`${f.name}.text`]) {
      input.lookup.set(value, preset[`${f.name}.text`]);
    }
    const error = h('p', { class: 'field-error', id: errorId, hidden: true });
    input.errorEl = error;
    inputs.set(f.name, input);
    const label = h('label', { for: id }, f.caption, f.required ? h('span', { class: 'required', 'aria-hidden': 'true' }, ' *') : null);
    if (f.required) (input.focusTarget || input.el).setAttribute('aria-required', 'true');
    rows.push(h('div', { class: `field${input.checkbox ? ' field-check' : ''}`, dataset: { param: f.name } },
      label, input.el, f.help ? h('small', { class: 'field-help', id: helpId }, f.help) : null, error));
  }
  const formatId = uid('format');
  const formats = report.formats;
  const formatSelect = h('select', { id: formatId, class: 'report-format' },
    formats.map((f) => h('option', { value: f }, FORMAT_NAMES[f] || f)));
  const formatError = h('p', { class: 'field-error', hidden: true });
  rows.push(h('div', { class: 'field', dataset: { param: 'format' }, hidden: formats.length < 2 },
    h('label', { for: formatId }, 'Format'), formatSelect, formatError));
  const banner = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'report-form', novalidate: true }, banner, rows);
  const printButton = h('button', { type: 'button', class: 'btn btn-primary', dataset: { action: 'print' } }, icon('print'), h('span', null, 'Print'));
  const cancelButton = h('button', { type: 'button', class: 'btn', onclick: () => modal.close() }, 'Cancel');
  modal.body.append(form);
  modal.footer.append(printButton, cancelButton);

  const clearErrors = () => {
    banner.hidden = true;
    formatError.hidden = true;
    for (const input of inputs.values()) input.errorEl.hidden = true;
  };
  const fieldError = (name, message) => {
    const input = inputs.get(name);
    const el = name === 'format' ? formatError : (input ? input.errorEl : null);
    if (!el) return false;
    el.textContent = message;
    el.hidden = false;
    return true;
  };
  const submit = async () => {
    clearErrors();
    const params = {};
    let bad = null;
    for (const f of fields) {
      if (!f.visible) {
        if (preset[f.name] !== undefined) params[f.name] = preset[f.name];
        continue;
      }
      const r = inputs.get(f.name).get();
      const empty = r.value === null || r.value === undefined || r.value === '' || (Array.isArray(r.value) && !r.value.length);
      if (r.error) {
        fieldError(f.name, r.error);
        bad = bad || f.name;
      } else if (f.required && empty) {
        fieldError(f.name, 'A value is required');
        bad = bad || f.name;
      } else if (!empty) {
        params[f.name] = r.value;
      }
    }
    if (bad) {
      const input = inputs.get(bad);
      (input.focusTarget || input.el).focus();
      return;
    }
    printButton.disabled = true;
    let job;
    try {
      job = await jobs.print(report.name, params, formatSelect.value);
    } catch (err) {
      printButton.disabled = false;
      const placed = (err.fields || []).map((e) => fieldError(e.field.replace(/^params\./, ''), e.message));
      if (!placed.length || placed.includes(false)) {
        banner.textContent = err.message;
        banner.hidden = false;
      }
      return;
    }
    modal.close();
    await jobs.follow(job, { title: `Printing ${report.caption}` });
  };
  printButton.addEventListener('click', submit);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit();
  });
  modal.onKey = (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      submit();
    }
  };
  modal.open();
  const first = [...inputs.values()][0];
  (first ? (first.focusTarget || first.el) : printButton).focus();
  return modal;
}

/** Prints a report with no form when it has nothing to ask (a hook for code that needs it). */
export async function printNow(report, params, format) {
  try {
    const job = await jobs.print(report.name, params, format);
    await jobs.follow(job, { title: `Printing ${report.caption}` });
  } catch (err) {
    showError(err, `${report.caption} was not printed`);
  }
}
