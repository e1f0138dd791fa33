import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../../shared/errors.ts';
import { int, strict, text } from '../../../shared/config/fields.ts';
import { allFaults, closestField, fieldError, MAX_LISTED_ISSUES, parseInput } from '../../../shared/config/issues.ts';

const schema = strict({ rounds: int(1, 100), name: text() });
const messageOf = (raw: unknown) => {
  try {
    parseInput(schema, raw, { file: 'c.yaml' });
  } catch (e) {
    assert.ok(e instanceof InputError);
    return e.message;
  }
  assert.fail('expected an InputError');
};

test('one fault: one line, as before', () => {
  assert.equal(messageOf({ rounds: 0, name: 'x' }), 'c.yaml: rounds: must be an integer in [1, 100] (got 0)');
});

test('every fault of a file, one a line: the unknown fields of a section first, in one line with a guess where one is close, then the rest (a typo shows as a missing field too)', () => {
  assert.equal(
    messageOf({ rouns: 5, nmae: 'x', extra: 1 }),
    [
      'c.yaml: rouns, nmae, extra: are not known fields ("rouns": did you mean "rounds"?; "nmae": did you mean "name"?); expected one of: rounds, name',
      'c.yaml: rounds: is required',
      'c.yaml: name: is required',
    ].join('\n'),
  );
  assert.equal(messageOf({ rounds: 5, name: 'x', Name: 'y' }), 'c.yaml: Name: is not a known field (did you mean "name"?); expected one of: rounds, name');
  assert.equal(messageOf({ rounds: 5, name: 'x', colour: 'y' }), 'c.yaml: colour: is not a known field; expected one of: rounds, name');
});

test('a file full of faults lists the first few and counts the rest', () => {
  const many = strict(Object.fromEntries(Array.from({ length: MAX_LISTED_ISSUES + 3 }, (_, k) => [`f${k}`, int(1, 9)])));
  try {
    parseInput(many, {}, { file: 'c.yaml' });
    assert.fail('expected an InputError');
  } catch (e) {
    const lines = (e as Error).message.split('\n');
    assert.equal(lines.length, MAX_LISTED_ISSUES + 1);
    assert.equal(lines[0], 'c.yaml: f0: is required');
    assert.equal(lines.at(-1), '... and 3 more');
  }
});

test('closestField: a typo, a swap, another case or separator; nothing for a different word', () => {
  const known = ['rounds', 'grpcPort', 'minSitesToStart', 'localEpochs'];
  assert.equal(closestField('rouns', known), 'rounds');
  assert.equal(closestField('grpc_port', known), 'grpcPort');
  assert.equal(closestField('minSiteToStart', known), 'minSitesToStart');
  assert.equal(closestField('localEpocs', known), 'localEpochs');
  assert.equal(closestField('colour', known), undefined);
  // A cut-short name is a guess where one known name starts with it (--conf for --config), not where two do.
  assert.equal(closestField('conf', ['config', 'data']), 'config');
  assert.equal(closestField('min', ['minSitesToStart', 'minSitesToAccept']), undefined);
});

test('allFaults: independent checks report their faults together, capped as one message', () => {
  const parse = (raw: unknown) => () => parseInput(schema, raw, { file: 'c.yaml' });
  assert.deepEqual(allFaults([parse({ rounds: 2, name: 'a' }), () => 7]), [{ rounds: 2, name: 'a' }, 7]);
  // One failing check: its error as it is.
  const single = fieldError({ file: 'c.yaml' }, 'model', 'is wrong');
  assert.throws(() => allFaults([parse({ rounds: 2, name: 'a' }), () => { throw single; }]), (e) => e === single);
  // Several: each fault once, in the checks' order.
  assert.throws(
    () => allFaults([parse({ rounds: 0 }), () => { throw fieldError({ file: 'c.yaml' }, 'model', 'is wrong'); }, parse({ rounds: 0 })]),
    (e: unknown) => e instanceof InputError && e.message === ['c.yaml: rounds: must be an integer in [1, 100] (got 0)', 'c.yaml: name: is required', 'c.yaml: model: is wrong'].join('\n'),
  );
  const many = Array.from({ length: MAX_LISTED_ISSUES + 2 }, (_, k) => () => { throw fieldError({}, `f${k}`, 'is wrong'); });
  assert.throws(() => allFaults(many), (e: unknown) => e instanceof InputError && e.message.split('\n').length === MAX_LISTED_ISSUES + 1 && e.message.endsWith('... and 2 more'));
  // Anything but bad input is not input's to report.
  assert.throws(() => allFaults([parse({ rounds: 0 }), () => { throw new TypeError('bug'); }]), TypeError);
});
