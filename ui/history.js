// Jam.py's history view: the changes of one record, or of an item, newest first (date, user,
// operation), each opening to the fields it changed with their old and new values (lookup
// values as their texts). The server decides what the session may see
// (`POST /api/items/{item}/history`); an item without `keep_history` has no history button.

import { h, clear } from './dom.js';
import { Modal, showError } from './dialog.js';
import { icon } from './icons.js';
import { displayText, formatDateTime } from './format.js';
import { textsOf } from './lookup.js';
import { isFileField, originalName } from './files.js';
import * as api from './api.js';

const OPERATIONS = { insert: 'Created', update: 'Modified', delete: 'Deleted' };
const PAGE = 100;

/** A History button for `item` (null when it keeps none); `recordId()` picks the record or null. */
export function historyButton(app, item, recordId, { label = 'History' } = {}) {
  if (!item.keepHistory) return null;
  return h('button', {
    type: 'button', class: 'btn btn-ghost btn-history', title: label, 'aria-label': label,
    onclick: () => showHistory(app, item, recordId()),
  }, icon('list'), h('span', { class: 'btn-label' }, label));
}

/** `at` (UTC, YYYY-MM-DD HH:MM:SS) in the browser's time zone, as the UI shows datetimes. */
function localTime(at) {
  const d = new Date(`${String(at).replace(' ', 'T')}Z`);
  if (Number.isNaN(d.getTime())) return String(at);
  const pad = (n) => String(n).padStart(2, '0');
  return formatDateTime(`${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`);
}

/** Texts of the lookup values the entries hold: Map<field name, Map<id, text>>. */
async function lookupTexts(item, entries) {
  const wanted = new Map();
  for (const e of entries) {
    for (const c of e.changes) {
      const f = item.field(c.field);
      if (!f || !f.isLookup()) continue;
      if (!wanted.has(f.name)) wanted.set(f.name, new Set());
      for (const v of [c.old, c.new]) if (v !== null && v !== undefined) wanted.get(f.name).add(v);
    }
  }
  const out = new Map();
  for (const [name, ids] of wanted) {
    const f = item.field(name);
    try {
      out.set(name, await textsOf(f.lookupItem(), f.lookup.path, [...ids]));
    } catch {
      out.set(name, new Map());
    }
  }
  return out;
}

function valueText(item, texts, fieldName, v) {
  if (v === null || v === undefined || v === '') return '—';
  const f = item.field(fieldName);
  if (!f) return String(v);
  if (isFileField(f)) return originalName(v);
  if (f.isLookup()) {
    const t = texts.get(f.name);
    return t && t.has(v) ? `${t.get(v)}` : `#${v}`;
  }
  return displayText(f, { [f.name]: v }) || '—';
}

function entryEl(item, texts, e, showRecord) {
  const caption = (name) => (item.field(name) ? item.field(name).caption : name);
  const changes = e.changes.length
    ? h('table', { class: 'history-changes' },
      h('thead', null, h('tr', null, h('th', null, 'Field'), h('th', null, 'Old value'), h('th', null, 'New value'))),
      h('tbody', null, e.changes.map((c) => h('tr', { dataset: { field: c.field } },
        h('th', { scope: 'row' }, caption(c.field)),
        h('td', { class: 'history-old' }, valueText(item, texts, c.field, c.old)),
        h('td', { class: 'history-new' }, valueText(item, texts, c.field, c.new))))))
    : h('p', { class: 'history-none' }, 'No fields you may see changed.');
  return h('li', { class: `history-entry history-${e.operation}`, dataset: { operation: e.operation, record: String(e.record_id) } },
    h('details', null,
      h('summary', null,
        h('span', { class: 'history-op' }, OPERATIONS[e.operation] || e.operation),
        showRecord ? h('span', { class: 'history-record' }, `#${e.record_id}`) : null,
        h('span', { class: 'history-user' }, e.user_name || 'server'),
        h('time', { class: 'history-at', datetime: `${String(e.at).replace(' ', 'T')}Z` }, localTime(e.at))),
      changes));
}

/** Opens the history of record `id` of `item` (the item's when `id` is null). */
export async function showHistory(app, item, id) {
  const title = id === null || id === undefined ? `${item.caption} · history` : `${item.caption} #${id} · history`;
  const modal = new Modal({ title, className: 'modal-history' });
  const list = h('ol', { class: 'history-list', 'aria-label': title });
  const status = h('p', { class: 'history-status', role: 'status' }, 'Loading…');
  const more = h('button', { type: 'button', class: 'btn', hidden: true }, 'Older changes');
  modal.body.append(status, list);
  modal.footer.append(more, h('button', { type: 'button', class: 'btn', onclick: () => modal.requestClose() }, 'Close'));
  modal.open();
  let offset = 0;
  const load = async () => {
    more.disabled = true;
    try {
      const body = { limit: PAGE, offset };
      if (id !== null && id !== undefined) body.id = id;
      const { history } = await api.history(item.name, body);
      const texts = await lookupTexts(item, history);
      for (const e of history) list.append(entryEl(item, texts, e, id === null || id === undefined));
      offset += history.length;
      more.hidden = history.length < PAGE;
      clear(status);
      status.textContent = offset ? `${offset} change${offset === 1 ? '' : 's'} shown, newest first` : 'No changes recorded';
    } catch (err) {
      status.textContent = '';
      modal.close();
      showError(err, 'Cannot show the history');
    } finally {
      more.disabled = false;
    }
  };
  more.onclick = load;
  await load();
  return modal;
}
