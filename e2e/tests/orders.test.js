// The edit form on a master with a detail: inputs per type, lookups by typeahead and by dialog,
// keys, server validation beside the fields, details saved with the master in one apply, the
// unsaved-changes prompt, delete with confirmation, and a server module's errors.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ApiClient } from '../lib/server.js';
import { seed, USERS } from '../lib/seed.js';
import { openBrowser, screenshot } from '../lib/browser.js';
import { login, openItem, rows, status, assertNoProblems, dialog, settled, reset } from '../lib/ui.js';

let server;
let browser;
let page;
let orders;
let admin;
let alice;

before(async () => {
  server = await startServer({ users: USERS });
  admin = await seed(server.url);
  alice = new ApiClient(server.url);
  await alice.login('alice');
  browser = await openBrowser();
  ({ page } = browser);
  await login(page, server.url, 'alice');
  orders = await openItem(page, 'Orders', 'orders');
});

afterEach(async () => {
  await reset(page);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The cells of the grid's rows as objects keyed by column caption. */
async function records(view) {
  return view.locator('.grid-table tbody tr').evaluateAll((trs) => trs.map((tr) => Object.fromEntries(
    [...tr.cells].filter((td) => td.dataset.label).map((td) => [td.dataset.label, td.textContent.trim()]))));
}

/** In the lookup dialog `title`: search, then pick the row with `rowText` by Enter or double-click. */
async function pickInDialog(title, search, rowText, how) {
  const lookup = dialog(page, title);
  await lookup.waitFor();
  const view = lookup.locator('.view');
  await settled(view);
  await lookup.getByRole('searchbox').fill(search);
  await lookup.getByRole('searchbox').press('Enter');
  await settled(view);
  const row = lookup.locator('.grid-table tbody tr', { hasText: rowText });
  if (how === 'dblclick') await row.dblclick();
  else await page.keyboard.press('Enter');
  await lookup.waitFor({ state: 'detached' });
}

test('a new order: typeahead, errors beside the field, details chosen in a dialog, one save', async () => {
  await orders.locator('.grid-table').focus();
  await page.keyboard.press('Control+Insert');
  const form = dialog(page, 'Orders · new record');
  await form.waitFor();
  // Saving at once: the required customer is marked beside it (the server's own 422 would say
  // the same; entry.test.js shows one the browser cannot foresee).
  await page.keyboard.press('Control+Enter');
  const customerError = form.locator('[data-field="customer"] .field-error');
  await customerError.waitFor();
  assert.equal(await customerError.textContent(), 'is required');
  const customer = form.getByRole('combobox', { name: 'Customer' });
  assert.equal(await customer.getAttribute('aria-invalid'), 'true');
  assert.match(await form.locator('.form-banner').textContent(), /Please correct the marked fields/);

  // Typeahead: "an" matches four customers; the second is Anna Smith. Esc closes only the list.
  await customer.fill('an');
  const list = form.getByRole('listbox', { name: 'Customer matches' });
  await list.getByRole('option').first().waitFor();
  await customer.press('Escape');
  await list.waitFor({ state: 'hidden' });
  assert.equal(await form.isVisible(), true);
  await customer.fill('an ');
  await customer.fill('an');
  await list.getByRole('option').first().waitFor();
  assert.deepEqual(await list.getByRole('option').allTextContents(), ['Andrew Jones', 'Anna Smith', 'Dana White', 'Fatima Khan']);
  await customer.press('ArrowDown');
  await customer.press('Enter');
  assert.equal(await customer.inputValue(), 'Anna Smith');
  assert.equal(await customerError.isHidden(), true);
  // The master field shows the chosen customer's city at once.
  assert.equal(await form.getByLabel('City').inputValue(), 'Berlin');
  assert.equal(await form.getByLabel('City').getAttribute('readonly'), '');

  assert.equal(await form.getByLabel('Date').inputValue(), new Date().toISOString().slice(0, 10));
  await form.getByLabel('Status').selectOption({ label: 'Paid' });
  await form.getByLabel('Paid').check();
  await form.getByLabel('Delivery').fill('2025-05-01T10:30');
  // The clerk may not change the discount; nobody types a calculated field.
  assert.equal(await form.getByLabel('Discount %').getAttribute('readonly'), '');
  assert.equal(await form.getByLabel('Items').getAttribute('readonly'), '');
  await form.getByLabel('Note').fill('Ring the bell twice.');

  // Keys: one tag by typing, another in the dialog (where the first is already marked).
  const tags = form.getByRole('combobox', { name: 'Tags' });
  await tags.fill('urg');
  await form.getByRole('listbox', { name: 'Tags matches' }).getByRole('option', { name: 'urgent' }).waitFor();
  await tags.press('Enter');
  await form.getByRole('button', { name: 'Choose Tags' }).click();
  const tagDialog = dialog(page, 'Select Tags');
  await settled(tagDialog.locator('.view'));
  assert.equal(await tagDialog.locator('tr[aria-selected="true"]').count(), 1);
  await tagDialog.locator('tr', { hasText: 'gift' }).getByRole('checkbox').check();
  await tagDialog.getByRole('button', { name: 'Select', exact: true }).click();
  assert.deepEqual(await form.locator('.multi-lookup .chip > span').allTextContents(), ['urgent', 'gift']);

  // A detail row: the product field opens its dialog on Enter (it is not a typeahead field).
  await form.getByRole('button', { name: 'Add Order lines row' }).click();
  const line = dialog(page, 'New Order lines row');
  await line.getByRole('combobox', { name: 'Product' }).press('Enter');
  const productDialog = dialog(page, 'Select Product');
  await productDialog.waitFor();
  await settled(productDialog.locator('.view'));
  await screenshot(page, 'lookup-dialog');
  await pickInDialog('Select Product', 'gadget', 'Gadget Pro', 'enter');
  assert.equal(await line.getByRole('combobox', { name: 'Product' }).inputValue(), 'Gadget Pro');
  assert.equal(await line.getByLabel('Quantity').inputValue(), '1');
  await line.getByLabel('Quantity').fill('2');
  // Numbers are read and shown in the locale's way.
  await line.getByLabel('Price').fill('1,234.5');
  await line.getByLabel('Quantity').focus();
  assert.equal(await line.getByLabel('Price').inputValue(), '1,234.50');
  await line.getByLabel('Price').fill('2x');
  await line.getByRole('button', { name: 'OK' }).click();
  assert.equal(await line.locator('[data-field="price"] .field-error').textContent(), 'Enter a number');
  await line.getByLabel('Price').fill('249.99');
  await page.keyboard.press('Control+Enter');
  await line.waitFor({ state: 'detached' });

  // A second row, from the keyboard: Ctrl+Ins in the detail grid, the "…" button, double-click.
  const detail = form.locator('.detail[data-detail="order_lines"]');
  await detail.locator('.grid-table').focus();
  await page.keyboard.press('Control+Insert');
  await line.waitFor();
  await line.getByRole('button', { name: 'Choose Product' }).click();
  await pickInDialog('Select Product', 'widget 05', 'Widget 05', 'dblclick');
  await line.getByLabel('Quantity').fill('3');
  await line.getByLabel('Price').fill('7.5');
  await line.getByRole('button', { name: 'OK' }).click();
  await line.waitFor({ state: 'detached' });
  assert.deepEqual(await rows(detail), ['Gadget Pro | 2 | $249.99', 'Widget 05 | 3 | $7.50']);
  // Order lines mark no summary fields: the amount is summed, the quantity is not.
  assert.deepEqual(await detail.locator('tfoot td').allTextContents(), ['Total', '', '$257.49']);
  await screenshot(page, 'edit-form');

  await page.keyboard.press('Control+Enter');
  await form.waitFor({ state: 'detached' });
  await page.getByText('Orders: record created').waitFor();
  await settled(orders);
  const [order] = await records(orders);
  assert.equal(order.Customer, 'Anna Smith');
  assert.equal(order.City, 'Berlin');
  assert.equal(order.Status, 'Paid');
  assert.equal(order.Paid, 'Yes');
  assert.equal(order.Delivery, 'May 1, 2025, 10:30 AM');
  assert.equal(order.Tags, 'urgent, gift');
  assert.equal(order.Items, '5');
  assert.equal(order.Note, 'Ring the bell twice.');
  // One apply saved the order with both lines.
  const [saved] = await alice.open('orders', {});
  const lines = await alice.open('order_lines', { master: { item: 'orders', id: saved.id } });
  assert.deepEqual(lines.map((l) => [l.qty, l.price]), [[2, 249.99], [3, 7.5]]);
  assert.equal(saved.delivery, '2025-05-01 10:30:00');
  assert.equal(saved.tags.split(';').length, 2);
  await screenshot(page, 'grid-orders');
  assertNoProblems(page);
});

test('editing: detail rows come from the server; one is changed, one deleted, saved together', async () => {
  await orders.locator('.grid-table').focus();
  await page.keyboard.press('Home');
  await page.keyboard.press('Enter');
  const form = dialog(page, 'Orders');
  const detail = form.locator('.detail[data-detail="order_lines"]');
  await detail.locator('tbody tr').nth(1).waitFor();
  assert.equal(new URL(page.url()).hash, `#/orders/${(await alice.open('orders', {}))[0].id}`);
  await detail.locator('tbody tr', { hasText: 'Widget 05' }).click();
  await detail.getByRole('button', { name: 'Delete Order lines row' }).click();
  await dialog(page, 'Delete — Order lines').getByRole('button', { name: 'Delete' }).click();
  await detail.locator('tbody tr', { hasText: 'Gadget Pro' }).dblclick();
  const line = dialog(page, /Order lines row 1/);
  await line.getByLabel('Quantity').fill('4');
  await line.getByRole('button', { name: 'OK' }).click();
  assert.deepEqual(await rows(detail), ['Gadget Pro | 4 | $249.99']);
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  await page.getByText('Orders: changes saved').waitFor();
  await settled(orders);
  assert.equal((await records(orders))[0].Items, '4');
  assert.equal(new URL(page.url()).hash, '#/orders');
  assertNoProblems(page);
});

test('a detail row the server refuses is marked on its row, and nothing is saved', async () => {
  await orders.getByRole('button', { name: 'New' }).click();
  const form = dialog(page, 'Orders · new record');
  const customer = form.getByRole('combobox', { name: 'Customer' });
  await customer.fill('bella');
  await form.getByRole('option', { name: 'Bella Brown' }).click();
  await form.getByRole('button', { name: 'Add Order lines row' }).click();
  const line = dialog(page, 'New Order lines row');
  await line.getByRole('button', { name: 'Choose Product' }).click();
  await pickInDialog('Select Product', 'widget 07', 'Widget 07', 'dblclick');
  // Required fields of a detail row are checked before it joins the list.
  await line.getByRole('button', { name: 'OK' }).click();
  assert.equal(await line.locator('[data-field="price"] .field-error').textContent(), 'is required');
  await line.getByLabel('Price').fill('10.5');
  await line.getByRole('button', { name: 'OK' }).click();
  await line.waitFor({ state: 'detached' });
  // Meanwhile the product is deleted.
  const [product] = await admin.open('products', { filters: [['name', 'eq', 'Widget 07']] });
  await admin.apply('products', [{ op: 'delete', id: product.id }]);
  const before = (await alice.open('orders', {})).length;
  await form.getByRole('button', { name: 'Save' }).click();
  const detail = form.locator('.detail[data-detail="order_lines"]');
  const errors = detail.locator('.detail-errors');
  await errors.waitFor();
  assert.equal(await errors.textContent(), `Row 1: Product: products ${product.id} does not exist`);
  assert.equal(await detail.locator('tbody tr.invalid').count(), 1);
  assert.equal((await alice.open('orders', {})).length, before, 'nothing was saved');
  // Another product, and it saves.
  await detail.locator('tbody tr').dblclick();
  const again = dialog(page, /Order lines row 1/);
  await again.getByRole('button', { name: 'Choose Product' }).click();
  await pickInDialog('Select Product', 'widget 08', 'Widget 08', 'dblclick');
  await again.getByRole('button', { name: 'OK' }).click();
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  assert.equal((await alice.open('orders', {})).length, before + 1);
  assertNoProblems(page);
});

test('unsaved changes: Esc asks first; keep editing, or discard and nothing changes', async () => {
  await settled(orders);
  await orders.locator('.grid-table').focus();
  await page.keyboard.press('Home');
  await page.keyboard.press('Enter');
  const form = dialog(page, 'Orders');
  await form.getByLabel('Note').fill('A different note');
  await page.keyboard.press('Escape');
  const prompt = dialog(page, 'Unsaved changes');
  assert.match(await prompt.textContent(), /Data has been modified/);
  await prompt.getByRole('button', { name: 'Keep editing' }).click();
  assert.equal(await form.getByLabel('Note').inputValue(), 'A different note');
  await page.keyboard.press('Escape');
  await prompt.getByRole('button', { name: 'Discard changes' }).click();
  await form.waitFor({ state: 'detached' });
  // Unchanged, a form closes without asking.
  await page.keyboard.press('Enter');
  await form.waitFor();
  await page.keyboard.press('Escape');
  await form.waitFor({ state: 'detached' });
  const notes = (await alice.open('orders', {})).map((o) => o.note);
  assert.ok(!notes.includes('A different note'));
  assertNoProblems(page);
});

test('filters: customers chosen in a dialog (IN), and a date', async () => {
  await orders.getByRole('button', { name: 'Filters' }).click();
  const form = dialog(page, 'Filters — Orders');
  await form.getByRole('button', { name: 'Choose Customer' }).click();
  const choose = dialog(page, 'Select Customer');
  await settled(choose.locator('.view'));
  await choose.locator('tr', { hasText: 'Bella Brown' }).getByRole('checkbox').check();
  await choose.getByRole('button', { name: 'Select', exact: true }).click();
  await form.getByLabel('From').fill('2000-01-01');
  await form.getByRole('button', { name: 'Apply' }).click();
  await settled(orders);
  assert.deepEqual((await records(orders)).map((r) => r.Customer), ['Bella Brown']);
  assert.deepEqual(await orders.locator('.filter-chips .chip > span').allTextContents(),
    ['Customer: Bella Brown', 'From: ≥ Jan 1, 2000']);
  await orders.getByRole('button', { name: 'Remove filter Customer' }).click();
  await orders.getByRole('button', { name: 'Remove filter From' }).click();
  await settled(orders);
  assert.equal(await status(orders), '1–2 of 2');
  assertNoProblems(page);
});

test('delete asks first: Cancel keeps the record, Delete removes it', async () => {
  await orders.locator('.grid-table').focus();
  await page.keyboard.press('Home');
  await page.keyboard.press('Control+Delete');
  const confirm = dialog(page, 'Delete — Orders');
  assert.match(await confirm.textContent(), /Delete the record\?/);
  await page.keyboard.press('Escape');
  await confirm.waitFor({ state: 'detached' });
  assert.equal(await status(orders), '1–2 of 2');
  await page.keyboard.press('Control+Delete');
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await page.getByText('Record deleted').waitFor();
  await settled(orders);
  assert.equal(await status(orders), '1–1 of 1');
  assert.equal((await alice.open('orders', {})).length, 1);
  assertNoProblems(page);
});

test("a server module's errors: shown in the form, which keeps what was typed, or as a message", async () => {
  const customers = await openItem(page, 'Customers', 'customers');
  await customers.getByRole('button', { name: 'New' }).click();
  const form = dialog(page, 'Customers · new record');
  await form.getByLabel('Name').fill('Blocked Ltd');
  await form.getByLabel('City').fill('Oslo');
  await form.getByRole('button', { name: 'Save' }).click();
  const banner = form.locator('.form-banner');
  await banner.waitFor();
  assert.equal(await banner.textContent(), 'The server refused the changesCustomers named "Blocked …" are not accepted');
  assert.equal(await form.getByLabel('Name').inputValue(), 'Blocked Ltd');
  await form.getByLabel('Name').fill('Open Ltd');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  await settled(customers);
  assert.ok((await rows(customers)).some((r) => r.startsWith('Open Ltd | Oslo')));
  // A refused delete is a message that stays until it is dismissed.
  await admin.insert('customers', [{ name: 'Locked Inc', city: 'Rome' }]);
  await customers.getByRole('button', { name: 'Refresh' }).click();
  await settled(customers);
  await customers.locator('tr', { hasText: 'Locked Inc' }).click();
  await customers.getByRole('button', { name: 'Delete' }).click();
  await dialog(page, 'Delete — Customers').getByRole('button', { name: 'Delete' }).click();
  const message = page.getByRole('alert').filter({ hasText: 'Locked customers cannot be deleted' });
  await message.waitFor();
  assert.match(await message.textContent(), /The record was not deleted/);
  await page.waitForTimeout(4500);
  assert.ok(await message.isVisible(), 'an error does not fade');
  await message.getByRole('button', { name: 'Dismiss message' }).click();
  await message.waitFor({ state: 'detached' });
  assert.ok((await rows(customers)).some((r) => r.startsWith('Locked Inc')));
  assertNoProblems(page);
});
