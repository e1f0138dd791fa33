import { parseTaskKind, taskKind } from '../../../shared/protocol/messages.ts';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TaskMetaSchema } from '../../../shared/protocol/task-meta.ts';

const space = {
  modalities: [{ name: 'vitals', start: 0, end: 2 }],
  columns: [
    { feature: 'age', featureIndex: 0, kind: 'numeric', mean: 54, std: 9 },
    { feature: 'sex', featureIndex: 1, kind: 'category', category: '1', mean: 0, std: 1 },
  ],
};
const prior = { version: 1, patterns: [{ pattern: '11', p: 1 }], balancing: { '11': [1, 1] }, minCount: 5, totalRows: 100 };
const model = { kind: 'logreg', raw: { localEpochs: 1 }, seed: 1 };
const fit = { federation: 'f', round: 1, kind: 'fit', config: { rounds: 3, final: false, note: 'x' }, featureSpace: space, prior, model, weights: 12 };

const issues = (v: unknown) => {
  const r = TaskMetaSchema.safeParse(v);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

test('the tasks the round loop sends pass', () => {
  assert.deepEqual(issues(fit), []);
  assert.deepEqual(issues({ federation: 'f', round: 0, kind: 'stats', config: {}, stage: 1, weights: 0 }), []);
  assert.deepEqual(issues({ federation: 'f', round: 0, kind: 'stats', config: {}, stage: 3, featureSpace: space, balanceFeatures: ['age'], weights: 0 }), []);
  assert.deepEqual(issues({ federation: 'f', round: 4, kind: 'end', config: {}, weights: 0, message: 'done', outcome: 'complete' }), []);
});

test('what a task kind needs must be there', () => {
  const { featureSpace: _s, model: _m, ...bare } = fit;
  assert.deepEqual(issues(bare), ['featureSpace: required in a fit task', 'model: required in a fit task']);
  assert.deepEqual(issues({ federation: 'f', round: 0, kind: 'stats', config: {}, stage: 3, featureSpace: space, weights: 0 }), [
    'balanceFeatures: required in a stats task of stage 3',
  ]);
  // A secure aggregation phase: its stage is the phase, its secagg field the phase's input.
  assert.deepEqual(issues({ federation: 'f', round: 1, kind: 'secagg', config: {}, stage: 4, secagg: { session: 'f/1/fit' }, weights: 0 }), []);
  assert.deepEqual(issues({ federation: 'f', round: 1, kind: 'secagg', config: {}, weights: 0 }), ['stage: required in a secagg task (its phase)', 'secagg: required in a secagg task']);
  assert.deepEqual(issues({ federation: 'f', round: 0, kind: 'stats', config: {}, stage: 4, weights: 0 }), ['vocabulary: required in a stats task of stage 4']);
  assert.deepEqual(issues({ federation: 'f', round: 0, kind: 'stats', config: {}, stage: 7, weights: 0 }), ['stage: a stats task has stages 1 to 6']);
});

test('wrong types, kinds and values are refused with their path', () => {
  assert.deepEqual(issues({ ...fit, kind: 'train' }), ['kind: Invalid option: expected one of "stats"|"fit"|"evaluate"|"end"|"secagg"']);
  assert.deepEqual(issues({ ...fit, weights: -1 }), ['weights: Too small: expected number to be >=0']);
  assert.deepEqual(issues({ ...fit, config: { rounds: [3] } }), ['config.rounds: Invalid input']);
  assert.deepEqual(issues({ ...fit, featureSpace: { ...space, columns: [{ ...space.columns[0], kind: 'text' }] } }), [
    'featureSpace.columns.0.kind: Invalid option: expected one of "numeric"|"category"',
  ]);
  assert.deepEqual(issues({ ...fit, balance: 'on' }), ['balance: expected an object']);
  assert.deepEqual(issues(null), [': Invalid input: expected object, received null']);
});

test('a task envelope kind and its reading back agree, for every kind and stage; other kinds are none', () => {
  for (const [kind, stage] of [['fit'], ['evaluate'], ['end'], ['stats', 1], ['stats', 6], ['secagg', 94]] as const) {
    const envelope = taskKind(kind, stage);
    assert.deepEqual(parseTaskKind(envelope), { kind, ...(stage === undefined ? {} : { stage }) }, envelope);
  }
  assert.equal(taskKind('stats', 2), 'task-stats-2');
  for (const other of ['fit-result', 'join', 'task-train', 'task-fit-x']) assert.equal(parseTaskKind(other), undefined, other);
});
