// File and image fields in the browser (fixture `office`: clients have a photo and a contract):
// an image chosen with the picker shows in the form and, once saved, as a thumbnail of the
// field's view size in the grid; a file dropped on its field shows its name and downloads; a
// file of the wrong type is refused beside the field; Clear empties the field.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ApiClient } from '../lib/server.js';
import { openBrowser, screenshot } from '../lib/browser.js';
import { login, openItem, assertNoProblems, dialog, settled, reset } from '../lib/ui.js';

// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

let server;
let browser;
let page;
let alice;

before(async () => {
  server = await startServer({ fixture: 'office', users: [['alice', 'clerk', 'Alice Clerk']] });
  alice = new ApiClient(server.url);
  await alice.login('alice');
  await alice.insert('clients', [{ name: 'Anna Smith', city: 'Berlin' }]);
  browser = await openBrowser();
  ({ page } = browser);
  await login(page, server.url, 'alice');
});

afterEach(async () => {
  await reset(page);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function openAnna() {
  const view = await openItem(page, 'Clients', 'clients');
  await view.locator('.grid-table tbody tr', { hasText: 'Anna Smith' }).dblclick();
  const form = dialog(page, 'Clients');
  await form.waitFor();
  return { view, form };
}

/** Resolves once the image has loaded, to its natural width (0 when it did not load). */
function loadedWidth(img) {
  return img.evaluate((el) => (el.complete ? el.naturalWidth : new Promise((ok) => {
    el.addEventListener('load', () => ok(el.naturalWidth));
    el.addEventListener('error', () => ok(0));
  })));
}

test('an image chosen in the form shows there and, saved, as a thumbnail in the grid', async () => {
  const { view, form } = await openAnna();
  const photo = form.locator('.file-input[data-field="photo"]');
  assert.match(await photo.textContent(), /No image/);
  await photo.locator('input[type="file"]').setInputFiles({ name: 'anna.png', mimeType: 'image/png', buffer: PNG });
  const preview = photo.locator('img.file-thumb-edit');
  await preview.waitFor();
  assert.equal(await loadedWidth(preview), 1, 'the fresh upload is shown to its uploader');
  assert.equal(await preview.getAttribute('width'), '180');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  await settled(view);
  const thumb = view.locator('.grid-table tbody tr', { hasText: 'Anna Smith' }).locator('img.file-thumb-view');
  await thumb.waitFor();
  assert.equal(await thumb.getAttribute('width'), '36');
  assert.equal(await loadedWidth(thumb), 1);
  await screenshot(page, 'image-in-grid');
  assertNoProblems(page);
});

test('a file dropped on its field is uploaded, shown by name and downloadable; a wrong type is refused', async () => {
  const { view, form } = await openAnna();
  const contract = form.locator('.file-input[data-field="contract"]');
  // A PNG named contract.pdf is refused by its content, beside the field.
  await contract.locator('input[type="file"]').setInputFiles({ name: 'contract.pdf', mimeType: 'application/pdf', buffer: PNG });
  const error = form.locator('[data-field="contract"] .field-error');
  await error.waitFor();
  assert.match(await error.textContent(), /takes a file of the types it accepts/);
  const dataTransfer = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['Signed by Anna.\n'], 'contract.txt', { type: 'text/plain' }));
    return dt;
  });
  await contract.dispatchEvent('drop', { dataTransfer });
  const link = contract.locator('a.file-link');
  await link.waitFor();
  assert.equal(await link.textContent(), 'contract.txt');
  assert.equal(await error.isHidden(), true);
  await screenshot(page, 'file-in-form');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  await settled(view);
  const cell = view.locator('.grid-table tbody tr', { hasText: 'Anna Smith' }).locator('a.file-link');
  assert.equal(await cell.textContent(), 'contract.txt');
  const text = await page.evaluate(async (href) => (await fetch(href)).text(), await cell.getAttribute('href'));
  assert.equal(text, 'Signed by Anna.\n');
  assertNoProblems(page);
});

test('Clear empties an image field', async () => {
  const { view, form } = await openAnna();
  await form.locator('.file-input[data-field="photo"]').getByRole('button', { name: 'Clear Photo' }).click();
  assert.match(await form.locator('.file-input[data-field="photo"]').textContent(), /No image/);
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  await settled(view);
  assert.equal(await view.locator('.grid-table tbody tr', { hasText: 'Anna Smith' }).locator('img').count(), 0);
  assertNoProblems(page);
});
