// Modal dialogs (native <dialog>: focus stays inside, the page behind is inert), confirmations,
// and messages (toasts). Errors are shown until the user dismisses them, so none is lost.

import { h, uid } from './dom.js';
import { icon } from './icons.js';
import { describeError } from './api.js';

/**
 * A modal dialog. `requestClose()` asks `beforeClose` (which may refuse, e.g. for unsaved
 * changes) before closing; Esc and the × button go through it. `onKey(event)` receives keys
 * pressed while this is the topmost dialog.
 */
export class Modal {
  constructor({ title, className = '', beforeClose = null, onClosed = null, label = null }) {
    this.titleId = uid('dlg-title');
    this.beforeClose = beforeClose;
    this.onClosed = onClosed;
    this.onKey = null;
    this.titleEl = h('h2', { class: 'modal-title', id: this.titleId }, title);
    this.closeButton = h('button', {
      type: 'button', class: 'btn btn-icon btn-ghost', 'aria-label': 'Close (Esc)', title: 'Close (Esc)',
      onclick: () => this.requestClose(),
    }, icon('close'));
    this.body = h('div', { class: 'modal-body' });
    this.footer = h('div', { class: 'modal-footer' });
    this.el = h('dialog', {
      class: `modal ${className}`,
      'aria-labelledby': label ? null : this.titleId,
      'aria-label': label,
    },
    h('div', { class: 'modal-header' }, this.titleEl, this.closeButton),
    this.body,
    this.footer);
    this.el.modal = this;
    this.el.addEventListener('cancel', (e) => {
      e.preventDefault();
      this.requestClose();
    });
  }

  setTitle(text) {
    this.titleEl.textContent = text;
  }

  open() {
    this.returnFocus = document.activeElement;
    document.body.append(this.el);
    this.el.showModal();
    return this;
  }

  async requestClose() {
    if (this.closing) return false;
    if (this.beforeClose) {
      this.closing = true;
      try {
        if (!(await this.beforeClose())) return false;
      } finally {
        this.closing = false;
      }
    }
    this.close();
    return true;
  }

  close() {
    if (!this.el.isConnected) return;
    this.el.close();
    this.el.remove();
    if (this.returnFocus && this.returnFocus.isConnected) this.returnFocus.focus();
    if (this.onClosed) this.onClosed();
  }
}

/** The topmost open dialog, if any. */
export function topModal() {
  const open = document.querySelectorAll('dialog[open]');
  return open.length ? open[open.length - 1].modal || null : null;
}

/**
 * Asks a question; resolves to the chosen button's key, or null when dismissed with Esc.
 * `buttons`: [{key, label, kind: 'primary' | 'danger' | ''}]; the first is focused.
 */
export function ask(message, { title = 'Please confirm', buttons, detail = null }) {
  return new Promise((resolve) => {
    let answer = null;
    const modal = new Modal({ title, className: 'modal-small modal-question', onClosed: () => resolve(answer) });
    modal.body.append(h('p', { class: 'question-text' }, message));
    if (detail) modal.body.append(h('p', { class: 'question-detail' }, detail));
    const els = buttons.map((b) => h('button', {
      type: 'button',
      class: `btn ${b.kind ? `btn-${b.kind}` : ''}`,
      dataset: { answer: b.key },
      onclick: () => {
        answer = b.key;
        modal.close();
      },
    }, b.label));
    modal.footer.append(...els);
    modal.open();
    els[0].focus();
  });
}

export async function confirm(message, { title = 'Please confirm', ok = 'OK', cancel = 'Cancel', danger = false } = {}) {
  const answer = await ask(message, {
    title,
    buttons: [
      { key: 'ok', label: ok, kind: danger ? 'danger' : 'primary' },
      { key: 'cancel', label: cancel },
    ],
  });
  return answer === 'ok';
}

/**
 * A short message. Errors go to the corner and stay until closed. Others (a record saved or
 * deleted) fade after a few seconds, shown in the top bar's free middle (`#notices`) when the
 * shell is there, so that they cover nothing the user may want to click next (the pager, a row).
 */
export function toast(message, { kind = 'info', title = null } = {}) {
  const slot = kind === 'error' ? null : document.getElementById('notices');
  if (slot) {
    const text = title ? `${title}: ${message}` : message;
    const el = h('div', { class: `notice notice-${kind}`, title: text },
      kind === 'success' ? icon('check', 16) : null, h('span', null, text));
    slot.replaceChildren(el);
    setTimeout(() => el.remove(), 4000);
    return el;
  }
  const region = document.getElementById('toasts');
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    kind === 'error' ? icon('alert') : (kind === 'success' ? icon('check') : null),
    h('div', { class: 'toast-text' }, title ? h('strong', null, title) : null, h('span', null, message)),
    h('button', {
      type: 'button', class: 'btn btn-icon btn-ghost', 'aria-label': 'Dismiss message',
      onclick: () => el.remove(),
    }, icon('close', 16)));
  region.append(el);
  if (kind !== 'error') setTimeout(() => el.remove(), 4000);
  return el;
}

/** An error from the API or elsewhere, as a message that stays until dismissed. */
export function showError(error, title = null) {
  const heading = title || (error && error.code === 'module_error' ? 'The server refused' : 'Error');
  return toast(describeError(error), { kind: 'error', title: heading });
}
