// Record history and record locking in the browser (fixture `office`: clients keep history and
// carry an edit lock). Two browser sessions edit the same client: the second save is refused,
// the person is told someone else changed it and may reload it; the history view lists who
// changed what, with old and new values. A client that visits still point at is not deleted,
// and the message says why.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ApiClient } from '../lib/server.js';
import { openBrowser, screenshot } from '../lib/browser.js';
import { login, openItem, rows, assertNoProblems, dialog, settled, reset } from '../lib/ui.js';

let server;
let first;
let second;
let alice;

before(async () => {
  server = await startServer({
    fixture: 'office',
    users: [['admin', 'admin', 'Ada Admin'], ['alice', 'clerk', 'Alice Clerk']],
  });
  alice = new ApiClient(server.url);
  await alice.login('alice');
  await alice.insert('clients', [{ name: 'Anna Smith', city: 'Berlin' }, { name: 'Bruno Costa', city: 'Lisbon' }]);
  first = await openBrowser();
  second = await openBrowser();
  await login(first.page, server.url, 'alice');
  await login(second.page, server.url, 'alice');
});

afterEach(async () => {
  await reset(first.page);
  await reset(second.page);
});

after(async () => {
  await first?.close();
  await second?.close();
  await server?.stop();
});

/** Opens the edit form of the client `name` in `page`. */
async function openClient(page, name) {
  const view = await openItem(page, 'Clients', 'clients');
  await view.locator('.grid-table tbody tr', { hasText: name }).dblclick();
  const form = dialog(page, 'Clients');
  await form.waitFor();
  return { view, form };
}

test('two sessions edit one record: the later save is refused, and reloading shows the other change', async () => {
  const a = await openClient(first.page, 'Anna Smith');
  const b = await openClient(second.page, 'Anna Smith');
  await b.form.getByLabel('City').fill('Hamburg');
  await b.form.getByRole('button', { name: 'Save' }).click();
  await b.form.waitFor({ state: 'detached' });

  await a.form.getByLabel('City').fill('Munich');
  await a.form.getByRole('button', { name: 'Save' }).click();
  const question = dialog(first.page, 'Clients: changed by someone else');
  await question.waitFor();
  assert.match(await question.textContent(), /This record has been changed by another user since you started editing it/);
  await screenshot(first.page, 'record-lock-conflict');
  // Nothing of the refused save reached the database.
  const [stored] = await alice.open('clients', { filters: [['name', 'eq', 'Anna Smith']] });
  assert.equal(stored.city, 'Hamburg');

  await question.getByRole('button', { name: 'Reload the record' }).click();
  await question.waitFor({ state: 'detached' });
  const reloaded = dialog(first.page, 'Clients');
  await reloaded.waitFor();
  assert.equal(await reloaded.getByLabel('City').inputValue(), 'Hamburg');
  // Saving the reloaded record goes through.
  await reloaded.getByLabel('City').fill('Munich');
  await reloaded.getByRole('button', { name: 'Save' }).click();
  await reloaded.waitFor({ state: 'detached' });
  await settled(a.view);
  assert.ok((await rows(a.view)).some((r) => r.includes('Munich')), (await rows(a.view)).join('\n'));
  assertNoProblems(first.page);
  assertNoProblems(second.page);
});

test('the history view lists who changed what, newest first, with old and new values', async () => {
  const { form } = await openClient(first.page, 'Bruno Costa');
  await form.getByLabel('City').fill('Porto');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  const again = await openClient(first.page, 'Bruno Costa');
  await again.form.getByRole('button', { name: 'History' }).click();
  const history = dialog(first.page, /Clients #\d+ · history/);
  await history.waitFor();
  const entries = history.locator('.history-entry');
  await entries.first().waitFor();
  assert.deepEqual(await history.locator('.history-op').allTextContents(), ['Modified', 'Created']);
  assert.deepEqual(await history.locator('.history-user').allTextContents(), ['Alice Clerk', 'Alice Clerk']);
  await entries.first().locator('summary').click();
  const change = entries.first().locator('tr[data-field="city"]');
  assert.equal(await change.locator('th').textContent(), 'City');
  assert.equal(await change.locator('.history-old').textContent(), 'Lisbon');
  assert.equal(await change.locator('.history-new').textContent(), 'Porto');
  await screenshot(first.page, 'record-history');
  await history.getByRole('button', { name: 'Close', exact: true }).click();
  await again.form.getByRole('button', { name: 'Cancel' }).click();
  assertNoProblems(first.page);
});

test('a client a visit points at is not deleted, and the message names the visits', async () => {
  const [client] = await alice.open('clients', { filters: [['name', 'eq', 'Anna Smith']] });
  await alice.insert('visits', [{ place: 'Head office', client: client.id }]);
  const view = await openItem(first.page, 'Clients', 'clients');
  await view.locator('.grid-table tbody tr', { hasText: 'Anna Smith' }).click();
  await view.getByRole('button', { name: 'Delete' }).click();
  const confirm = dialog(first.page, 'Delete — Clients');
  await confirm.getByRole('button', { name: 'Delete' }).click();
  const toast = first.page.locator('.toast-error');
  await toast.waitFor();
  assert.match(await toast.textContent(), /1 record of "visits" refers to it/);
  await toast.getByRole('button', { name: 'Dismiss message' }).click();
  await settled(view);
  assert.ok((await rows(view)).some((r) => r.includes('Anna Smith')));
  assertNoProblems(first.page);
});
