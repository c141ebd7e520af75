// Debian's Chromium, headless, driven by playwright-core. Never a downloaded browser: the
// executable is /usr/bin/chromium (or $CHROMIUM), and each session gets a fresh profile folder.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { repo } from './server.js';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** Where screenshots go: $E2E_OUTPUT, else e2e/output. */
export const output = process.env.E2E_OUTPUT || join(repo, 'e2e/output');

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/**
 * A browser session (one Chromium with a fresh profile) and its page. Console errors, page
 * errors and failed requests' CSP reports are collected in `page.problems`; tests assert none.
 */
export async function openBrowser({ viewport = { width: 1366, height: 860 } } = {}) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM} (apt-get install -y chromium)`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'jamrs-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport,
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  const page = context.pages()[0] || (await context.newPage());
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !expected(m.text())) page.problems.push(`console: ${m.text()}`);
  });
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// The browser logs every failed request; the tests provoke some on purpose (a wrong password is
// a 401, a refused save a 4xx). What must never appear is a script error or a CSP violation.
function expected(text) {
  return /^Failed to load resource: the server responded with a status of (400|401|403|404|409|413|415|422|429)/.test(text);
}

export async function screenshot(page, name) {
  mkdirSync(join(output, 'screenshots'), { recursive: true });
  await page.screenshot({ path: join(output, 'screenshots', `${name}.png`) });
}
