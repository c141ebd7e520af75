// The application shell: login, the menu of groups and items the role may view, the items' view
// forms in tabs (one view with a back button on a phone), the address (#/item, #/item/id) that
// brings a reload back to the same place, and logging in again when a session has ended.

import { h, clear, ctrl, isPhone, typingTarget } from './dom.js';
import { icon } from './icons.js';
import { Meta } from './meta.js';
import { setLanguage } from './format.js';
import { loginPage, reloginDialog } from './login.js';
import { topModal, showError, toast } from './dialog.js';
import { ViewForm } from './view.js';
import { reportMenus } from './reports.js';
import { editRecord, openForms } from './form.js';
import { ClientRuntime, call } from './client.js';
import * as api from './api.js';

class App {
  constructor(root) {
    this.root = root;
    this.caption = document.title;
    this.tabs = new Map();
    this.active = null;
    this.relogging = null;
  }

  async start() {
    let json;
    try {
      json = await api.task({ relogin: false });
    } catch (err) {
      if (err.status !== 401) {
        this.fatal(err);
        return;
      }
      this.root.className = 'app-login';
      this.root.removeAttribute('aria-busy');
      await loginPage(this.root, this.caption);
      try {
        json = await api.task({ relogin: false });
      } catch (again) {
        this.fatal(again);
        return;
      }
    }
    await this.setup(json);
  }

  fatal(err) {
    this.root.className = 'app-error';
    this.root.removeAttribute('aria-busy');
    this.root.replaceChildren(h('main', { class: 'fatal' },
      h('h1', null, this.caption),
      h('p', { role: 'alert' }, api.describeError(err)),
      h('button', { type: 'button', class: 'btn btn-primary', onclick: () => window.location.reload() }, 'Try again')));
  }

  async setup(json) {
    this.meta = new Meta(json);
    this.caption = this.meta.task.caption;
    document.title = this.caption;
    setLanguage(this.meta.task.language);
    document.documentElement.lang = this.meta.task.language || 'en';
    this.storeKey = `jamrs.tabs.${this.meta.task.name}`;
    api.onUnauthorized(() => this.relogin());
    // The project's client modules, before any form exists; `task` is global, as in Jam.py.
    this.runtime = new ClientRuntime(this, this.meta);
    await this.runtime.load(json.client_modules || []);
    window.task = this.runtime.task;
    this.build();
    document.addEventListener('keydown', (e) => this.keydown(e));
    window.addEventListener('hashchange', () => this.route());
    window.addEventListener('beforeunload', (e) => {
      if ([...openForms].some((f) => f.dirty())) e.preventDefault();
    });
    // Jam.py's on_page_loaded: the shell is there, no view is open yet.
    call(this.runtime.task, 'on_page_loaded', this.runtime.task, [this.runtime.task]);
    this.restore();
  }

  build() {
    const user = this.meta.user;
    this.menuButton = h('button', {
      type: 'button', class: 'btn btn-icon btn-ghost menu-toggle', 'aria-label': 'Menu', 'aria-expanded': 'false',
      'aria-controls': 'sidebar', onclick: () => this.toggleMenu(),
    }, icon('menu'));
    const account = user
      ? h('div', { class: 'account' },
        h('span', { class: 'account-name', title: user.login }, icon('user', 16), h('span', null, user.user_name || user.login),
          h('span', { class: 'account-role' }, user.role_name)),
        h('button', {
          type: 'button', class: 'btn btn-ghost btn-small', 'aria-label': 'Log out', title: 'Log out', onclick: () => this.logout(),
        }, icon('logout', 16), h('span', { class: 'btn-label' }, 'Log out')))
      : h('div', { class: 'account' }, h('button', {
        type: 'button', class: 'btn btn-ghost btn-small', onclick: () => this.loginAsUser(),
      }, icon('user', 16), h('span', { class: 'btn-label' }, 'Log in')));
    this.nav = h('nav', { id: 'sidebar', class: 'sidebar', 'aria-label': 'Menu' }, this.menuList('menu'));
    this.tabList = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Open items' });
    this.panels = h('div', { class: 'panels' });
    this.home = h('section', { class: 'home', 'aria-labelledby': 'home-title' },
      h('h2', { id: 'home-title' }, this.caption),
      h('p', { class: 'home-hint' }, this.meta.menu().length ? 'Choose what to open.' : 'Your role may not view any item.'),
      this.menuList('home-menu'));
    this.scrim = h('div', { class: 'scrim', hidden: true, onclick: () => this.toggleMenu(false) });
    this.root.className = 'app';
    this.root.removeAttribute('aria-busy');
    this.root.replaceChildren(
      h('a', { class: 'skip-link', href: '#main' }, 'Skip to content'),
      h('header', { class: 'topbar' }, this.menuButton,
        h('a', { class: 'brand', href: '#/' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), h('span', null, this.caption)),
        // Success and info messages show here, in the top bar's free middle, where they
        // cover no control (a corner toast covered the pager); errors stay in the corner.
        h('div', { class: 'topbar-spacer notices', id: 'notices', role: 'status' }),
        account),
      h('div', { class: 'layout' }, this.nav, this.scrim,
        h('main', { id: 'main', class: 'content', tabindex: '-1' }, this.tabList, this.panels, this.home)));
    // The skip link must not change the route.
    this.root.querySelector('.skip-link').addEventListener('click', (e) => {
      e.preventDefault();
      (this.active ? this.tabs.get(this.active).view.grid.table : this.root.querySelector('#main')).focus();
    });
  }

  menuList(className) {
    return h('div', { class: className }, this.meta.menu().map((g) => h('div', { class: 'menu-group' },
      h('h2', { class: 'menu-caption' }, g.caption),
      h('ul', null, g.items.map((i) => h('li', null, h('a', {
        href: `#/${encodeURIComponent(i.name)}`, class: 'menu-item', dataset: { item: i.name },
        onclick: () => this.toggleMenu(false),
      }, icon('list', 16), h('span', null, i.caption))))))), reportMenus(this));
  }

  toggleMenu(open = !this.nav.classList.contains('open')) {
    this.nav.classList.toggle('open', open);
    this.scrim.hidden = !open;
    this.menuButton.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (open) {
      const first = this.nav.querySelector('a');
      if (first) first.focus();
    }
  }

  /** Opens the tabs of the last visit, then whatever the address names. */
  restore() {
    let saved = [];
    try {
      saved = JSON.parse(sessionStorage.getItem(this.storeKey) || '[]');
    } catch {
      saved = [];
    }
    for (const name of Array.isArray(saved) ? saved : []) {
      if (this.openable(name)) this.openTab(name, { activate: false });
    }
    this.route();
  }

  saveTabs() {
    try {
      sessionStorage.setItem(this.storeKey, JSON.stringify([...this.tabs.keys()]));
    } catch {
      // Without session storage, tabs are simply not reopened.
    }
  }

  openable(name) {
    const item = this.meta.item(name);
    return item && item.can('view') && this.meta.menu().some((g) => g.items.includes(item));
  }

  /** `#/item` opens the item's tab; `#/item/id` also opens the record's form. */
  route() {
    const m = /^#\/([^/]*)(?:\/([^/]+))?$/.exec(window.location.hash);
    const name = m ? decodeURIComponent(m[1]) : '';
    if (!name || !this.openable(name)) {
      if (name) toast(`There is no item "${name}" you may open.`);
      this.showHome();
      return;
    }
    const tab = this.openTab(name);
    // A record's key: an integer, or the text of an item keyed by text.
    const textKey = tab.view.item && tab.view.item.textKey;
    const id = m[2] === undefined ? null : textKey ? decodeURIComponent(m[2]) : Number(m[2]);
    if (id !== null && (textKey ? id !== '' : Number.isSafeInteger(id)) && !topModal()) {
      tab.view.loaded.then(() => editRecord(this, tab.view.item, {
        id, onSaved: (result) => tab.view.afterSave(result),
      }));
    }
  }

  setAddress(hash) {
    if (window.location.hash !== hash) history.replaceState(null, '', hash);
  }

  openTab(name, { activate = true } = {}) {
    let tab = this.tabs.get(name);
    if (!tab) {
      const item = this.meta.item(name);
      const view = new ViewForm(this, item, { mode: 'tab', onClose: () => this.closeTab(name) });
      const tabId = `tab-${name}`;
      const panelId = `panel-${name}`;
      const button = h('button', {
        type: 'button', role: 'tab', id: tabId, class: 'tab', 'aria-controls': panelId, 'aria-selected': 'false',
        tabindex: '-1', onclick: () => this.activate(name),
        onkeydown: (e) => this.tabKey(e, name),
      }, item.caption);
      const close = h('button', {
        type: 'button', class: 'tab-close', 'aria-label': `Close ${item.caption}`, title: 'Close (Esc)',
        onclick: () => this.closeTab(name),
      }, icon('close', 14));
      const wrap = h('div', { class: 'tab-wrap', dataset: { item: name } }, button, close);
      const panel = h('div', { role: 'tabpanel', id: panelId, class: 'panel', 'aria-labelledby': tabId, hidden: true }, view.el);
      tab = { name, view, button, wrap, panel };
      this.tabs.set(name, tab);
      this.tabList.append(wrap);
      this.panels.append(panel);
      view.loaded = view.load();
      this.saveTabs();
    }
    if (activate) this.activate(name);
    return tab;
  }

  tabKey(e, name) {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    const names = [...this.tabs.keys()];
    const at = names.indexOf(name) + (e.key === 'ArrowLeft' ? -1 : 1);
    const next = names[(at + names.length) % names.length];
    this.activate(next);
    this.tabs.get(next).button.focus();
    e.preventDefault();
  }

  activate(name) {
    const tab = this.tabs.get(name);
    if (!tab) return;
    this.active = name;
    for (const t of this.tabs.values()) {
      const on = t === tab;
      t.button.setAttribute('aria-selected', on ? 'true' : 'false');
      t.button.tabIndex = on ? 0 : -1;
      t.wrap.classList.toggle('active', on);
      t.panel.hidden = !on;
    }
    this.home.hidden = true;
    this.root.classList.add('has-view');
    for (const a of this.root.querySelectorAll('.menu-item')) {
      if (a.dataset.item === name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    this.setAddress(`#/${encodeURIComponent(name)}`);
    if (!topModal()) tab.view.loaded.then(() => {
      if (this.active === name && !topModal() && !tab.panel.contains(document.activeElement)) tab.view.grid.focus();
    });
  }

  closeTab(name) {
    const tab = this.tabs.get(name);
    if (!tab) return;
    if (this.runtime.formEvent(tab.view.ci, 'view_form_close_query') === false) return;
    const names = [...this.tabs.keys()];
    const at = names.indexOf(name);
    tab.view.dispose();
    this.runtime.formEvent(tab.view.ci, 'view_form_closed');
    tab.view.ci.view_form = null;
    tab.wrap.remove();
    tab.panel.remove();
    this.tabs.delete(name);
    this.saveTabs();
    if (this.active === name) {
      const next = names[at + 1] || names[at - 1];
      if (next && this.tabs.has(next) && !isPhone()) this.activate(next);
      else this.showHome();
    }
  }

  showHome() {
    this.active = null;
    for (const t of this.tabs.values()) {
      t.panel.hidden = true;
      t.wrap.classList.remove('active');
      t.button.setAttribute('aria-selected', 'false');
    }
    this.home.hidden = false;
    this.root.classList.remove('has-view');
    for (const a of this.root.querySelectorAll('.menu-item')) a.removeAttribute('aria-current');
    this.setAddress('#/');
    const first = this.home.querySelector('a');
    if (first && !topModal()) first.focus();
  }

  formOpened(item, id) {
    if (id !== null && this.active === item.name) this.setAddress(`#/${encodeURIComponent(item.name)}/${encodeURIComponent(id)}`);
  }

  formClosed(item) {
    if (this.active === item.name) this.setAddress(`#/${encodeURIComponent(item.name)}`);
  }

  activeView() {
    return this.active ? this.tabs.get(this.active).view : null;
  }

  keydown(e) {
    if (e.defaultPrevented) return;
    const modal = topModal();
    if (modal) {
      if (modal.onKey) modal.onKey(e);
      return;
    }
    const view = this.activeView();
    if (!view) return;
    const inView = view.el.contains(document.activeElement) || document.activeElement === document.body ||
      document.activeElement === this.root.querySelector('#main');
    if (inView) view.onKey(e);
    else if (ctrl(e) && (e.key === 'f' || e.key === 'F') && !typingTarget(document.activeElement)) view.onKey(e);
  }

  /** After a 401: the login dialog over the work; then the request is repeated. */
  relogin() {
    if (!this.relogging) {
      const previous = this.meta.user;
      this.relogging = reloginDialog(previous ? previous.login : '').then((user) => {
        this.relogging = null;
        if (!previous || user.user_id !== previous.user_id) {
          // Someone else: their role may see other things. Start again at the same address.
          window.location.reload();
          return new Promise(() => {});
        }
        return user;
      });
    }
    return this.relogging;
  }

  async loginAsUser() {
    if (await reloginDialog('', { optional: true })) window.location.reload();
  }

  async logout() {
    try {
      await api.logout();
    } catch (err) {
      showError(err, 'Logging out failed');
      return;
    }
    try {
      sessionStorage.removeItem(this.storeKey);
    } catch {
      // Nothing to forget.
    }
    history.replaceState(null, '', '#/');
    window.location.reload();
  }
}

const app = new App(document.getElementById('app'));
app.start().catch((err) => {
  clear(app.root);
  app.fatal(err);
});
