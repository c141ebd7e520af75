// Serving, login, the menu, logout, and a session that ends while the user works.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, jamrsBinary, PASSWORD } from '../lib/server.js';
import { seed, USERS } from '../lib/seed.js';
import { openBrowser, screenshot } from '../lib/browser.js';
import { login, openItem, rows, assertNoProblems, dialog, settled } from '../lib/ui.js';
import { reset } from '../lib/ui.js';

let server;
let browser;
let page;

before(async () => {
  server = await startServer({ users: USERS });
  await seed(server.url);
  browser = await openBrowser();
  ({ page } = browser);
});

afterEach(async () => {
  await reset(page);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the page is served with the caption escaped, revalidated by ETag, under a strict CSP', async () => {
  const res = await fetch(`${server.url}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-security-policy'), /default-src 'self'/);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  const html = await res.text();
  assert.match(html, /<title>Shop &amp; Co<\/title>/);
  const etag = res.headers.get('etag');
  const again = await fetch(`${server.url}/`, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  const app = /src="(\/ui\/[0-9a-f]{16}\/app\.js)"/.exec(html)[1];
  const js = await fetch(server.url + app, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal(js.headers.get('content-encoding'), 'gzip');
  // Only the embedded files are served; anything else is the API's 404.
  for (const path of ['/ui/0000000000000000/app.js', app.replace('app.js', '../jamrs.toml'), '/jamrs.toml', '/data/shop.sqlite', '/items/customers.toml']) {
    const r = await fetch(server.url + path);
    assert.equal(r.status, 404, path);
    assert.equal((await r.json()).error.code, 'not_found', path);
  }
});

/** Bytes transferred (compressed, with headers) while `load()` runs, with the cache off. */
async function transferred(load) {
  const client = await page.context().newCDPSession(page);
  await client.send('Network.enable');
  await client.send('Network.setCacheDisabled', { cacheDisabled: true });
  let bytes = 0;
  const urls = [];
  client.on('Network.responseReceived', (e) => urls.push(e.response.url));
  client.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
  await load();
  await page.waitForLoadState('networkidle');
  await client.send('Network.setCacheDisabled', { cacheDisabled: false });
  await client.detach();
  return { bytes, urls };
}

test('the first load transfers less than 200 KB', async () => {
  const { bytes, urls } = await transferred(async () => {
    await page.goto(`${server.url}/`);
    await page.getByLabel('Login').waitFor();
  });
  console.log(`first load (login page): ${urls.length} responses, ${bytes} bytes transferred`);
  assert.ok(bytes < 200 * 1024, `${bytes} bytes`);
  assert.ok(urls.some((u) => u.endsWith('/app.js')));
  assert.ok(urls.some((u) => u.endsWith('/style.css')));
});

test('a wrong password is refused on the login page; the right one opens the menu', async () => {
  await page.goto(`${server.url}/`);
  await screenshot(page, 'login');
  await page.getByLabel('Login').fill('alice');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Wrong login or password.' }).waitFor();
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  const menu = page.getByRole('navigation', { name: 'Menu' });
  await menu.waitFor();
  const links = await menu.getByRole('link').allTextContents();
  assert.deepEqual(links.map((s) => s.trim()), ['Customers', 'Products', 'Tags', 'Orders']);
  // The group of details is invisible, and so are its items.
  assert.equal(await menu.getByText('Details').count(), 0);
  assert.equal(await menu.getByText('Order lines').count(), 0);
  assert.match(await page.locator('.account').textContent(), /Alice Clerk\s*clerk/);
  assert.equal(await page.title(), 'Shop & Co');
  assertNoProblems(page);
});

test('items open in tabs, and a reload comes back to the same tab', async () => {
  await openItem(page, 'Customers', 'customers');
  await openItem(page, 'Orders', 'orders');
  const tabs = page.getByRole('tablist', { name: 'Open items' }).getByRole('tab');
  assert.deepEqual((await tabs.allTextContents()).map((s) => s.trim()), ['Customers', 'Orders']);
  await page.getByRole('tab', { name: 'Customers' }).click();
  assert.equal(new URL(page.url()).hash, '#/customers');
  await page.reload();
  const view = page.locator('.view-tab[data-item="customers"]');
  await view.waitFor();
  await settled(view);
  assert.equal(await page.getByRole('tab', { name: 'Customers' }).getAttribute('aria-selected'), 'true');
  assert.equal(await page.getByRole('tab').count(), 2);
  // Everything a logged-in reload fetches (page, assets, metadata, the grid's rows) is small too.
  const { bytes, urls } = await transferred(async () => {
    await page.reload();
    await settled(page.locator('.view-tab[data-item="customers"]'));
  });
  console.log(`logged-in load (page, assets, /api/task, a grid): ${urls.length} responses, ${bytes} bytes transferred`);
  assert.ok(bytes < 200 * 1024, `${bytes} bytes`);
  // Closing a tab with its × button.
  await page.getByRole('button', { name: 'Close Orders' }).click();
  assert.equal(await page.getByRole('tab').count(), 1);
  assertNoProblems(page);
});

test('when the session ends, the user logs in again and the interrupted save goes through', async () => {
  const view = await openItem(page, 'Customers', 'customers');
  await view.locator('.grid-table tbody tr', { hasText: 'Bella Brown' }).dblclick();
  const form = dialog(page, 'Customers');
  await form.getByLabel('City').fill('Porto');
  // The administrator disables and re-enables alice: her session is revoked on the server.
  const dir = ['--dir', server.dir];
  execFileSync(jamrsBinary(), ['user', 'disable', 'alice', ...dir]);
  execFileSync(jamrsBinary(), ['user', 'enable', 'alice', ...dir]);
  await page.keyboard.press('Control+Enter');
  const relogin = dialog(page, 'Log in again');
  await relogin.waitFor();
  assert.match(await relogin.textContent(), /Your session has ended/);
  assert.equal(await relogin.getByLabel('Login').inputValue(), 'alice');
  await relogin.getByLabel('Password').fill(PASSWORD);
  await relogin.getByRole('button', { name: 'Log in' }).click();
  await form.waitFor({ state: 'detached' });
  await page.getByText('Customers: changes saved').waitFor();
  await settled(view);
  assert.ok((await rows(view)).includes('Bella Brown | Porto | bella@example.com'));
  assertNoProblems(page);
});

test('logging out returns to the login page, and the session is over', async () => {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('Password').waitFor();
  const res = await page.evaluate(async () => (await fetch('/api/task')).status);
  assert.equal(res, 401);
  assertNoProblems(page);
});
