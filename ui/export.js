// The view form's Reports and Export menus (a hook of `ViewForm.build`): the item's reports, each
// printed for the current record (its key goes to the report's param that looks up this item,
// or to a param named `id`), and the grid's rows — its filters, search and order, every page,
// the columns it shows — exported to CSV or XLSX on the server, with progress, then downloaded.

import { h, uid } from './dom.js';
import { icon } from './icons.js';
import { showError } from './dialog.js';
import { textKeyIn } from './meta.js';
import { itemReports, printReport } from './reports.js';
import * as jobs from './jobs.js';

/** A button that opens a small menu of `entries` (`[{label, onselect, data}]`). */
function menuButton(label, iconName, entries, { className = '' } = {}) {
  const id = uid('menu');
  const button = h('button', {
    type: 'button', class: `btn btn-ghost ${className}`, 'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': id, title: label,
  }, icon(iconName), h('span', { class: 'btn-label' }, label));
  const items = entries.map((e) => h('button', {
    type: 'button', role: 'menuitem', class: 'popup-menu-item', tabindex: '-1', dataset: e.data || {},
    onclick: () => {
      close();
      e.onselect();
    },
  }, e.label));
  const list = h('div', { id, role: 'menu', class: 'popup-menu-list', hidden: true, 'aria-label': label }, items);
  const wrap = h('div', { class: 'popup-menu' }, button, list);
  const outside = (e) => {
    if (!wrap.contains(e.target)) close();
  };
  function close() {
    list.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', outside, true);
  }
  const open = () => {
    list.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    document.addEventListener('pointerdown', outside, true);
    if (items[0]) items[0].focus();
  };
  button.addEventListener('click', () => (list.hidden ? open() : close()));
  list.addEventListener('keydown', (e) => {
    const at = items.indexOf(document.activeElement);
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      close();
      button.focus();
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = (at + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
      items[next].focus();
    }
  });
  return wrap;
}

/** The key of `view`'s current record for a report's params: `{param: key, 'param.text'}`. */
function presetFor(view, report) {
  const row = view.grid.current();
  if (!row) return {};
  const key = row[view.item.pk];
  const param = report.params.find((p) => p.lookup && p.lookup.item === view.item.name) ||
    report.params.find((p) => p.name === 'id');
  if (!param) return {};
  const preset = { [param.name]: key };
  // The text the param's lookup shows for this record, from the row when the view has it.
  const textKey = param.lookup ? textKeyIn(view.item, param.lookup.path) : null;
  preset[`${param.name}.text`] = String((textKey && row[textKey]) ?? `#${key}`);
  return preset;
}

/** Starts an export of what `view` shows and follows it to the download. */
async function exportView(view, format) {
  const item = view.item;
  const open = {
    ...view.params(),
    fields: view.columns.map((f) => f.name),
    order: view.order,
    expanded: true,
  };
  try {
    const job = await jobs.exportRows(item.name, format, open);
    await jobs.follow(job, { title: `Exporting ${item.caption}` });
  } catch (err) {
    showError(err, `${item.caption} was not exported`);
  }
}

/** The view's Reports and Export menus (nothing in a lookup dialog). */
export function viewTools(view) {
  if (view.mode !== 'tab') return null;
  const app = view.app;
  const tools = [];
  const reports = itemReports(app.meta, view.item.name);
  if (reports.length) {
    tools.push(menuButton('Reports', 'print', reports.map((r) => ({
      label: r.caption,
      data: { report: r.name },
      onselect: () => printReport(app, r.name, { preset: presetFor(view, r) }),
    })), { className: 'view-reports' }));
  }
  tools.push(menuButton('Export', 'download', [
    { label: 'CSV', data: { format: 'csv' }, onselect: () => exportView(view, 'csv') },
    { label: 'Excel (XLSX)', data: { format: 'xlsx' }, onselect: () => exportView(view, 'xlsx') },
  ], { className: 'view-export' }));
  return tools;
}
