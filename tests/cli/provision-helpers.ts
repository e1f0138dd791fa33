// Shared by the provision tests.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { InputError } from '../../shared/errors.ts';

export const DATA = new URL('../../../shared/data/heart-disease', import.meta.url).pathname.replace(/\/$/, '');
export const SITES = [
  { name: 'cleveland', file: 'processed.cleveland.data' },
  { name: 'hungary', file: 'processed.hungarian.data' },
  { name: 'va-long_beach', file: 'processed.va.data' },
];

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-provision-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A federation file in `dir` whose schema and data paths are relative to it (as users write them). */
export function federationYaml(dir: string, extra = ''): string {
  const rel = (p: string) => relative(dir, p);
  const sites = SITES.map((s) => `  - { name: ${s.name}, data: ${rel(join(DATA, s.file))} }`).join('\n');
  const file = join(dir, 'federation.yaml');
  writeFileSync(
    file,
    `name: heart
coordinator: { host: 127.0.0.1, grpcPort: 7443, httpPort: 8080 }
rounds: 20
model: debiased
schema: ${rel(join(DATA, 'schema.json'))}
sites:
${sites}
${extra}`,
  );
  return file;
}

export function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

export function assertInputError(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    assert.equal(err.message, message);
    return true;
  });
}

