// What a user types is saved as typed or refused with a message beside the field, never changed
// behind their back: numbers read strictly by the locale's rules and kept within their type's
// range, a required date that was cleared, a text longer than its field; and the message that a
// record was saved covers no control.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.js';
import { seed, USERS } from '../lib/seed.js';
import { openBrowser } from '../lib/browser.js';
import { login, openItem, assertNoProblems, dialog, reset, controlsCovered } from '../lib/ui.js';

let server;
let browser;
let page;
let admin;

before(async () => {
  server = await startServer({ users: USERS });
  admin = await seed(server.url);
  browser = await openBrowser();
  ({ page } = browser);
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  await login(page, server.url, 'admin');
});

afterEach(async () => {
  await reset(page);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The message beside field `name` of `form`. */
const fieldError = (form, name) => form.locator(`[data-field="${name}"] .field-error`);

async function newRecord(caption, name) {
  const view = await openItem(page, caption, name);
  await view.getByRole('button', { name: 'New' }).click();
  const form = dialog(page, `${caption} · new record`);
  await form.waitFor();
  return { view, form };
}

test('a malformed number is refused, not reinterpreted', async () => {
  const { form } = await newRecord('Products', 'products');
  await form.getByLabel('Name').fill('Comma test');
  const price = form.getByLabel('Price');
  const error = fieldError(form, 'price');
  // "1,29" in English: "," groups thousands, and this grouping is wrong. Not 129, not 1.29.
  await price.fill('1,29');
  await price.press('Tab');
  assert.equal(await error.textContent(), 'Check the separators: “,” groups thousands (1,290), “.” marks decimals (1.29)');
  assert.equal(await price.inputValue(), '1,29', 'the text stays as typed');
  assert.equal(await price.getAttribute('aria-invalid'), 'true');
  await form.getByRole('button', { name: 'Save' }).click();
  assert.equal(await error.isVisible(), true);
  assert.match(await form.locator('.form-banner').textContent(), /Please correct the marked fields/);
  assert.deepEqual(await admin.open('products', { filters: [['name', 'eq', 'Comma test']] }), [], 'nothing was saved');
  // Other malformed numbers: two decimal points, a foreign currency sign, cents below a cent.
  for (const [typed, message] of [
    ['1.2.3', /^Check the separators/],
    ['€5', /^Enter a number$/],
    ['1.295', /^Enter an amount with at most 2 decimals$/],
  ]) {
    await price.fill(typed);
    await price.press('Tab');
    assert.match(await error.textContent(), message, typed);
    assert.equal(await price.inputValue(), typed);
  }
  const stock = form.getByLabel('In stock');
  await stock.fill('12.5');
  await stock.press('Tab');
  assert.equal(await fieldError(form, 'stock').textContent(), 'Enter a whole number');
  await stock.fill('1,200');
  // Correct grouping is read as written, and shown back the locale's way.
  await price.fill('$1,290.5');
  await price.press('Tab');
  assert.equal(await error.isHidden(), true);
  assert.equal(await price.inputValue(), '1,290.50');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  const [saved] = await admin.open('products', { filters: [['name', 'eq', 'Comma test']] });
  assert.equal(saved.price, 1290.5);
  assert.equal(saved.stock, 1200);
  assertNoProblems(page);
});

test("a number beyond its type's range says the range, not \"Enter a whole number\"", async () => {
  const { form } = await newRecord('Products', 'products');
  await form.getByLabel('Name').fill('Range test');
  const stock = form.getByLabel('In stock');
  // 2^53: the browser cannot send it exactly, so it is refused with the range it can.
  await stock.fill('9007199254740992');
  await stock.press('Tab');
  const error = fieldError(form, 'stock');
  assert.equal(await error.textContent(), 'Enter a whole number from -9,007,199,254,740,991 to 9,007,199,254,740,991');
  assert.equal(await stock.inputValue(), '9007199254740992');
  const price = form.getByLabel('Price');
  await price.fill('90,071,992,547,409.92');
  await price.press('Tab');
  assert.equal(await fieldError(form, 'price').textContent(),
    'Enter an amount from -90,071,992,547,409.91 to 90,071,992,547,409.91');
  await price.fill('-90,071,992,547,409.91');
  await stock.fill('-9,007,199,254,740,991');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  const [saved] = await admin.open('products', { filters: [['name', 'eq', 'Range test']] });
  assert.equal(saved.stock, -9007199254740991);
  assert.equal(saved.price, -90071992547409.91);
  assertNoProblems(page);
});

test('a cleared required date is refused as required, never replaced', async () => {
  const { view, form } = await newRecord('Orders', 'orders');
  const customer = form.getByRole('combobox', { name: 'Customer' });
  await customer.fill('bella');
  await form.getByRole('option', { name: 'Bella Brown' }).click();
  const date = form.getByLabel('Date');
  await date.fill('');
  const before = (await admin.open('orders', {})).length;
  await form.getByRole('button', { name: 'Save' }).click();
  const error = fieldError(form, 'ordered');
  await error.waitFor();
  assert.equal(await error.textContent(), 'is required');
  assert.equal(await date.inputValue(), '', 'not filled with a default');
  assert.equal((await admin.open('orders', {})).length, before, 'nothing was saved');
  await date.fill('2025-02-03');
  assert.equal(await error.isHidden(), true);
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  const [order] = await admin.open('orders', { filters: [['ordered', 'eq', '2025-02-03']] });
  assert.ok(order, 'saved with the date typed');

  // Editing: the same.
  await view.locator('tbody tr', { hasText: 'Bella Brown' }).dblclick();
  const edit = dialog(page, 'Orders');
  await edit.getByLabel('Date').fill('');
  await edit.getByRole('button', { name: 'Save' }).click();
  assert.equal(await fieldError(edit, 'ordered').textContent(), 'is required');
  await page.keyboard.press('Escape');
  await dialog(page, 'Unsaved changes').getByRole('button', { name: 'Discard changes' }).click();
  await edit.waitFor({ state: 'detached' });
  assert.equal((await admin.open('orders', { filters: [['id', 'eq', order.id]] }))[0].ordered, '2025-02-03');
  assertNoProblems(page);
});

test('a server field error still appears beside its field', async () => {
  await admin.insert('customers', [{ name: 'Gone Soon', city: 'Oslo' }]);
  const { form } = await newRecord('Orders', 'orders');
  const customer = form.getByRole('combobox', { name: 'Customer' });
  await customer.fill('gone');
  await form.getByRole('option', { name: 'Gone Soon' }).click();
  // Meanwhile the customer is deleted: only the server can know.
  const [gone] = await admin.open('customers', { filters: [['name', 'eq', 'Gone Soon']] });
  await admin.apply('customers', [{ op: 'delete', id: gone.id }]);
  await form.getByRole('button', { name: 'Save' }).click();
  const error = fieldError(form, 'customer');
  await error.waitFor();
  assert.equal(await error.textContent(), `customers ${gone.id} does not exist`);
  assert.equal(await customer.getAttribute('aria-invalid'), 'true');
  assertNoProblems(page);
});

test("text longer than the field's size is kept and reported, never cut", async () => {
  const { form } = await newRecord('Customers', 'customers');
  const name = form.getByLabel('Name');
  const long = `Pasted ${'x'.repeat(70)} Company Ltd`; // 89 characters; the field holds 60
  await page.evaluate((text) => navigator.clipboard.writeText(text), long);
  await name.focus();
  await page.keyboard.press('Control+V');
  assert.equal(await name.inputValue(), long, 'the paste is not cut');
  const error = fieldError(form, 'name');
  assert.equal(await error.textContent(), `Too long: ${long.length} characters, at most 60`);
  await form.getByRole('button', { name: 'Save' }).click();
  assert.equal(await error.textContent(), `Too long: ${long.length} characters, at most 60`);
  assert.equal(await form.isVisible(), true);
  // Typing past the size says so too, at once.
  await name.fill('y'.repeat(60));
  assert.equal(await error.isHidden(), true);
  await name.press('End');
  await page.keyboard.type('z');
  assert.equal(await error.textContent(), 'Too long: 61 characters, at most 60');
  await page.keyboard.press('Backspace');
  assert.equal(await error.isHidden(), true);
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  assert.equal((await admin.open('customers', { filters: [['name', 'eq', 'y'.repeat(60)]] })).length, 1);
  assertNoProblems(page);
});

test('success messages cover neither the pager nor any other control', async () => {
  const { view, form } = await newRecord('Products', 'products');
  await form.getByLabel('Name').fill('Toast test');
  await form.getByLabel('Price').fill('2');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  const message = page.getByRole('status').filter({ hasText: 'Products: record created' });
  await message.waitFor();
  assert.equal(await view.locator('.pager').isVisible(), true);
  assert.deepEqual(await controlsCovered(message), []);
  // Deleting says so in the same place.
  await view.locator('tbody tr', { hasText: 'Toast test' }).click();
  await view.getByRole('button', { name: 'Delete' }).click();
  await dialog(page, 'Delete — Products').getByRole('button', { name: 'Delete' }).click();
  const deleted = page.getByRole('status').filter({ hasText: 'Record deleted' });
  await deleted.waitFor();
  assert.deepEqual(await controlsCovered(deleted), []);
  assertNoProblems(page);
});
