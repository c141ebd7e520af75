// Steps a user takes, in the words of the UI (labels, roles), shared by the tests.

import assert from 'node:assert/strict';
import { PASSWORD } from './server.js';

export async function login(page, url, loginName, password = PASSWORD) {
  await page.goto(`${url}/`);
  await page.getByLabel('Login').fill(loginName);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('.topbar').waitFor();
}

/** Opens a menu item and waits for its grid to load. Returns the view's locator. */
export async function openItem(page, caption, name) {
  await page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: caption }).click();
  const view = page.locator(`.view-tab[data-item="${name}"]`);
  await view.waitFor();
  await settled(view);
  return view;
}

/** Waits until a view has no load in flight. */
export async function settled(view) {
  await view.page().waitForFunction((el) => !el.hasAttribute('aria-busy'), await view.elementHandle());
}

/** The texts of the grid's body rows, each row's cells joined by " | " (checkbox cell left out). */
export async function rows(view) {
  return view.locator('.grid-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells]
    .filter((td) => !td.classList.contains('cell-select'))
    .map((td) => td.textContent.trim()).join(' | ')));
}

/** The first cell's text of each row. */
export async function firstColumn(view) {
  return (await rows(view)).map((r) => r.split(' | ')[0]);
}

export async function status(view) {
  return (await view.locator('.pager-status').textContent()).trim();
}

export function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], 'the page logged errors');
}

/** The open modal dialog whose title is `title` (a string or RegExp). */
export function dialog(page, title) {
  return page.getByRole('dialog', { name: title, exact: typeof title === 'string' });
}

/**
 * After a failed step, leaves no dialog open for the next test: removes open dialogs (so no
 * "unsaved changes" question holds the page) and reloads.
 */
export async function reset(page) {
  const open = await page.evaluate(() => {
    const dialogs = [...document.querySelectorAll('dialog[open]')];
    dialogs.forEach((d) => d.remove());
    return dialogs.length;
  });
  if (open) {
    // Without the record's key in the address, the reload does not open its form again.
    await page.evaluate(() => history.replaceState(null, '', window.location.hash.replace(/\/\d+$/, '')));
    await page.reload();
  }
}

/**
 * The controls (buttons, links, inputs, focusable cells…) that `locator`'s element covers: what
 * lies beneath it at any point of its box, as the browser hit-tests (clipped and hidden elements
 * do not count). Also fails when the element is not wholly inside the viewport.
 */
export async function controlsCovered(locator) {
  return locator.evaluate((el) => {
    const box = el.getBoundingClientRect();
    if (box.left < 0 || box.top < 0 || box.right > innerWidth || box.bottom > innerHeight) {
      return [`outside the viewport: ${JSON.stringify(box)}`];
    }
    const CONTROL = 'button, a[href], input, select, textarea, summary, [tabindex]:not([tabindex="-1"]), [role="separator"]';
    const found = new Set();
    for (let x = box.left + 1; x < box.right; x += 4) {
      for (let y = box.top + 1; y < box.bottom; y += 4) {
        for (const under of document.elementsFromPoint(x, y)) {
          if (el.contains(under) || under.contains(el)) continue;
          const control = under.closest(CONTROL);
          if (control && !control.contains(el)) {
            found.add(control.getAttribute('aria-label') || control.textContent.trim().slice(0, 30) || control.tagName);
          }
        }
      }
    }
    return [...found];
  });
}
