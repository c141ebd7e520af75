// The demo (`jamrs new --template demo`) behaves like Jam.py's: a music store with data to
// browse, grids that lead with what matters, and an invoice entered with lines whose prices,
// taxes and totals its client modules compute on screen — and the server stores the same.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ApiClient } from '../lib/server.js';
import { openBrowser, screenshot } from '../lib/browser.js';
import { login, openItem, status, assertNoProblems, dialog, settled } from '../lib/ui.js';

let server;
let browser;
let page;
let api;

before(async () => {
  server = await startServer({ template: 'demo', users: [['clerk', 'user', 'Carla Clerk']] });
  api = new ApiClient(server.url);
  await api.login('clerk');
  browser = await openBrowser();
  ({ page } = browser);
  await login(page, server.url, 'clerk');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the store has data to browse, in grids laid out as the demo lays them out', async () => {
  const invoices = await openItem(page, 'Invoices', 'invoices');
  assert.equal(await status(invoices), '1–25 of 420');
  assert.deepEqual(
    await invoices.locator('thead th[data-field]').evaluateAll((ths) => ths.map((t) => t.dataset.field)),
    ['invoice_date', 'customer', 'billing_city', 'billing_country', 'paid', 'subtotal', 'tax', 'total'],
  );
  // The customer column shows the full name (the module's on_field_get_text).
  const first = await invoices.locator('tbody tr').first().locator('td[data-label="Customer"]').textContent();
  assert.match(first, /^\S+ \S+$/, first);
  const tracks = await openItem(page, 'Tracks', 'tracks');
  assert.match(await status(tracks), /^1–25 of [2-9],\d{3}$/);
  assert.deepEqual(
    (await tracks.locator('thead th[data-field]').evaluateAll((ths) => ths.map((t) => t.dataset.field))).slice(0, 3),
    ['artist', 'album', 'name'],
  );
  await screenshot(page, 'demo-tracks');
  assertNoProblems(page);
});

test('an invoice entered with lines: prices, taxes and totals on screen and in the database', async () => {
  // A track with a name no other track has, and its price.
  const all = await api.open('tracks', { fields: ['id', 'name', 'unitprice'], order: [['id', false]], limit: 1000 });
  const counts = new Map();
  for (const t of all) counts.set(t.name, (counts.get(t.name) || 0) + 1);
  const track = all.find((t) => counts.get(t.name) === 1 && t.unitprice === 1.99);
  assert.ok(track, 'a video track with a unique name');

  await page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Invoices' }).click();
  const invoices = page.locator('.view-tab[data-item="invoices"]');
  await invoices.getByRole('button', { name: 'New' }).click();
  const form = dialog(page, 'Invoices · new record');
  await form.waitFor();
  const customer = form.getByRole('combobox', { name: 'Customer' });
  await customer.fill('Xu');
  await form.getByRole('listbox', { name: 'Customer matches' }).getByRole('option', { name: 'Xu' }).waitFor();
  await customer.press('Enter');
  assert.notEqual(await form.getByLabel('Billing city').inputValue(), '');
  assert.equal(await form.getByLabel('First name').inputValue(), 'Umar');

  await form.getByRole('button', { name: 'Add Invoice lines row' }).click();
  const line = dialog(page, 'New Invoice lines row');
  const trackInput = line.getByRole('combobox', { name: 'Track' });
  await trackInput.fill(track.name);
  await line.getByRole('listbox', { name: 'Track matches' }).getByRole('option', { name: track.name, exact: true }).waitFor();
  await line.getByRole('listbox', { name: 'Track matches' }).getByRole('option', { name: track.name, exact: true }).click();
  // The module: the track's price, then amount, tax (5 %) and total (read-only: shown as money).
  assert.equal(await line.getByLabel('Unit Price').inputValue(), '1.99');
  assert.equal(await line.getByLabel('Amount').inputValue(), '$1.99');
  assert.equal(await line.getByLabel('Tax', { exact: true }).inputValue(), '$0.10');
  assert.equal(await line.getByLabel('Total', { exact: true }).inputValue(), '$2.09');
  await line.getByLabel('Quantity').fill('2');
  await line.getByLabel('Quantity').press('Tab');
  assert.equal(await line.getByLabel('Amount').inputValue(), '$3.98');
  assert.equal(await line.getByLabel('Total', { exact: true }).inputValue(), '$4.18');
  await page.keyboard.press('Control+Enter');
  await line.waitFor({ state: 'detached' });
  // The invoice's totals from its line.
  assert.equal(await form.getByLabel('Subtotal').inputValue(), '$3.98');
  assert.equal(await form.getByLabel('Tax', { exact: true }).inputValue(), '$0.20');
  assert.equal(await form.getByLabel('Total', { exact: true }).inputValue(), '$4.18');
  // A new tax rate prices the line again.
  await form.getByLabel('Tax rate').fill('10');
  await form.getByLabel('Tax rate').press('Tab');
  assert.equal(await form.getByLabel('Tax', { exact: true }).inputValue(), '$0.40');
  assert.equal(await form.getByLabel('Total', { exact: true }).inputValue(), '$4.38');
  assert.deepEqual(
    await form.locator('.detail tbody tr td').evaluateAll((tds) => tds.map((td) => td.textContent.trim()).slice(2)),
    [track.name, '2', '$1.99', '$3.98', '$0.40', '$4.38'],
  );
  await screenshot(page, 'demo-invoice');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  await settled(invoices);

  // In the database: the server's own computation agrees, line and invoice.
  const [saved] = await api.open('invoices', {
    expanded: true, fields: ['id', 'customer', 'taxrate', 'subtotal', 'tax', 'total'], order: [['id', true]], limit: 1,
  });
  const cents = (x) => Math.round(x * 100);
  assert.deepEqual([saved.taxrate, cents(saved.subtotal), cents(saved.tax), cents(saved.total)], [10, 398, 40, 438]);
  const lines = await api.open('invoice_table', { master: { item: 'invoices', id: saved.id } });
  assert.deepEqual(
    lines.map((l) => [l.track, l.quantity, l.unitprice, l.amount, l.tax, l.total, l.customer, l.invoice_date]),
    [[track.id, 2, 1.99, 3.98, 0.4, 4.38, saved.customer, new Date().toISOString().slice(0, 10)]],
  );
  assertNoProblems(page);
});
