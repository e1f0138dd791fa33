// The architecture gate (.dependency-cruiser.cjs, run by `npm run lint`) must fail on a
// violation: it runs here on a tiny tree that breaks each rule, and on one that breaks none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const REPO = join(import.meta.dirname, '..');
const CONFIG = join(REPO, '.dependency-cruiser.cjs');
const DEPCRUISE = join(REPO, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

/** Writes `files` (path -> source) under a fresh directory and runs depcruise there with the project's rules. */
function cruise(files: Record<string, string>): Promise<{ code: number; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-depcruise-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const roots = [...new Set(Object.keys(files).map((p) => p.split('/')[0]!))];
  return new Promise((resolve) => {
    execFile(process.execPath, [DEPCRUISE, '--config', CONFIG, ...roots], { cwd: dir }, (err, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr });
    });
  });
}

const CLEAN = {
  'shared/core.ts': 'export const one = 1;\n',
  'coordinator/server.ts': "import { one } from '../shared/core.ts';\nexport const server = one;\n",
  'site-agent/agent.ts': "import { one } from '../shared/core.ts';\nexport const agent = one;\n",
  'cli/main.ts': "import { server } from '../coordinator/server.ts';\nimport { agent } from '../site-agent/agent.ts';\nexport const both = server + agent;\n",
};

test('the architecture gate passes a tree that keeps the rules', async () => {
  const r = await cruise(CLEAN);
  assert.equal(r.code, 0, r.out);
});

test('the architecture gate fails on each broken rule, type-only cycles included', async () => {
  const r = await cruise({
    ...CLEAN,
    'coordinator/peek.ts': "import { agent } from '../site-agent/agent.ts';\nexport const peek = agent;\n",
    'site-agent/peek.ts': "import { server } from '../coordinator/server.ts';\nexport const peek = server;\n",
    'shared/upward.ts': "import { both } from '../cli/main.ts';\nexport const upward = both;\n",
    'coordinator/wiring.ts': "import { both } from '../cli/main.ts';\nexport const wiring = both;\n",
    'shared/a.ts': "import type { B } from './b.ts';\nexport interface A { b?: B }\n",
    'shared/b.ts': "import type { A } from './a.ts';\nexport interface B { a?: A }\n",
    'shared/missing.ts': "export { gone } from './nowhere.ts';\n",
  });
  assert.notEqual(r.code, 0, r.out);
  for (const rule of [
    'coordinator-not-to-site-agent',
    'site-agent-not-to-coordinator',
    'shared-is-the-core',
    'cli-is-the-composition-root',
    'no-circular',
    'not-to-unresolvable',
  ]) {
    assert.match(r.out, new RegExp(`error ${rule}:`), `${rule} reported\n${r.out}`);
  }
  assert.match(r.out, /error no-circular: shared\/[ab]\.ts/, r.out);
});
