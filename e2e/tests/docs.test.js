// docs/client-modules.md's examples are the code the browser tests run: each ```js block after
// `<!-- example: PATH -->` is, word for word, in that file of the repository (a fixture's module
// run by client.test.js, or the demo's run by demo.test.js), and every event the document lists
// has an example. Any other ```js block must be marked `<!-- fragment -->`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repo } from '../lib/server.js';

const doc = readFileSync(join(repo, 'docs/client-modules.md'), 'utf8');

function blocks() {
  const lines = doc.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (lines[i] !== '```js') continue;
    const end = lines.indexOf('```', i + 1);
    const marker = i > 0 ? lines[i - 1] : '';
    out.push({ line: i + 1, marker, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return out;
}

test('every example of docs/client-modules.md is in the file it names', () => {
  const all = blocks();
  assert.ok(all.length >= 10, `only ${all.length} examples`);
  for (const b of all) {
    const m = /^<!-- example: (\S+) -->$/.exec(b.marker);
    if (b.marker === '<!-- fragment -->') continue;
    assert.ok(m, `the block at line ${b.line} is not marked as an example or a fragment`);
    const file = readFileSync(join(repo, m[1]), 'utf8');
    for (const part of b.code.split('\n\n')) {
      assert.ok(file.includes(part), `line ${b.line}: this is not in ${m[1]}:\n${part}`);
    }
  }
});

test('every event the document lists has an example', () => {
  const table = doc.slice(doc.indexOf('## 2. Events'), doc.indexOf('### The page'));
  const events = [...table.matchAll(/^\| `(on_[a-z_]+)`(?:, `(on_[a-z_]+)`)?/gm)].flatMap((m) => [m[1], m[2]]).filter(Boolean);
  assert.ok(events.length >= 25, events.join(' '));
  const code = blocks().map((b) => b.code).join('\n');
  for (const e of events) assert.match(code, new RegExp(`function ${e}\\(`), `no example of ${e}`);
});
