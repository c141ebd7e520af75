// Client modules and form layouts (docs/client-modules.md), on e2e/fixtures/events: every event
// fires in Jam.py's order with Jam.py's arguments (the modules log them in `task.log`); a line's
// on_field_changed computes its amount and the invoice's on_detail_changed its totals; buttons
// call server functions; tabs, bands and chosen columns render; a module that throws, or does not
// even parse, is reported and the rest of the UI works.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.js';
import { openBrowser, screenshot } from '../lib/browser.js';
import { login, openItem, rows, dialog, settled, reset } from '../lib/ui.js';

let server;
let browser;
let page;
let admin;

/** The two broken modules of the fixture report themselves; nothing else may. */
const EXPECTED = /client\/(products|tags)\.js/;

before(async () => {
  server = await startServer({ fixture: 'events', users: [['admin', 'admin', 'Ada Admin']] });
  const { ApiClient } = await import('../lib/server.js');
  admin = new ApiClient(server.url);
  await admin.login('admin');
  await admin.insert('products', [{ name: 'Apple', price: 1.25 }, { name: 'Pear', price: 2.5 }]);
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

function problems() {
  return page.problems.filter((p) => !EXPECTED.test(p));
}

/** The events logged since the last call. */
async function events() {
  return page.evaluate(() => task.log.splice(0));
}

test('the page and a view form fire their events in order, task first', async () => {
  // on_page_loaded ran at start (the log was created there).
  assert.deepEqual((await events())[0], 'task.on_page_loaded');
  const view = await openItem(page, 'Invoices', 'invoices');
  assert.deepEqual(await events(), [
    'task.on_view_form_created invoices',
    'invoices.on_view_form_created',
    'task.on_view_form_shown invoices',
    'invoices.on_view_form_shown with form',
  ]);
  // The layout's columns, in its order, and only the customer's header sorts.
  assert.deepEqual(await view.locator('thead th[data-field]').evaluateAll((ths) => ths.map((t) => t.dataset.field)), ['customer', 'total']);
  assert.equal(await view.locator('th[data-field="customer"] button.th-sort').count(), 1);
  assert.equal(await view.locator('th[data-field="total"] button.th-sort').count(), 0);
  assert.equal(await view.locator('col[data-field="customer"]').evaluate((c) => c.style.width), '240px');
  assert.deepEqual(problems(), []);
});

test('a new invoice: append, form events, field changes, lines computed by their module, totals, save', async () => {
  const view = page.locator('.view-tab[data-item="invoices"]');
  await events();
  await view.getByRole('button', { name: 'New' }).click();
  const form = dialog(page, 'Invoices · new record');
  await form.waitFor();
  assert.deepEqual(await events(), [
    'invoices.on_before_append',
    'invoices.on_after_append taxrate=5',
    'task.on_edit_form_created invoices',
    'invoices.on_edit_form_created true',
    'task.on_edit_form_shown invoices',
    'invoices.on_edit_form_shown with form',
  ]);
  // Tabs and bands: "Main" with a band of two columns and a "Totals" band of three.
  assert.deepEqual(await form.getByRole('tab').allTextContents(), ['Main', 'More']);
  assert.equal(await form.locator('.band-caption').first().textContent(), 'Totals');
  assert.deepEqual(await form.locator('.form-grid.cols-3 .field').evaluateAll((fs) => fs.map((f) => f.dataset.field)), ['subtotal', 'tax', 'total']);
  assert.equal(await form.getByLabel('Note').isVisible(), false);
  // Made read-only by on_edit_form_created.
  assert.equal(await form.getByLabel('Total', { exact: true }).getAttribute('readonly'), '');

  await form.getByLabel('Customer').fill('Ann');
  await form.getByLabel('Customer').press('Tab');
  assert.deepEqual(await events(), ['invoices.on_field_changed customer=Ann']);

  // A line: its module copies the product's price and computes the amount.
  await form.getByRole('button', { name: 'Add Lines row' }).click();
  const line = dialog(page, 'New Lines row');
  await line.waitFor();
  assert.deepEqual(await events(), [
    'lines.on_after_append master=invoices',
    'task.on_edit_form_created lines',
    'task.on_edit_form_shown lines',
  ]);
  await line.getByRole('combobox', { name: 'Product' }).press('Enter');
  const products = dialog(page, 'Select Product');
  await settled(products.locator('.view'));
  await products.locator('tr', { hasText: 'Pear' }).dblclick();
  await products.waitFor({ state: 'detached' });
  assert.deepEqual((await events()).filter((e) => e.startsWith('lines.on_before_field_changed')).slice(0, 1), [
    'lines.on_before_field_changed product was 0',
  ]);
  assert.equal(await line.getByLabel('Price').inputValue(), '2.50');
  assert.equal(await line.getByLabel('Amount').inputValue(), '2.50');
  await line.getByLabel('Qty').fill('3');
  await line.getByLabel('Qty').press('Tab');
  assert.equal(await line.getByLabel('Amount').inputValue(), '7.50');
  await events();
  await page.keyboard.press('Control+Enter');
  await line.waitFor({ state: 'detached' });
  // Values set by code fire on_field_changed too, as in Jam.py.
  assert.deepEqual(await events(), [
    'lines.on_before_post',
    'lines.on_after_post',
    'invoices.on_detail_changed lines 1',
    'invoices.on_field_changed subtotal=7.5',
    'invoices.on_field_changed tax=0.38',
    'invoices.on_field_changed total=7.88',
    'task.on_edit_form_closed lines',
  ]);
  // The invoice's totals from its lines, on screen at once.
  assert.equal(await form.getByLabel('Subtotal').inputValue(), '7.50');
  assert.equal(await form.getByLabel('Tax', { exact: true }).inputValue(), '0.38');
  assert.equal(await form.getByLabel('Total', { exact: true }).inputValue(), '7.88');
  assert.deepEqual(await rows(form.locator('.detail')), ['Pear | 3 | $2.50 | $7.50']);

  // An edit button of the module sets a field the user cannot see on this tab.
  await events();
  await form.getByRole('button', { name: 'Fill' }).click();
  assert.deepEqual(await events(), ['invoices.on_field_changed note=Filled by a button']);
  await form.getByRole('tab', { name: 'More' }).click();
  assert.equal(await form.getByLabel('Note').inputValue(), 'Filled by a button');
  await screenshot(page, 'client-module-form');

  await events();
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  assert.deepEqual(await events(), [
    'invoices.on_before_post',
    'invoices.on_after_post',
    'invoices.on_before_apply',
    'invoices.on_after_apply',
    'task.on_edit_form_closed invoices',
    'invoices.on_edit_form_closed',
  ]);
  const [saved] = await admin.open('invoices', {});
  assert.deepEqual(
    { customer: saved.customer, subtotal: saved.subtotal, tax: saved.tax, total: saved.total, note: saved.note },
    { customer: 'Ann', subtotal: 7.5, tax: 0.38, total: 7.88, note: 'Filled by a button' },
  );
  const lines = await admin.open('lines', { master: { item: 'invoices', id: saved.id } });
  assert.deepEqual(lines.map((l) => [l.qty, l.price, l.amount]), [[3, 2.5, 7.5]]);
  // on_field_get_text writes the grid's customer cell.
  await settled(view);
  assert.deepEqual(await rows(view), ['ANN | $7.88']);
  assert.deepEqual(problems(), []);
});

test('editing: on_before_edit, a tax rate that recomputes every line, close query, cancel', async () => {
  const view = page.locator('.view-tab[data-item="invoices"]');
  await events();
  await view.locator('.grid-table tbody tr').first().dblclick();
  const form = dialog(page, 'Invoices');
  await form.waitFor();
  await settled(form.locator('.detail'));
  const opened = await events();
  assert.deepEqual(opened.slice(0, 2), ['invoices.on_before_edit Ann', 'invoices.on_after_edit']);
  await form.getByLabel('Taxrate').fill('10');
  await form.getByLabel('Taxrate').press('Tab');
  // The invoice's module edits and posts each line again; each post tells the invoice.
  assert.deepEqual(await events(), [
    'invoices.on_field_changed taxrate=10',
    'lines.on_before_post',
    'lines.on_after_post',
    'invoices.on_detail_changed lines 1',
    'invoices.on_field_changed tax=0.75',
    'invoices.on_field_changed total=8.25',
  ]);
  assert.equal(await form.getByLabel('Total', { exact: true }).inputValue(), '8.25');
  // Deleting the line: its events, then the invoice's.
  await form.locator('.detail tbody tr').first().click();
  await form.getByRole('button', { name: 'Delete Lines row' }).click();
  await dialog(page, 'Delete — Lines').getByRole('button', { name: 'Delete' }).click();
  assert.deepEqual(await events(), [
    'lines.on_before_delete 7.5',
    'lines.on_after_delete 0',
    'invoices.on_detail_changed lines 0',
    'invoices.on_field_changed subtotal=0',
    'invoices.on_field_changed tax=0',
    'invoices.on_field_changed total=0',
  ]);
  await page.keyboard.press('Escape');
  const question = dialog(page, 'Unsaved changes');
  await question.getByRole('button', { name: 'Discard changes' }).click();
  await form.waitFor({ state: 'detached' });
  assert.deepEqual(await events(), [
    'invoices.on_edit_form_close_query',
    'task.on_edit_form_close_query invoices',
    'invoices.on_before_cancel',
    'invoices.on_after_cancel',
    'task.on_edit_form_closed invoices',
    'invoices.on_edit_form_closed',
  ]);
  assert.deepEqual(problems(), []);
});

test('on_field_validate and on_before_post refuse a record, beside the field and at the top', async () => {
  const view = page.locator('.view-tab[data-item="invoices"]');
  await view.getByRole('button', { name: 'New' }).click();
  const form = dialog(page, 'Invoices · new record');
  await form.getByLabel('Customer').fill('bad');
  await form.getByLabel('Customer').press('Tab');
  assert.equal(await form.locator('[data-field="customer"] .field-error').textContent(), 'A customer may not be called bad');
  await form.getByLabel('Customer').fill('Nobody');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.locator('.form-banner:not([hidden])').waitFor();
  assert.match(await form.locator('.form-banner').textContent(), /Nobody may buy nothing/);
  assert.equal((await admin.open('invoices', {})).length, 1, 'nothing was saved');
  await page.keyboard.press('Escape');
  await dialog(page, 'Unsaved changes').getByRole('button', { name: 'Discard changes' }).click();
  await form.waitFor({ state: 'detached' });
  assert.deepEqual(problems(), []);
});

test('item.read_only from a module locks the whole form', async () => {
  await admin.insert('invoices', [{ customer: 'Locked' }]);
  const view = page.locator('.view-tab[data-item="invoices"]');
  await view.getByRole('button', { name: 'Refresh' }).click();
  await settled(view);
  await view.locator('tbody tr', { hasText: 'LOCKED' }).dblclick();
  const form = dialog(page, 'Invoices');
  await form.waitFor();
  assert.equal(await form.getByLabel('Customer').getAttribute('readonly'), '');
  assert.equal(await form.getByRole('button', { name: 'Save' }).isHidden(), true);
  await page.keyboard.press('Escape');
  await form.waitFor({ state: 'detached' });
  await page.request.post(`${server.url}/api/items/invoices/apply`, {
    data: { changes: [{ op: 'delete', id: (await admin.open('invoices', { filters: [['customer', 'eq', 'Locked']] }))[0].id }] },
  });
  await view.getByRole('button', { name: 'Refresh' }).click();
  await settled(view);
  assert.deepEqual(problems(), []);
});

test('view buttons call server functions, waiting or with a callback', async () => {
  const view = page.locator('.view-tab[data-item="invoices"]');
  await events();
  await view.getByRole('button', { name: 'Double', exact: true }).click();
  await page.locator('.notice', { hasText: 'Doubled: 42' }).waitFor();
  await view.getByRole('button', { name: 'Double later' }).click();
  await page.waitForFunction(() => task.log.length >= 2);
  assert.deepEqual(await events(), ['server 42', 'server async 8 null']);
  // open() of a copy: waiting, or with a callback; the copy has the item's handlers.
  await view.getByRole('button', { name: 'Count' }).click();
  await page.waitForFunction(() => task.log.length >= 4);
  assert.deepEqual(await events(), [
    'invoices.on_after_open 1',
    'opened 1',
    'invoices.on_after_open 1',
    'opened later 1',
  ]);
  assert.deepEqual(problems(), []);
});

test('on_view_form_close_query can keep a view open', async () => {
  await page.evaluate(() => { task.keep_open = true; });
  await events();
  await page.getByRole('button', { name: 'Close Invoices' }).click();
  assert.equal(await page.locator('.view-tab[data-item="invoices"]').isVisible(), true);
  await page.evaluate(() => { task.keep_open = false; });
  await page.getByRole('button', { name: 'Close Invoices' }).click();
  await page.locator('.view-tab[data-item="invoices"]').waitFor({ state: 'detached' });
  assert.deepEqual(await events(), [
    'invoices.on_view_form_close_query',
    'invoices.on_view_form_close_query',
    'invoices.on_view_form_closed',
  ]);
});

test('a module that throws, or does not parse, is reported and contained', async () => {
  // tags.js did not parse: reported when the page loaded; its view works without it.
  assert.ok(page.problems.some((p) => /client\/tags\.js/.test(p)), page.problems.join('\n'));
  const tags = await openItem(page, 'Tags', 'tags');
  assert.equal(await tags.locator('.grid-empty').isVisible(), true);
  // products.js throws in on_view_form_created: a message names the module and the handler,
  // and the grid loads all the same.
  const products = await openItem(page, 'Products', 'products');
  await page.locator('.toast-error', { hasText: 'client/products.js: on_view_form_created' }).first().waitFor();
  assert.deepEqual(await rows(products), ['Apple | $1.25', 'Pear | $2.50']);
  assert.ok(page.problems.some((p) => /client\/products\.js: on_view_form_created failed/.test(p)));
  assert.deepEqual(problems(), []);
});
