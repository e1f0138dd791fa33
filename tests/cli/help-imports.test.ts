// `fedcausal --help` answers from cli/main.ts and the command table alone: nothing they load
// statically may pull in zod, winston, gRPC or TensorFlow.js (each costs a few hundred ms at
// start-up on a busy machine; npm run bench measures the start-up against `node -e 0`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { REPO } from '../e2e/helpers/federation.ts';

const HEAVY = /^(zod|winston|yaml|@grpc\/|@tensorflow\/|better-sqlite3)/;

/** Static, value (not `import type`) imports of a module, followed through relative paths. */
function staticImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'([^']+)';/gms)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else seen.add(spec);
    }
  };
  visit(entry);
  return seen;
}

test('--help loads no heavy package: the command table is names and help lines, handlers load when a command runs', () => {
  const loaded = [...staticImports(join(REPO, 'cli', 'main.ts'))];
  assert.deepEqual(loaded.filter((s) => HEAVY.test(s)), []);
  assert.ok(loaded.some((s) => s.endsWith('commands.ts')), 'the walk follows relative imports');
  assert.ok([...staticImports(join(REPO, 'cli', 'handlers.ts'))].includes('zod'), 'the walk sees a package import');
});
