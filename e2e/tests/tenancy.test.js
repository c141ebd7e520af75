// Two users at once, in two browsers: with `[tenancy] column = "user_id"` each sees and changes
// only the orders they made, while shared catalogs (customers) are the same for both.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ApiClient } from '../lib/server.js';
import { seed, USERS } from '../lib/seed.js';
import { openBrowser } from '../lib/browser.js';
import { login, openItem, firstColumn, status, assertNoProblems, dialog, settled } from '../lib/ui.js';

let server;
let alice;
let bob;

before(async () => {
  server = await startServer({ users: USERS });
  await seed(server.url);
  alice = await openBrowser();
  bob = await openBrowser();
  await login(alice.page, server.url, 'alice');
  await login(bob.page, server.url, 'bob');
});

after(async () => {
  await alice?.close();
  await bob?.close();
  await server?.stop();
});

async function newOrder(page, customerText, customerName) {
  const orders = await openItem(page, 'Orders', 'orders');
  await orders.getByRole('button', { name: 'New' }).click();
  const form = dialog(page, 'Orders · new record');
  await form.getByRole('combobox', { name: 'Customer' }).fill(customerText);
  await form.getByRole('option', { name: customerName }).click();
  await form.getByLabel('Note').fill(`made by ${customerText}`);
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  await settled(orders);
  return orders;
}

test("each user sees only their own orders; shared catalogs are shared", async () => {
  const aliceOrders = await newOrder(alice.page, 'dana', 'Dana White');
  assert.deepEqual(await firstColumn(aliceOrders), ['Dana White']);

  const bobOrders = await openItem(bob.page, 'Orders', 'orders');
  assert.equal(await status(bobOrders), 'No records');
  assert.equal(await bobOrders.locator('.grid-empty').isVisible(), true);
  await newOrder(bob.page, 'erik', 'Erik Olsen');
  assert.deepEqual(await firstColumn(bobOrders), ['Erik Olsen']);

  await aliceOrders.getByRole('button', { name: 'Refresh' }).click();
  await settled(aliceOrders);
  assert.deepEqual(await firstColumn(aliceOrders), ['Dana White']);
  assert.equal(await status(aliceOrders), '1–1 of 1');

  // Customers have no tenant column: both see all eight.
  for (const page of [alice.page, bob.page]) {
    const customers = await openItem(page, 'Customers', 'customers');
    assert.equal(await status(customers), '1–8 of 8');
  }
  assertNoProblems(alice.page);
  assertNoProblems(bob.page);
});

test("another user's order cannot be opened, even by its address", async () => {
  const api = new ApiClient(server.url);
  await api.login('bob');
  const [bobsOrder] = await api.open('orders', {});
  const page = alice.page;
  await page.goto(`${server.url}/#/orders/${bobsOrder.id}`);
  const message = page.getByRole('alert').filter({ hasText: 'The record no longer exists' });
  await message.waitFor();
  assert.equal(await page.getByRole('dialog').count(), 0);
  const orders = page.locator('.view-tab[data-item="orders"]');
  await settled(orders);
  assert.deepEqual(await firstColumn(orders), ['Dana White']);
  // Alice's search and filters cannot reach Bob's rows either.
  await orders.getByRole('searchbox').fill('erik');
  await orders.getByRole('searchbox').press('Enter');
  await settled(orders);
  assert.equal(await status(orders), 'No records');
  assertNoProblems(page);
});
