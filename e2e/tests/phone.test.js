// Below 700 px: the menu is a drawer, one view at a time with a back button, grids become lists
// of cards (with a sort list instead of headers), and forms fill the screen.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.js';
import { seed, USERS } from '../lib/seed.js';
import { openBrowser, screenshot } from '../lib/browser.js';
import { login, firstColumn, assertNoProblems, dialog, settled, controlsCovered } from '../lib/ui.js';

let server;
let browser;
let page;

before(async () => {
  server = await startServer({ users: USERS });
  await seed(server.url);
  browser = await openBrowser({ viewport: { width: 390, height: 844 } });
  ({ page } = browser);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('on a phone: drawer menu, cards, sort list, full-screen form, back button', async () => {
  await login(page, server.url, 'alice');
  // The home screen lists what may be opened; the side menu is closed.
  const nav = page.locator('#sidebar');
  assert.equal(await nav.isVisible(), false, 'the drawer is closed');
  assert.equal(await page.locator('.home').getByRole('link', { name: 'Products' }).isVisible(), true);
  await page.getByRole('button', { name: 'Menu' }).click();
  await page.waitForFunction(() => document.getElementById('sidebar').getBoundingClientRect().left >= 0);
  assert.equal(await nav.isVisible(), true);
  assert.equal(await page.getByRole('button', { name: 'Menu' }).getAttribute('aria-expanded'), 'true');
  await nav.getByRole('link', { name: 'Products' }).click();
  const products = page.locator('.view-tab[data-item="products"]');
  await products.waitFor();
  await settled(products);
  assert.equal(await page.getByRole('tablist').isVisible(), false);
  await nav.waitFor({ state: 'hidden' }); // choosing an item closes the drawer
  assert.equal(await products.getByRole('heading', { name: 'Products' }).isVisible(), true);

  // Rows are cards with a label before each value.
  const card = products.locator('tbody tr').first();
  assert.equal(await card.evaluate((tr) => getComputedStyle(tr).display), 'block');
  assert.equal(await products.locator('thead').evaluate((t) => getComputedStyle(t).display), 'none');
  assert.equal(await card.locator('td[data-label="Price"]').evaluate((td) => getComputedStyle(td, '::before').content), '"Price"');
  const cardBox = await card.boundingBox();
  assert.ok(cardBox.width <= 390 && cardBox.width > 300, `card width ${cardBox.width}`);
  const bodyWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(bodyWidth <= 390, `the page scrolls sideways: ${bodyWidth}`);

  await products.getByLabel('Sort by').selectOption({ label: 'Price ↓' });
  await settled(products);
  assert.deepEqual((await firstColumn(products)).slice(0, 2), ['Gadget Pro', 'Widget 60']);
  await screenshot(page, 'phone-grid');

  await card.click();
  await page.keyboard.press('Enter');
  const form = dialog(page, /Products/);
  await form.waitFor();
  const formBox = await form.boundingBox();
  assert.equal(Math.round(formBox.width), 390);
  await screenshot(page, 'phone-form');
  await page.keyboard.press('Escape');
  await form.waitFor({ state: 'detached' });

  await products.getByRole('button', { name: 'Back to the menu' }).click();
  await page.locator('.home').waitFor();
  assert.equal(await products.isVisible(), false);
  assert.equal(await page.locator('.home').getByRole('link', { name: 'Orders' }).isVisible(), true);
  assertNoProblems(page);
});

test('on a phone, success messages cover neither the pager nor any other control', async () => {
  await page.getByRole('button', { name: 'Menu' }).click();
  await page.locator('#sidebar').getByRole('link', { name: 'Customers' }).click();
  const customers = page.locator('.view-tab[data-item="customers"]');
  await settled(customers);
  await customers.getByRole('button', { name: 'New' }).click();
  const form = dialog(page, 'Customers · new record');
  await form.getByLabel('Name').fill('Phone Shop');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  const message = page.getByRole('status').filter({ hasText: 'Customers: record created' });
  await message.waitFor();
  assert.equal(await customers.locator('.pager').isVisible(), true);
  assert.deepEqual(await controlsCovered(message), []);
  await screenshot(page, 'phone-saved');
  // And it can be read whole, not cut short.
  const text = message.locator('.notice span');
  assert.ok(await text.evaluate((el) => el.scrollWidth <= el.clientWidth && el.scrollHeight <= el.clientHeight),
    'the message is cut');
  assertNoProblems(page);
});
