// The model file a site saves and fedcausal predict reads: written and read back unchanged, and
// anything cut short, edited, foreign or newer refused as bad input naming the file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileSchema, loadSchema, type Schema } from '../../../shared/data/schema.ts';
import { BUNDLE_FORMAT_VERSION, bundleText, parseModelBundle, type BundleInput } from '../../../shared/model/bundle.ts';
import { InputError } from '../../../shared/errors.ts';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../../shared/canonical-json.ts';

const schema = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { a: ['x'], b: ['c'] }, categorical: ['c'], missingValues: ['', 'NA'] }, 'inline');

const input: BundleInput = {
  federation: 'heart',
  site: 'cleveland',
  round: 21,
  schema,
  model: { kind: 'logreg', raw: { debiasing: { mode: 'off' } }, seed: 3 },
  featureSpace: { modalities: [{ name: 'a', start: 0, end: 1 }, { name: 'b', start: 1, end: 1 }], columns: [{ feature: 'x', featureIndex: 0, kind: 'numeric', mean: 1.5, std: 2 }] },
  prior: { version: 1, patterns: [{ pattern: '11', p: 0.75 }, { pattern: '10', p: 0.25 }], balancing: { '11': [1, 1] }, minCount: 5, totalRows: 40 },
  temper: 1,
  calibration: { a: 0.9, b: -0.2, rows: 30 },
  weights: Float32Array.of(0.5, -1.25, 3e-8, 1e6),
};

test('a model file reads back as it was written: weights bit for bit, schema, prior, recalibration', () => {
  const b = parseModelBundle(bundleText(input), 'm.model.json');
  assert.deepEqual(b.weights, input.weights);
  assert.deepEqual(b.prior, input.prior);
  assert.deepEqual(b.featureSpace, input.featureSpace);
  assert.deepEqual(b.model, input.model);
  assert.deepEqual(b.calibration, input.calibration);
  assert.equal(b.site, 'cleveland');
  assert.equal(b.round, 21);
  assert.deepEqual([...b.schema.categorical], ['c']);
  assert.deepEqual(b.schema.modalities, schema.modalities);
  assert.match(b.software, /^\d+\.\d+\.\d+/);
});

test('a label written as words survives the schema round trip', () => {
  const words = compileSchema({ label: { column: 'y', positive: ['yes'], negative: ['no'] }, modalities: { a: ['x'] } }, 'inline');
  const b = parseModelBundle(bundleText({ ...input, schema: words, featureSpace: spaceFor(words) }), 'm.model.json');
  assert.deepEqual(b.schema.label, words.label);
});

/** A feature space with `s`'s modalities, in order (as buildFeatureSpace lists them). */
function spaceFor(s: Schema): BundleInput['featureSpace'] {
  return { modalities: s.modalities.map((m, i) => ({ name: m.name, start: i, end: i })), columns: input.featureSpace.columns };
}

/** A model file edited and given a checksum that matches the edit (what a careful forger, or a bug, would write). */
function resealed(file: Record<string, unknown>): string {
  const { sha256: _, ...content } = file;
  return JSON.stringify({ ...content, sha256: createHash('sha256').update(canonicalJson(content)).digest('hex') });
}

function refused(text: string, pattern: RegExp): void {
  assert.throws(() => parseModelBundle(text, 'm.model.json'), (e: Error) => e instanceof InputError && /^m\.model\.json: /.test(e.message) && pattern.test(e.message));
}

test('a file cut short, edited weights, a foreign JSON file and a newer format are refused, naming the file', () => {
  const text = bundleText(input);
  refused(text.slice(0, text.length / 2), /not valid JSON.*cut short/);
  const file = JSON.parse(text);
  refused(JSON.stringify({ ...file, weights: { ...file.weights, base64: Buffer.from(new Float32Array([1, 2, 3, 4]).buffer).toString('base64') } }), /does not match its checksum/);
  refused(JSON.stringify({ ...file, weights: { ...file.weights, count: 5 } }), /does not match its checksum/);
  // Edits outside the weights change the scores as much: a reversed recalibration, a column's scale, the label's threshold.
  refused(JSON.stringify({ ...file, calibration: { ...file.calibration, a: 0.5 } }), /does not match its checksum/);
  refused(JSON.stringify({ ...file, schema: { ...file.schema, label: { column: 'y', threshold: 2 } } }), /does not match its checksum/);
  refused(JSON.stringify({ complete: true, sites: {} }), /not a fedcausal model file \(its "format" is absent/);
  refused(JSON.stringify({ ...file, formatVersion: BUNDLE_FORMAT_VERSION + 1 }), /newer than this fedcausal reads.*upgrade/);
  refused(JSON.stringify({ ...file, prior: { version: 1 } }), /malformed: prior\.patterns/);
  refused(resealed({ ...file, schema: { label: { column: 'y', threshold: 0 } } }), /^m\.model\.json: [^\n]*modalities[^\n]*$/);
});

test('values no saver writes are refused even under a matching checksum: a reversing recalibration, a column scale of 0', () => {
  refused(bundleText({ ...input, calibration: { a: -5, b: 0, rows: 30 } }), /calibration\.a: expected a slope in \[0, 4\]/);
  const flat = { ...input.featureSpace, columns: [{ ...input.featureSpace.columns[0]!, std: 0 }] };
  refused(bundleText({ ...input, featureSpace: flat }), /featureSpace\.columns\[0\]\.std: expected a number above 0/);
});

test("a JSON tool's re-save (keys sorted, re-indented) reads back the same model: the modalities keep the model's order", () => {
  const sortKeys = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sortKeys) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])])) : v;
  // Modalities whose sorted order differs from the schema's (z before a).
  const s = compileSchema({ label: { column: 'y', threshold: 0 }, modalities: { z: ['x'], a: ['c'] }, categorical: ['c'] }, 'inline');
  const space = { modalities: [{ name: 'z', start: 0, end: 1 }, { name: 'a', start: 1, end: 2 }], columns: [{ feature: 'x', featureIndex: 0, kind: 'numeric' as const, mean: 0, std: 1 }, { feature: 'c', featureIndex: 1, kind: 'category' as const, category: '1', mean: 0, std: 1 }] };
  const text = bundleText({ ...input, schema: s, featureSpace: space });
  const resaved = JSON.stringify(sortKeys(JSON.parse(text)), null, 2);
  assert.deepEqual(parseModelBundle(resaved, 'm.model.json').schema.modalities.map((m) => m.name), ['z', 'a']);
  assert.deepEqual(parseModelBundle(resaved, 'm.model.json').schema, s);
  // A schema whose modalities are not the model's is refused.
  const file = JSON.parse(text);
  refused(resealed({ ...file, schema: { ...file.schema, modalities: { z: ['x'], b: ['c'] } } }), /the schema's modalities \(z, b\) are not the model's \(z, a\)/);
});

test('a non-finite weight is refused even with a matching checksum', () => {
  refused(bundleText({ ...input, weights: Float32Array.of(1, NaN) }), /non-finite weight/);
});

test('every schema form reads back the same: header or columns, label values or words, categories, ranges, missing codes', () => {
  const heart = loadSchema(new URL('../../../../shared/data/heart-disease/schema.json', import.meta.url).pathname);
  const rich = compileSchema(
    {
      columns: ['x', 'c', 'id', 'y'],
      label: { column: 'y', threshold: 1, values: [0, 1, 2, 3] },
      modalities: { a: ['x'], b: ['c'] },
      categorical: ['c'],
      categories: { c: ['1', '2', 'other'] },
      ranges: { x: [0, 300] },
      missingValues: ['?'],
      missingCodes: { x: ['0', '-9'] },
    },
    'inline',
  );
  const words = compileSchema({ label: { column: 'y', positive: ['yes', 'Y'], negative: ['no'] }, modalities: { a: ['x'] } }, 'inline');
  for (const s of [schema, heart, rich, words]) assert.deepEqual(parseModelBundle(bundleText({ ...input, schema: s, featureSpace: spaceFor(s) }), 'm.model.json').schema, s);
});
