// A table jamrs did not create, keyed by text (fixture `legacy`: `countries(code TEXT PRIMARY
// KEY, name TEXT)` made beforehand with Python's sqlite3, as someone else's tool would): the
// grid shows the key, a new record's form asks for it, an existing record's form shows it
// read-only, and the address of an open record names it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, ApiClient } from '../lib/server.js';
import { openBrowser } from '../lib/browser.js';
import { login, openItem, rows, assertNoProblems, dialog, settled } from '../lib/ui.js';

let server;
let browser;
let api;

const MAKE_TABLE = `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE countries (code TEXT PRIMARY KEY, name TEXT)")
db.execute("INSERT INTO countries VALUES ('FR', 'France'), ('DE', 'Germany')")
db.commit()
`;

before(async () => {
  server = await startServer({
    fixture: 'legacy',
    users: [['admin', 'admin', 'Ada Admin']],
    prepare: (project) => {
      mkdirSync(join(project, 'data'), { recursive: true });
      execFileSync('python3', ['-c', MAKE_TABLE, join(project, 'data/legacy.sqlite')]);
    },
  });
  api = new ApiClient(server.url);
  await api.login('admin');
  browser = await openBrowser();
  await login(browser.page, server.url, 'admin');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a text-keyed table: the key in the grid, typed into a new record, read-only when editing', async () => {
  const page = browser.page;
  const view = await openItem(page, 'Countries', 'countries');
  assert.deepEqual(await rows(view), ['DE | Germany', 'FR | France']);

  await view.getByRole('button', { name: 'New' }).click();
  const form = dialog(page, 'Countries · new record');
  await form.waitFor();
  await form.getByLabel('Code').fill('IT');
  await form.getByLabel('Name').fill('Italy');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  await settled(view);
  assert.deepEqual(await rows(view), ['DE | Germany', 'FR | France', 'IT | Italy']);
  const [stored] = await api.open('countries', { filters: [['code', 'eq', 'IT']] });
  assert.equal(stored.name, 'Italy');

  await view.locator('.grid-table tbody tr', { hasText: 'France' }).dblclick();
  const edit = dialog(page, 'Countries');
  await edit.waitFor();
  assert.equal(await edit.getByLabel('Code').inputValue(), 'FR');
  assert.equal(await edit.getByLabel('Code').isEditable(), false);
  assert.equal(await page.evaluate(() => window.location.hash), '#/countries/FR');
  await edit.getByLabel('Name').fill('La France');
  await edit.getByRole('button', { name: 'Save' }).click();
  await edit.waitFor({ state: 'detached' });
  await settled(view);
  assert.deepEqual(await rows(view), ['DE | Germany', 'FR | La France', 'IT | Italy']);

  // The address of a record opens it again.
  await page.goto(`${server.url}/#/countries/DE`);
  const again = dialog(page, 'Countries');
  await again.waitFor();
  assert.equal(await again.getByLabel('Name').inputValue(), 'Germany');
  assertNoProblems(page);
});
