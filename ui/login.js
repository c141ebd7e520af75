// The login form: a page of its own at start, and a dialog over the work when a session has
// expired (so nothing on the screen is lost, and the interrupted request is sent again).

import { h, uid } from './dom.js';
import { Modal } from './dialog.js';
import * as api from './api.js';

function loginForm({ onSuccess, note = null, loginName = '' }) {
  const loginId = uid('login');
  const passwordId = uid('password');
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const loginInput = h('input', {
    id: loginId, name: 'login', type: 'text', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false', value: loginName,
  });
  const passwordInput = h('input', {
    id: passwordId, name: 'password', type: 'password', autocomplete: 'current-password', required: true,
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Log in');
  const form = h('form', { class: 'login-form', novalidate: true },
    note ? h('p', { class: 'login-note' }, note) : null,
    h('div', { class: 'field' }, h('label', { for: loginId }, 'Login'), loginInput),
    h('div', { class: 'field' }, h('label', { for: passwordId }, 'Password'), passwordInput),
    error,
    submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    if (!loginInput.value.trim() || !passwordInput.value) {
      error.textContent = 'Enter your login and password.';
      error.hidden = false;
      (loginInput.value.trim() ? passwordInput : loginInput).focus();
      return;
    }
    submit.disabled = true;
    try {
      const { user } = await api.login(loginInput.value.trim(), passwordInput.value);
      onSuccess(user);
    } catch (err) {
      error.textContent = err.status === 401 ? 'Wrong login or password.' : api.describeError(err);
      error.hidden = false;
      passwordInput.value = '';
      passwordInput.focus();
    } finally {
      submit.disabled = false;
    }
  });
  form.focusFirst = () => (loginInput.value ? passwordInput : loginInput).focus();
  return form;
}

/** The login page, filling `root`; resolves with the user once logged in. */
export function loginPage(root, caption) {
  return new Promise((resolve) => {
    const form = loginForm({ onSuccess: resolve });
    root.replaceChildren(h('main', { class: 'login-page' },
      h('section', { class: 'login-card', 'aria-labelledby': 'login-title' },
        h('div', { class: 'login-brand', 'aria-hidden': 'true' }),
        h('h1', { id: 'login-title' }, caption),
        h('p', { class: 'login-sub' }, 'Log in to continue'),
        form)));
    form.focusFirst();
  });
}

/**
 * Asks for the login again after the session ended (or, `optional`, lets an anonymous visitor log
 * in); resolves with the user, or null when an optional login is cancelled.
 */
export function reloginDialog(previousLogin, { optional = false } = {}) {
  return new Promise((resolve) => {
    const modal = new Modal({
      title: optional ? 'Log in' : 'Log in again',
      className: 'modal-small modal-login',
      onClosed: () => resolve(null),
    });
    if (!optional) {
      // Without a session nothing else can work: the dialog cannot be dismissed.
      modal.closeButton.hidden = true;
      modal.beforeClose = () => false;
    }
    const form = loginForm({
      loginName: previousLogin || '',
      note: optional ? null : 'Your session has ended. Log in to carry on where you were.',
      onSuccess: (user) => {
        resolve(user);
        modal.beforeClose = null;
        modal.close();
      },
    });
    modal.body.append(form);
    modal.open();
    form.focusFirst();
  });
}
