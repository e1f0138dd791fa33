import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalPath, checkOutputFile, checkReplacesOnlyPem, prepareOutputDir } from '../../shared/output-path.ts';
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

test('checkReplacesOnlyPem: an existing file is replaced only when it holds that kind of PEM (or nothing); canonicalPath sees through a linked folder', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-out-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
  checkReplacesOnlyPem(join(dir, 'absent.pem'), 'CERTIFICATE', '--out');
  checkReplacesOnlyPem(file('empty.pem', ''), 'CERTIFICATE', '--out');
  checkReplacesOnlyPem(file('cert.pem', '\n-----BEGIN CERTIFICATE-----\nAAAA\n'), 'CERTIFICATE', '--out');
  const key = file('key.pem', '-----BEGIN PRIVATE KEY-----\nAAAA\n');
  assert.throws(() => checkReplacesOnlyPem(key, 'CERTIFICATE', '--out'), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.equal(e.message, `--out ${key}: exists and is not a CERTIFICATE PEM; refusing to overwrite it (give a file name of its own)`);
    return true;
  });
  assert.throws(() => checkReplacesOnlyPem(join(dir, 'cert.pem'), 'CERTIFICATE REQUEST', '--out'), /not a CERTIFICATE REQUEST PEM/);
  symlinkSync(dir, join(dir, 'link'));
  assert.equal(canonicalPath(join(dir, 'link', 'new.pem')), canonicalPath(join(dir, 'new.pem')));
});
