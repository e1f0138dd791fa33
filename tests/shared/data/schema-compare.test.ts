import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSchema, schemaFileJson } from '../../../shared/data/schema.ts';
import { digestDifference, MAX_JOIN_SCHEMA_BYTES, schemaDifference, schemaDigest, schemaJoinForm } from '../../../shared/data/schema-compare.ts';

const raw = {
  label: { column: 'num', threshold: 0 },
  modalities: { demo: ['age', 'sex'], labs: ['chol', 'trestbps'], other: ['cp'] },
  categorical: ['sex', 'cp'],
  missingValues: ['?', 'NA'],
  missingCodes: { chol: ['0'], trestbps: ['0', '0.0'] },
  categories: { sex: ['0', '1'] },
  ranges: { age: [0, 120], chol: [0, 900] },
};
const schema = compileSchema(raw, 'schema.json');
const sent = (patch: Record<string, unknown>) => ({ ...(schemaFileJson(schema) as object), ...patch });

test('the same schema, as a site sends it, has no difference; nor one whose sets and maps are written in another order', () => {
  assert.equal(schemaDifference(schemaFileJson(schema), schema), undefined);
  // A re-try: key order of missingCodes, a reversed missingValues, were refused; order means nothing in a set or a map.
  const reordered = compileSchema(
    {
      ...raw,
      categorical: ['cp', 'sex'],
      missingValues: ['NA', '?'],
      missingCodes: { trestbps: ['0.0', '0'], chol: ['0'] },
      categories: { sex: ['1', '0'] },
      ranges: { chol: [0, 900], age: [0, 120] },
    },
    'reordered.json',
  );
  assert.equal(schemaDifference(schemaFileJson(reordered), schema), undefined);
  assert.equal(schemaDigest(schemaFileJson(reordered)), schemaDigest(schemaFileJson(schema)));
  // A label of words in another order, and key order inside the label.
  const words = compileSchema({ ...raw, label: { column: 'num', positive: ['yes', 'y'], negative: ['no'] } }, 'w.json');
  const wordsReordered = compileSchema({ ...raw, label: { negative: ['no'], positive: ['y', 'yes'], column: 'num' } }, 'w2.json');
  assert.equal(schemaDifference(schemaFileJson(wordsReordered), words), undefined);
});

test('each kind of difference is named, both sides quoted in the schema file\'s own form', () => {
  assert.equal(schemaDifference(sent({ label: { column: 'num', threshold: 2 } }), schema), 'label: the site\'s {"column":"num","threshold":2}, the federation\'s {"column":"num","threshold":0}');
  const words = compileSchema({ ...raw, label: { column: 'num', positive: ['yes'], negative: ['no'] } }, 'w.json');
  assert.match(schemaDifference(sent({}), words)!, /^label: the site's \{"column":"num","threshold":0\}, the federation's \{"column":"num","positive":\["yes"\],"negative":\["no"\]\}/);
  assert.equal(schemaDifference(sent({ modalities: { demo: ['age'], labs: ['chol', 'trestbps', 'sex'], other: ['cp'] } }), schema), "modalities: sex is in labs, the federation's in demo");
  assert.equal(schemaDifference(sent({ modalities: { demo: ['age', 'sex'], labs: ['chol'], other: ['cp'] } }), schema), 'modalities: trestbps (labs) is missing');
  assert.equal(schemaDifference(sent({ modalities: { labs: ['chol', 'trestbps'], demo: ['age', 'sex'], other: ['cp'] } }), schema), "modalities: the same modalities in another order (the site's labs, demo, other; the federation's demo, labs, other)");
  assert.equal(schemaDifference(sent({ modalities: { demo: ['sex', 'age'], labs: ['chol', 'trestbps'], other: ['cp'] } }), schema), 'modalities: the same features in another order within demo');
  assert.equal(schemaDifference(sent({ categories: { sex: ['0', '1', '2'] } }), schema), 'categories: the site\'s {"sex":["0","1","2"]}, the federation\'s {"sex":["0","1"]}');
  assert.equal(schemaDifference(sent({ categorical: ['sex'], extra: 1 }), schema), 'categorical: the site\'s ["sex"], the federation\'s ["sex","cp"]; the site\'s schema has parts this coordinator does not know: "extra"');
});

test('what a site sends is untrusted: not an object, or nested past any schema, is unreadable; quotes are cut short', () => {
  for (const bad of [null, 'schema', 42, [1]]) assert.equal(schemaDifference(bad, schema), "the site's schema is not readable");
  let deep: unknown = {};
  for (let i = 0; i < 5000; i++) deep = { label: deep };
  assert.equal(schemaDifference(deep, schema), "the site's schema is not readable");
  const long = schemaDifference(sent({ label: { column: 'x'.repeat(1000), threshold: 0 } }), schema)!;
  assert.ok(long.length < 400, `${long.length} characters`);
  assert.match(long, /\.\.\., the federation's/);
});

test('a schema too large to join whole travels as its digest, compared whole', () => {
  assert.ok('schema' in schemaJoinForm(schema));
  const huge = compileSchema({ ...raw, missingValues: Array.from({ length: 40_000 }, (_, i) => `m${i}`) }, 'huge.json');
  const form = schemaJoinForm(huge);
  assert.ok('schemaDigest' in form && JSON.stringify(form).length < 200, 'a digest only');
  assert.ok(JSON.stringify(schemaFileJson(huge)).length > MAX_JOIN_SCHEMA_BYTES);
  assert.equal(digestDifference((form).schemaDigest, huge), undefined);
  assert.match(digestDifference((form).schemaDigest, schema)!, /^its schema's digest [0-9a-f]{12} is not the federation's [0-9a-f]{12}/);
});
