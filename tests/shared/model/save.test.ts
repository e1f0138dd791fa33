// A model file is written whole (a hidden file renamed into place) and its owner's alone; a disk
// that cannot take it leaves no part behind and says what to do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSchema } from '../../../shared/data/schema.ts';
import { loadModelBundle } from '../../../shared/model/bundle.ts';
import { saveModelFile } from '../../../shared/model/save.ts';
import { StorageError } from '../../../shared/errors.ts';

const model = {
  federation: 'f',
  site: 's',
  round: 3,
  schema: compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { a: ['x'] } }, 'inline'),
  model: { kind: 'logreg', raw: {}, seed: 1 },
  featureSpace: { modalities: [{ name: 'a', start: 0, end: 1 }], columns: [{ feature: 'x', featureIndex: 0, kind: 'numeric' as const, mean: 0, std: 1 }] },
  prior: { version: 1, patterns: [{ pattern: '1', p: 1 }], balancing: {}, minCount: 5, totalRows: 10 },
  temper: 1,
  weights: Float32Array.of(1, 2),
};

test('saved whole, 0600, and read back', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-save-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = saveModelFile(join(dir, 'm.model.json'), model);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(loadModelBundle(path).weights, model.weights);
  assert.deepEqual(readdirSync(dir), ['m.model.json'], 'no partial file left');
});

test("a folder gone is a storage fault naming the path and the caller's remedy", () => {
  const gone = join(tmpdir(), `fedcausal-gone-${process.pid}`, 'm.model.json');
  assert.throws(() => saveModelFile(gone, model, 'ask the coordinator for model.json'), (e: Error) => e instanceof StorageError && e.message.startsWith(`cannot save the model to ${gone} (ENOENT`) && e.message.endsWith(': ask the coordinator for model.json'));
});
