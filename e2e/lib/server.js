// A real jamrs server for the tests: the fixture project copied to a temporary folder, users
// added with the CLI (`jamrs user add … --password-stdin`), `jamrs run` on a free port, and a small
// API client to seed data the way any client would.

import { spawn, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../..');

/** The jamrs binary: $JAMRS_BIN, else target/debug/jamrs of this repository. */
export function jamrsBinary() {
  const bin = process.env.JAMRS_BIN || join(repo, 'target/debug/jamrs');
  if (!existsSync(bin)) {
    throw new Error(`no jamrs binary at ${bin}: build it (cargo build -p jamrs) or set JAMRS_BIN`);
  }
  return bin;
}

export const PASSWORD = 'correct horse battery';

/**
 * Starts jamrs on a copy of `e2e/fixtures/<fixture>` (or of `from`, a project folder relative to
 * the repository, such as `examples/reports`; or, with `template`, on a project made by
 * `jamrs new --template <template>`) with `users` ([login, role, name]).
 * `prepare(project)` runs on the copy before users are added and the server starts.
 * Returns {url, dir, stop()}.
 */
export async function startServer({ fixture = 'shop', from = null, template = null, users = [], env = {}, prepare = null } = {}) {
  const bin = jamrsBinary();
  const dir = mkdtempSync(join(tmpdir(), 'jamrs-e2e-'));
  const project = join(dir, template || fixture);
  if (template) {
    execFileSync(bin, ['new', project, '--template', template], { stdio: ['ignore', 'ignore', 'inherit'] });
  } else {
    cpSync(from ? join(repo, from) : join(repo, 'e2e/fixtures', fixture), project, { recursive: true });
  }
  // What the project needs before it starts (a database jamrs did not create, say).
  if (prepare) prepare(project);
  for (const [login, role, name] of users) {
    execFileSync(bin, ['user', 'add', login, '--role', role, '--name', name || login, '--password-stdin', '--dir', project], {
      input: `${PASSWORD}\n`, stdio: ['pipe', 'ignore', 'inherit'],
    });
  }
  const child = spawn(bin, ['run', project, '--bind', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn', ...env },
  });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const url = await new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`jamrs did not start in 20 s:\n${out}\n${log}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /serving .* at (http:\/\/[^/\s]+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`jamrs exited with ${code}:\n${out}\n${log}`));
    });
  });
  return {
    url,
    dir: project,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => { if (child.exitCode !== null) r(); else child.on('exit', r); });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An API client with its own session cookie, for seeding and checking data. */
export class ApiClient {
  constructor(url) {
    this.url = url;
    this.cookie = '';
  }

  async call(method, path, body) {
    const res = await fetch(this.url + path, {
      method,
      headers: { 'Content-Type': 'application/json', Cookie: this.cookie },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0];
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return data;
  }

  login(login, password = PASSWORD) {
    return this.call('POST', '/api/login', { login, password });
  }

  async open(item, params = {}) {
    const r = await this.call('POST', `/api/items/${item}/open`, params);
    return r.rows.map((row) => Object.fromEntries(r.fields.map((f, i) => [f, row[i]])));
  }

  apply(item, changes) {
    return this.call('POST', `/api/items/${item}/apply`, { changes });
  }

  async insert(item, rows) {
    const r = await this.apply(item, rows.map((values) => ({ op: 'insert', values })));
    return r.changes.map((c) => c.id);
  }
}
