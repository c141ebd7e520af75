// The view form: paging with the total count, totals, sorting (Ctrl+click adds a column), search,
// the filter form, resizable columns, multi-select and delete, the keyboard, and privileges.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ApiClient } from '../lib/server.js';
import { seed, USERS } from '../lib/seed.js';
import { openBrowser, screenshot } from '../lib/browser.js';
import { login, openItem, rows, firstColumn, status, assertNoProblems, dialog, settled } from '../lib/ui.js';
import { reset } from '../lib/ui.js';

let server;
let browser;
let page;
let products;
let admin;

before(async () => {
  server = await startServer({ users: USERS });
  admin = await seed(server.url);
  browser = await openBrowser();
  ({ page } = browser);
  await login(page, server.url, 'alice');
  products = await openItem(page, 'Products', 'products');
});

afterEach(async () => {
  await reset(page);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('pages of 25 with the total count and a totals row', async () => {
  assert.equal(await status(products), '1–25 of 61');
  assert.equal((await rows(products)).length, 25);
  assert.equal((await firstColumn(products))[0], 'Gadget Pro');
  const totals = await products.locator('tfoot tr').evaluate((tr) => [...tr.cells].map((c) => c.textContent.trim()));
  // Price: 1.5 × (1 + … + 60) + 249.99. Products mark no summary fields: amounts only.
  assert.deepEqual(totals, ['', 'Total', '$2,994.99', '', '', '']);
  await products.getByRole('button', { name: /Next page/ }).click();
  await settled(products);
  assert.equal(await status(products), '26–50 of 61');
  assert.equal((await firstColumn(products))[0], 'Widget 25');
  await products.getByRole('button', { name: 'Last page' }).click();
  await settled(products);
  assert.equal(await status(products), '51–61 of 61');
  await products.getByLabel('Page number').fill('2');
  await products.getByLabel('Page number').press('Enter');
  await settled(products);
  assert.equal(await status(products), '26–50 of 61');
  await products.getByLabel('Rows per page').selectOption('10');
  await settled(products);
  assert.equal(await status(products), '1–10 of 61');
  assert.equal(await products.locator('.pager-count').textContent(), '7');
  await products.getByLabel('Rows per page').selectOption('25');
  await settled(products);
  await products.getByRole('checkbox', { name: 'Select row 3' }).check();
  await products.getByRole('checkbox', { name: 'Select row 4' }).check();
  await products.locator('.grid-table').focus();
  await page.keyboard.press('ArrowDown');
  await screenshot(page, 'grid');
  await products.getByRole('button', { name: 'Clear selection' }).click();
  assertNoProblems(page);
});

test('a header click sorts, a second click reverses, Ctrl+click adds a column', async () => {
  const price = products.locator('th[data-field="price"]');
  await price.getByRole('button').click();
  await settled(products);
  assert.equal(await price.getAttribute('aria-sort'), 'ascending');
  assert.deepEqual((await firstColumn(products)).slice(0, 2), ['Widget 01', 'Widget 02']);
  await price.getByRole('button').click();
  await settled(products);
  assert.equal(await price.getAttribute('aria-sort'), 'descending');
  assert.deepEqual((await firstColumn(products)).slice(0, 2), ['Gadget Pro', 'Widget 60']);
  // Active first, then by name descending.
  const active = products.locator('th[data-field="active"]');
  const name = products.locator('th[data-field="name"]');
  await active.getByRole('button').click();
  await settled(products);
  await name.getByRole('button').click({ modifiers: ['Control'] });
  await settled(products);
  await name.getByRole('button').click({ modifiers: ['Control'] });
  await settled(products);
  assert.equal(await active.getAttribute('aria-sort'), 'ascending');
  assert.equal(await name.getAttribute('aria-sort'), 'descending');
  assert.equal(await price.getAttribute('aria-sort'), 'none');
  assert.equal((await active.locator('.sort-mark').textContent()), '1');
  assert.equal((await name.locator('.sort-mark').textContent()), '2');
  // Inactive products (every fourth: 04, 08, …, 60) come first, by name descending.
  assert.deepEqual((await firstColumn(products)).slice(0, 3), ['Widget 60', 'Widget 56', 'Widget 52']);
  assertNoProblems(page);
});

test('Ctrl+F searches the chosen field; Esc goes back to the grid', async () => {
  await products.locator('.grid-table').focus();
  await page.keyboard.press('Control+f');
  const search = products.getByRole('searchbox', { name: 'Search Products' });
  assert.ok(await search.evaluate((el) => el === document.activeElement));
  await search.fill('gadget');
  await page.waitForFunction((el) => el.textContent.trim() === '1–1 of 1', await products.locator('.pager-status').elementHandle());
  assert.deepEqual(await firstColumn(products), ['Gadget Pro']);
  await page.keyboard.press('Escape');
  assert.ok(await products.locator('.grid-table').evaluate((el) => el === document.activeElement));
  await search.fill('widget 5');
  await search.press('Enter');
  await settled(products);
  // Every word must appear: Widget 05, 15, 25, 35, 45 and 50–59.
  assert.equal(await status(products), '1–15 of 15');
  await search.fill('');
  await search.press('Enter');
  await settled(products);
  assert.equal(await status(products), '1–25 of 61');
  assertNoProblems(page);
});

test('the filter form filters by range and by a yes/no field; chips remove filters', async () => {
  await products.getByRole('button', { name: 'Filters' }).click();
  const form = dialog(page, 'Filters — Products');
  await form.getByLabel('Price between, from').fill('10');
  await form.getByLabel('Price between, to').fill('20');
  await form.getByRole('button', { name: 'Apply' }).click();
  await settled(products);
  // 1.5 × 7 = 10.5 … 1.5 × 13 = 19.5.
  assert.equal(await status(products), '1–7 of 7');
  const chip = products.locator('.filter-chips .chip');
  assert.equal(await chip.locator('span').textContent(), 'Price between: $10.00 – $20.00');
  assert.equal(await products.getByRole('button', { name: 'Filters (1 active)' }).count(), 1);
  await products.getByRole('button', { name: 'Filters (1 active)' }).click();
  await form.getByLabel('Active').selectOption('false');
  await form.getByLabel('Active').press('Enter');
  await settled(products);
  // Of 7 … 13 only 8 and 12 are inactive (still sorted by name descending).
  assert.deepEqual(await firstColumn(products), ['Widget 12', 'Widget 08']);
  await products.getByRole('button', { name: 'Remove filter Price between' }).click();
  await settled(products);
  assert.equal(await status(products), '1–15 of 15');
  await products.getByRole('button', { name: 'Remove filter Active' }).click();
  await settled(products);
  assert.equal(await status(products), '1–25 of 61');
  assertNoProblems(page);
});

test('columns resize by dragging the header edge, and keep their width', async () => {
  const width = () => products.locator('col[data-field="name"]').evaluate((c) => parseFloat(c.style.width));
  const before = await width();
  const handle = products.getByRole('separator', { name: 'Resize column Name' });
  const box = await handle.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 120, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  assert.equal(await width(), before + 120);
  // From the keyboard too.
  await handle.focus();
  await page.keyboard.press('ArrowLeft');
  assert.equal(await width(), before + 104);
  await page.reload();
  products = page.locator('.view-tab[data-item="products"]');
  await products.waitFor();
  await settled(products);
  assert.equal(await width(), before + 104);
  assertNoProblems(page);
});

test('a role that may only view: no New, no Delete, and a read-only form', async () => {
  assert.ok(await products.getByRole('button', { name: 'New' }).isDisabled());
  assert.ok(await products.getByRole('button', { name: 'Delete' }).isDisabled());
  await products.locator('.grid-table').focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  const form = dialog(page, /Products/);
  await form.waitFor();
  assert.match(await form.locator('.modal-title').textContent(), /read-only/);
  assert.equal(await form.getByRole('button', { name: 'Save' }).count(), 0);
  assert.equal(await form.getByLabel('Name').getAttribute('readonly'), '');
  assert.equal(await form.getByLabel('Name').inputValue(), 'Widget 01');
  assert.ok(await form.getByLabel('Active').isDisabled());
  await page.keyboard.press('Control+Insert');
  await page.keyboard.press('Escape');
  await form.waitFor({ state: 'detached' });
  assert.equal(await page.getByRole('dialog').count(), 0);
  // Ctrl+Ins in the view does nothing without the create privilege.
  await page.keyboard.press('Control+Insert');
  assert.equal(await page.getByRole('dialog').count(), 0);
  assertNoProblems(page);
});

test('keyboard: arrows move, PgDn pages, Enter edits, Esc closes the form and then the view', async () => {
  const customers = await openItem(page, 'Customers', 'customers');
  const table = customers.locator('.grid-table');
  await table.focus();
  const current = () => customers.locator('tr.current td:nth-child(2)').textContent();
  assert.equal(await current(), 'Andrew Jones');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  assert.equal(await current(), 'Bella Brown');
  await page.keyboard.press('End');
  assert.equal(await current(), 'Giulia Rossi');
  await page.keyboard.press('ArrowUp');
  assert.equal(await current(), 'Fatima Khan');
  await page.keyboard.press('Enter');
  const form = dialog(page, 'Customers');
  assert.equal(await form.getByLabel('Name').inputValue(), 'Fatima Khan');
  await page.keyboard.press('Escape');
  await form.waitFor({ state: 'detached' });
  assert.ok(await table.evaluate((el) => el === document.activeElement), 'focus returns to the grid');
  await page.keyboard.press('PageDown');
  assert.equal(await status(customers), '1–8 of 8', 'one page only: PgDn stays');
  await page.keyboard.press('Escape');
  await customers.waitFor({ state: 'detached' });
  assertNoProblems(page);
});

test('rows are multi-selected by checkbox, Space and Shift+click, and deleted after confirming', async () => {
  const customers = await openItem(page, 'Customers', 'customers');
  await customers.getByRole('checkbox', { name: 'Select row 1' }).check();
  await customers.getByRole('checkbox', { name: 'Select row 3' }).click({ modifiers: ['Shift'] });
  assert.equal(await customers.locator('.selection-info span').textContent(), '3 selected');
  await customers.locator('.grid-table').focus();
  await page.keyboard.press('Home');
  await page.keyboard.press('Space');
  assert.equal(await customers.locator('.selection-info span').textContent(), '2 selected');
  assert.deepEqual(await customers.locator('tr[aria-selected="true"] td:nth-child(2)').allTextContents(), ['Anna Smith', 'Bella Brown']);
  await page.keyboard.press('Control+Delete');
  const confirm = dialog(page, 'Delete — Customers');
  assert.match(await confirm.textContent(), /Delete 2 records\?/);
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await status(customers), '1–8 of 8');
  await customers.getByRole('button', { name: 'Delete' }).click();
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await page.getByText('2 records deleted').waitFor();
  await settled(customers);
  assert.equal(await status(customers), '1–6 of 6');
  assert.ok(!(await firstColumn(customers)).includes('Anna Smith'));
  assert.equal(await customers.locator('.selection-info').isHidden(), true);
  assertNoProblems(page);
});

test('the totals row sums amounts and the fields the author marks, never keys or rates', async () => {
  // Products mark nothing: the price (currency) is summed, the stock is not (see the first test).
  // Orders mark the date (a count of records) and the items (a sum); the customer's key, the
  // status list's value and the discount rate are numbers whose sum means nothing.
  const alice = new ApiClient(server.url);
  await alice.login('alice');
  const [customer] = await alice.open('customers', { limit: 1 });
  const [widget] = await alice.open('products', { filters: [['name', 'eq', 'Widget 01']] });
  const reply = await alice.apply('orders', [2, 3].map((qty) => ({
    op: 'insert', values: { customer: customer.id, status: 2 },
    details: { order_lines: [{ op: 'insert', values: { product: widget.id, qty, price: 1.5 } }] },
  })));
  await admin.apply('orders', reply.changes.map((c, i) => ({ op: 'update', id: c.id, values: { discount: 10 + i * 5 } })));
  const orders = await openItem(page, 'Orders', 'orders');
  const cells = await orders.locator('tfoot td').evaluateAll((tds) => tds.map((td) => [td.dataset.label, td.textContent.trim()]));
  assert.deepEqual(cells.filter(([label]) => label), [['Date (count)', '2'], ['Items (total)', '5']]);
  assert.equal(await orders.locator('tfoot td', { hasText: 'Total' }).count(), 1, 'the customer column says "Total"');
  assert.equal(await orders.locator('tfoot td.is-count').getAttribute('title'), 'Number of records');
  assertNoProblems(page);
});

test('a page and its total come in one request when the totals row sums nothing', async () => {
  // Customers have no amounts and mark no summary fields: one open gives the rows and the pager.
  // A page of its own (the session's other views stay closed there).
  const fresh = await browser.context.newPage();
  try {
    await fresh.goto(`${server.url}/`);
    await fresh.locator('.topbar').waitFor();
    const opens = [];
    fresh.on('request', (req) => {
      const m = req.url().match(/\/api\/items\/(\w+)\/open$/);
      if (req.method() === 'POST' && m) opens.push([m[1], req.postDataJSON()]);
    });
    const customers = await openItem(fresh, 'Customers', 'customers');
    assert.match(await status(customers), /^1–\d+ of \d+$/);
    assert.equal(opens.length, 1, JSON.stringify(opens));
    assert.equal(opens[0][1].total, true);
    // Products sum their prices: the page with its total, and the sums beside it.
    opens.length = 0;
    await openItem(fresh, 'Products', 'products');
    assert.deepEqual(opens.map(([item, p]) => [item, Boolean(p.total), Boolean(p.funcs)]),
      [['products', true, false], ['products', false, true]]);
  } finally {
    await fresh.close();
  }
});
