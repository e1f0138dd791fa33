import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSchema, schemaToJson } from '../../../shared/data/schema.ts';
import { schemaDifference } from '../../../shared/data/schema-compare.ts';

const raw = { label: { column: 'num', threshold: 0 }, modalities: { demo: ['age', 'sex'], labs: ['chol', 'trestbps'] }, categorical: ['sex'], missingValues: ['?'] };
const schema = compileSchema(raw, 'schema.json');
const sent = (patch: Record<string, unknown>) => ({ ...(schemaToJson(schema) as object), ...patch });

test('the same schema, as a site sends it, has no difference', () => {
  assert.equal(schemaDifference(schemaToJson(schema), schema), undefined);
  // Written otherwise (key order, spacing) it compiles to the same schema.
  assert.equal(schemaDifference(schemaToJson(compileSchema(JSON.parse(JSON.stringify({ ...raw, missingValues: ['?'] })), 'x')), schema), undefined);
});

test('each kind of difference is named, both sides quoted', () => {
  assert.equal(schemaDifference(sent({ label: { column: 'num', threshold: 2 } }), schema), 'label: the site\'s {"column":"num","threshold":2}, the federation\'s {"column":"num","threshold":0}');
  assert.equal(schemaDifference(sent({ modalities: { demo: ['age'], labs: ['chol', 'trestbps', 'sex'] } }), schema), "modalities: sex is in labs, the federation's in demo");
  assert.equal(schemaDifference(sent({ modalities: { demo: ['age', 'sex'], labs: ['chol'] } }), schema), 'modalities: trestbps (labs) is missing');
  assert.equal(schemaDifference(sent({ modalities: { demo: ['age', 'sex'], labs: ['chol', 'trestbps', 'ldl'] } }), schema), "modalities: ldl (in labs) is not the federation's");
  // The same features in another order: another column order, both sides whole.
  assert.match(schemaDifference(sent({ modalities: { demo: ['sex', 'age'], labs: ['chol', 'trestbps'] } }), schema)!, /^modalities: the site's \{"demo":\["sex","age"\]/);
  assert.equal(schemaDifference(sent({ categories: { sex: ['0', '1'] } }), schema), 'categories: the site\'s {"sex":["0","1"]}, the federation\'s absent');
  assert.equal(schemaDifference(sent({ categorical: [], extra: 1 }), schema), "categorical: the site's [], the federation's [\"sex\"]; the site's schema has parts this coordinator does not know: extra");
});

test('what a site sends is untrusted: anything but an object is unreadable, and quotes are cut short', () => {
  for (const bad of [null, 'schema', 42, [1]]) assert.equal(schemaDifference(bad, schema), "the site's schema is not readable");
  const long = schemaDifference(sent({ label: { column: 'x'.repeat(1000), threshold: 0 } }), schema)!;
  assert.ok(long.length < 400, `${long.length} characters`);
  assert.match(long, /\.\.\., the federation's/);
});
