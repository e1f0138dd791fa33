import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../../shared/errors.ts';
import {
  MAX_SYNTH_COHORT_ROWS,
  SYNTH_KNOBS,
  compileSynthOptions,
  defaultSynthOptions,
  synthKnobsHelp,
} from '../../../shared/synth/options.ts';

const rejects = (raw: Record<string, string | undefined>, message: string) =>
  assert.throws(() => compileSynthOptions(raw), (e: unknown) => e instanceof InputError && e.message === message);

test('no flags give the documented defaults', () => {
  assert.deepEqual(defaultSynthOptions(), {
    sites: 4, rows: 500, seed: 1, spuriousStrength: 1, spuriousFlip: true,
    missingBias: 1.2, missingHeldOut: false, siteShift: 0.5, alpha: 2, outcomeOffset: 0, noise: 1, labsSeverity: 1,
    imagingRate: 0.5, agreement: 1, readings: 1, readingType: 'numeric', labelDriven: false,
  });
  assert.deepEqual(compileSynthOptions({ rows: undefined }), defaultSynthOptions());
});

test('flags parse with or without the leading dashes', () => {
  const o = compileSynthOptions({
    sites: '3', '--rows': '40', seed: '7', 'spurious-strength': '0.5', 'spurious-flip': 'false',
    'missing-bias': '2', 'missing-held-out': 'true', 'site-shift': '0', alpha: '1.5e0', 'outcome-offset': '-4', noise: ' .5 ', 'labs-severity': '-1',
    'imaging-rate': '0.33', '--agreement': '0.7', readings: '2', 'reading-type': ' categorical', 'label-driven': 'true',
  });
  assert.deepEqual(o, {
    sites: 3, rows: 40, seed: 7, spuriousStrength: 0.5, spuriousFlip: false,
    missingBias: 2, missingHeldOut: true, siteShift: 0, alpha: 1.5, outcomeOffset: -4, noise: 0.5, labsSeverity: -1,
    imagingRate: 0.33, agreement: 0.7, readings: 2, readingType: 'categorical', labelDriven: true,
  });
});

test('bad values name the flag, the allowed range and what was given', () => {
  for (const v of ['abc', '19', '50.5', '', '0', '-5', '1e99', '500001'])
    rejects({ rows: v }, `--rows: must be an integer in [20, 500000] (got ${JSON.stringify(v)})`);
  rejects({ sites: '1' }, '--sites: must be an integer in [2, 100] (got "1")');
  rejects({ seed: '-1' }, '--seed: must be an integer in [0, 4294967295] (got "-1")');
  rejects({ alpha: '-0.1' }, '--alpha: must be a number in [0, 10] (got "-0.1")');
  rejects({ noise: 'Infinity' }, '--noise: must be a number in [0, 10] (got "Infinity")');
  rejects({ 'missing-bias': '0x10' }, '--missing-bias: must be a number in [0, 10] (got "0x10")');
  rejects({ 'spurious-flip': 'yes' }, '--spurious-flip: must be true or false (got "yes")');
});

test('bad values of the cohort-family knobs name the flag, the allowed values and what was given', () => {
  rejects({ 'imaging-rate': '0' }, '--imaging-rate: must be a number in [0.05, 1] (got "0")');
  rejects({ 'imaging-rate': '1.01' }, '--imaging-rate: must be a number in [0.05, 1] (got "1.01")');
  rejects({ agreement: '0.4' }, '--agreement: must be a number in [0.5, 1] (got "0.4")');
  rejects({ agreement: 'high' }, '--agreement: must be a number in [0.5, 1] (got "high")');
  rejects({ readings: '3' }, '--readings: must be an integer in [1, 2] (got "3")');
  rejects({ readings: '1.5' }, '--readings: must be an integer in [1, 2] (got "1.5")');
  rejects({ 'reading-type': 'ordinal' }, '--reading-type: must be one of numeric, categorical (got "ordinal")');
  rejects({ 'reading-type': 'Categorical' }, '--reading-type: must be one of numeric, categorical (got "Categorical")');
  rejects({ 'label-driven': '1' }, '--label-driven: must be true or false (got "1")');
});

test('--sites x --rows is bounded by what fits in memory, the message giving the range for the sites asked for', () => {
  assert.equal(MAX_SYNTH_COHORT_ROWS, 1_000_000);
  assert.equal(compileSynthOptions({ sites: '2', rows: '500000' }).rows, 500000);
  assert.equal(compileSynthOptions({ rows: '250000' }).rows, 250000); // 4 sites by default
  rejects({ rows: '250001' }, '--rows: must be an integer in [20, 250000] with --sites 4, so the cohort stays within 1000000 rows held in memory (got "250001")');
  rejects({ sites: '100', rows: '10001' }, '--rows: must be an integer in [20, 10000] with --sites 100, so the cohort stays within 1000000 rows held in memory (got "10001")');
});

test('an unknown flag is rejected with the known ones listed', () => {
  assert.throws(
    () => compileSynthOptions({ 'spurious-strenght': '1' }),
    (e: unknown) => e instanceof InputError && /^--spurious-strenght: is not a known field \(did you mean --spurious-strength\?\); expected one of: sites, rows, /.test(e.message),
  );
});

test('every knob is documented, with its default inside its range, in the help text', () => {
  const help = synthKnobsHelp();
  for (const k of SYNTH_KNOBS) {
    assert.ok(k.doc.length > 20, `--${k.flag} lacks a doc`);
    assert.ok(help.includes(`--${k.flag} (default ${k.default};`), `--${k.flag} missing from help`);
    if (k.type === 'int' || k.type === 'number') assert.ok(k.default >= k.min && (k.max === undefined || k.default <= k.max));
    if (k.type === 'choice') {
      assert.ok(k.choices.includes(k.default), `--${k.flag}: default not among its choices`);
      assert.ok(help.includes(`; ${k.choices.join('|')})`), `--${k.flag}: choices missing from help`);
    }
  }
  assert.equal(new Set(SYNTH_KNOBS.map((k) => k.key)).size, Object.keys(defaultSynthOptions()).length);
});
