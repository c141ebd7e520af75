// Reports and exports in the browser, on examples/reports (docs/reports.md): the Reports menu,
// the report parameter form (required params, a lookup, the format), printing to a download, the
// view form's Reports menu for the current record, exporting the grid's rows to CSV, and the
// progress of a long export with Cancel.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, ApiClient } from '../lib/server.js';
import { openBrowser, screenshot } from '../lib/browser.js';
import { login, openItem, assertNoProblems, dialog, settled, reset } from '../lib/ui.js';

let server;
let ann;
let guest;
let api;

before(async () => {
  server = await startServer({
    fixture: 'reports', from: 'examples/reports',
    users: [['ann', 'clerk', 'Ann Clerk'], ['guest', 'guest', 'Gus Guest']],
  });
  api = new ApiClient(server.url);
  await api.login('ann');
  const [tea, cafe] = await api.insert('customers', [
    { name: 'Tea House', country: 'France' },
    { name: 'Café Noir', country: 'Spain' },
  ]);
  await api.apply('invoices', [{
    op: 'insert', values: { customer: tea, invoice_date: '2024-05-01' },
    details: { invoice_lines: [{ op: 'insert', values: { item: 'Green tea', quantity: 3, price: 4.5 } }] },
  }]);
  await api.apply('invoices', [{ op: 'insert', values: { customer: cafe, invoice_date: '2024-06-01' } }]);
  ann = await openBrowser();
  guest = await openBrowser();
  await login(ann.page, server.url, 'ann');
  await login(guest.page, server.url, 'guest');
});

after(async () => {
  await ann?.close();
  await guest?.close();
  await server?.stop();
});

/** Clicks `button` and returns the download it starts. */
async function downloadBy(page, click) {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60000 }), click()]);
  return download;
}

test('the Reports menu lists the reports the role may print', async () => {
  const { page } = ann;
  const menu = page.getByRole('navigation', { name: 'Menu' });
  const reports = menu.locator('.menu-reports');
  assert.equal(await reports.locator('.menu-caption').textContent(), 'Reports');
  assert.deepEqual(await reports.locator('.menu-report').allTextContents(), ['Invoice', 'Customers']);
  // The guest may print nothing: no Reports group.
  assert.equal(await guest.page.locator('.menu-reports').count(), 0);
  assertNoProblems(page);
});

test('the parameter form checks required params and prints to a download', async (t) => {
  const { page } = ann;
  t.after(() => reset(page));
  await page.getByRole('navigation', { name: 'Menu' }).getByRole('button', { name: 'Invoice' }).click();
  const form = dialog(page, 'Invoice');
  await form.waitFor();
  // Nothing chosen: the form says so beside the input and sends nothing.
  await form.getByRole('button', { name: 'Print' }).click();
  await form.locator('[data-param="id"] .field-error').waitFor();
  assert.equal(await form.locator('[data-param="id"] .field-error').textContent(), 'A value is required');
  // The formats the report offers, PDF first.
  assert.deepEqual(await form.getByLabel('Format').locator('option').allTextContents(),
    ['PDF', 'Spreadsheet (ODS)', 'Excel (XLSX)']);
  await form.getByRole('button', { name: 'Close (Esc)' }).click();
  await form.waitFor({ state: 'detached' });

  // The customer list: a text param, a multi-select lookup; printed as a spreadsheet.
  await page.getByRole('navigation', { name: 'Menu' }).getByRole('button', { name: 'Customers' }).click();
  const list = dialog(page, 'Customers');
  await list.getByLabel('Country').fill('France');
  await list.getByLabel('Format').selectOption('ods');
  await screenshot(page, 'report-params');
  const download = await downloadBy(page, () => list.getByRole('button', { name: 'Print' }).click());
  assert.equal(download.suggestedFilename(), 'customer_list.ods');
  const bytes = readFileSync(await download.path());
  assert.equal(bytes.subarray(0, 2).toString(), 'PK');
  await page.getByText('customer_list.ods is ready').waitFor();
  assertNoProblems(page);
});

test("the view's Reports menu prints the current record", async (t) => {
  const { page } = ann;
  t.after(() => reset(page));
  const view = await openItem(page, 'Invoices', 'invoices');
  await view.locator('.grid-table tbody tr').filter({ hasText: 'Tea House' }).click();
  await view.getByRole('button', { name: 'Reports' }).click();
  await view.getByRole('menuitem', { name: 'Invoice' }).click();
  const form = dialog(page, 'Invoice');
  // The param is the current invoice, shown by its customer's name.
  assert.equal(await form.getByRole('combobox', { name: 'Invoice' }).inputValue(), 'Tea House');
  await form.getByLabel('Format').selectOption('ods');
  const download = await downloadBy(page, () => form.getByRole('button', { name: 'Print' }).click());
  assert.equal(download.suggestedFilename(), 'invoice.ods');
  await settled(view);
  assertNoProblems(page);
});

test('the grid exports its rows as it shows them', async (t) => {
  const { page } = ann;
  t.after(() => reset(page));
  const view = await openItem(page, 'Customers', 'customers');
  await view.getByRole('searchbox').fill('caf');
  await page.waitForTimeout(400);
  await settled(view);
  await view.getByRole('button', { name: 'Export' }).click();
  const download = await downloadBy(page, () => view.getByRole('menuitem', { name: 'CSV' }).click());
  assert.equal(download.suggestedFilename(), 'customers.csv');
  const text = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '');
  // The shown columns only (a clerk may not see the phone), the searched row only.
  assert.equal(text, 'Name,Country\r\nCafé Noir,Spain\r\n');
  // A guest, who may view customers and print nothing, may export them but has no Reports menu.
  const guestView = await openItem(guest.page, 'Customers', 'customers');
  assert.equal(await guestView.getByRole('button', { name: 'Reports' }).count(), 0);
  assert.equal(await guestView.getByRole('button', { name: 'Export' }).count(), 1);
  assertNoProblems(page);
});

test('a long export shows its progress and can be cancelled', async (t) => {
  const { page } = ann;
  t.after(() => reset(page));
  for (let batch = 0; batch < 6; batch += 1) {
    await api.insert('customers', Array.from({ length: 10000 }, (_, i) => ({ name: `Bulk ${batch}-${i}`, country: 'Norway' })));
  }
  const view = await openItem(page, 'Customers', 'customers');
  await view.getByRole('searchbox').fill('');
  await page.waitForTimeout(400);
  await settled(view);
  await view.getByRole('button', { name: 'Export' }).click();
  await view.getByRole('menuitem', { name: 'Excel (XLSX)' }).click();
  const progress = dialog(page, 'Exporting Customers');
  await progress.waitFor();
  await screenshot(page, 'export-progress');
  await progress.getByText(/of 60,002 rows/).waitFor({ timeout: 60000 });
  await progress.getByRole('button', { name: 'Cancel' }).click();
  await page.getByText('Exporting Customers: cancelled').waitFor({ timeout: 60000 });
  assert.equal(await progress.count(), 0);
  assertNoProblems(page);
});
