// `multi_select_all` on an IN filter of a lookup (the shop's orders.customer): the selection
// dialog's "Select all" marks every row that matches its search, on every page, up to the
// server's max_limit (30 here), and says so when more match.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.js';
import { seed, USERS } from '../lib/seed.js';
import { openBrowser } from '../lib/browser.js';
import { login, openItem, assertNoProblems, dialog, settled, reset } from '../lib/ui.js';

let server;
let browser;
let page;

before(async () => {
  server = await startServer({ users: USERS, env: { JAMRS_MAX_LIMIT: '30' } });
  const admin = await seed(server.url);
  // 8 customers from the seed and 32 more: 40, two pages of 25 in the dialog.
  await admin.insert('customers', Array.from({ length: 32 }, (_, i) => ({ name: `Cust ${i + 1}`, city: 'Oslo' })));
  browser = await openBrowser();
  ({ page } = browser);
  await login(page, server.url, 'admin');
});

afterEach(async () => {
  await reset(page);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('Select all marks every match on all pages, up to max_limit, and says when more match', async () => {
  const orders = await openItem(page, 'Orders', 'orders');
  await orders.getByRole('button', { name: 'Filters' }).click();
  const form = dialog(page, 'Filters — Orders');
  await form.getByRole('button', { name: 'Choose Customer' }).click();
  const choose = dialog(page, 'Select Customer');
  const view = choose.locator('.view');
  await settled(view);
  assert.equal((await view.locator('.pager-status').textContent()).trim(), '1–25 of 40');
  // The header's checkbox marks this page only; Select all reaches past it.
  await choose.getByRole('button', { name: 'Select all', exact: true }).click();
  await choose.locator('.selection-info', { hasText: '30 selected' }).waitFor();
  assert.match(await choose.locator('.select-all-note').textContent(), /Selected the first 30 of 40 matching rows: the server sends at most 30 at a time/);

  // Within a search ("Cust" and "1": Cust 1, 10–19, 21 and 31): every match, with no note.
  await choose.getByRole('button', { name: 'Clear selection' }).click();
  await choose.getByRole('searchbox').fill('Cust 1');
  await choose.getByRole('searchbox').press('Enter');
  await settled(view);
  assert.equal((await view.locator('.pager-status').textContent()).trim(), '1–13 of 13');
  await choose.getByRole('button', { name: 'Select all', exact: true }).click();
  await choose.locator('.selection-info', { hasText: '13 selected' }).waitFor();
  assert.equal(await choose.locator('.select-all-note').isHidden(), true);
  await choose.getByRole('button', { name: 'Select', exact: true }).click();
  await choose.waitFor({ state: 'detached' });
  assert.equal(await form.locator('.multi-lookup .chip').count(), 13);
  await form.getByRole('button', { name: 'Apply' }).click();
  await settled(orders);
  const chip = await orders.locator('.filter-chips .chip > span').first().textContent();
  assert.match(chip, /^Customer: Cust 1, Cust 10, /);
  assertNoProblems(page);
});

test('without multi_select_all the dialog offers no Select all', async () => {
  // The tags field (keys) opens the same dialog for a record, not a filter: no Select all there.
  const orders = page.locator('.view-tab[data-item="orders"]');
  await orders.getByRole('button', { name: 'New' }).click();
  const form = dialog(page, 'Orders · new record');
  await form.getByRole('button', { name: 'Choose Tags' }).click();
  const choose = dialog(page, 'Select Tags');
  await settled(choose.locator('.view'));
  assert.equal(await choose.getByRole('button', { name: 'Select all', exact: true }).count(), 0);
  await page.keyboard.press('Escape');
  await choose.waitFor({ state: 'detached' });
  await page.keyboard.press('Escape');
  await form.waitFor({ state: 'detached' });
  assertNoProblems(page);
});
