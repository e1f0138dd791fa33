import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOutputFile, prepareOutputDir } from '../../shared/output-path.ts';
import { InputError } from '../../shared/errors.ts';

test('an output folder is made level by level; one that cannot be made fails at once, naming the flag', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-out-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const deep = join(dir, 'a', 'b', 'c');
  assert.equal(prepareOutputDir(deep, '--out'), deep);
  assert.deepEqual(readdirSync(deep), [], 'the write probe is removed');
  // Node's recursive mkdir never returns here (the reported 100% CPU spin).
  const t0 = Date.now();
  assert.throws(() => prepareOutputDir('/proc/nope/x', '--out'), (e: Error) => e instanceof InputError && /^--out \/proc\/nope\/x: cannot write there \(E[A-Z]+\)$/.test(e.message));
  assert.ok(Date.now() - t0 < 1000);
  const file = join(dir, 'f');
  writeFileSync(file, 'x');
  assert.throws(() => prepareOutputDir(file, '--out'), /--out .*\/f: exists and is not a folder/);
});

test('an output file: its folder is made, a folder in its place is refused, an existing file is left untouched', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-out-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'new', 'results.json');
  checkOutputFile(f, '--out');
  assert.ok(existsSync(join(dir, 'new')) && !existsSync(f), 'checked, not left behind');
  assert.throws(() => checkOutputFile(dir, '--out'), /is a folder; give a file name/);
  assert.throws(() => checkOutputFile('/proc/nope/r.json', '--predictions'), /^InputError: --predictions \/proc\/nope\/r\.json: folder \/proc\/nope: cannot write there/);
});
