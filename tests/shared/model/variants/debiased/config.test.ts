import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../../../../shared/errors.ts';
import { checkDebiasFeatures, compileDebiasConfig, DEFAULT_DEBIAS_CONFIG, effectiveWeighting, listFeatures, MAX_LISTED_FEATURES, usesDualBranch } from '../../../../../shared/model/variants/debiased/config.ts';

test('defaults: auto, balancing and Part 1 on, inactive until decided, flagged readings dropped', () => {
  const c = compileDebiasConfig(undefined);
  assert.deepEqual({ ...c, reason: '' }, { ...DEFAULT_DEBIAS_CONFIG, reason: '' });
  assert.equal(c.mode, 'auto');
  assert.equal(c.active, false);
  assert.equal(c.weighting, 'drop');
  assert.equal(usesDualBranch(c), false);
  assert.deepEqual([c.suspect, c.trusted], [[], []]);
  assert.equal(c.share, 0.5);
  assert.match(c.reason, /no decision/);
});

test('modes fix the switch; auto takes the resolved value', () => {
  assert.equal(compileDebiasConfig({ mode: 'on' }).active, true);
  assert.equal(compileDebiasConfig({ mode: 'off' }).active, false);
  const auto = compileDebiasConfig({ mode: 'auto', active: true, flagged: [{ feature: 'r', labelCorr: 0.6, withinClassCorr: 0.05 }] });
  assert.equal(auto.active, true);
  assert.equal(auto.flagged[0]!.source, 'auto', 'source defaults to auto');
  assert.match(auto.reason, /decided by the coordinator/);
  assert.equal(usesDualBranch(compileDebiasConfig({ mode: 'on', weighting: 'adaptive' })), true);
  assert.equal(usesDualBranch(compileDebiasConfig({ mode: 'on', weighting: 'outcome' })), false);
  const partial = compileDebiasConfig({ decide: { maxRatio: 0.25 } });
  assert.deepEqual(partial.decide, { minLabelCorr: 0.2, maxRatio: 0.25, minPairRows: 30, confidence: 2, minClearCorr: 0.05, minMarkers: 2, minCopyCorr: 0.7, maxRelative: 0, peerLink: 0 });
  assert.deepEqual(compileDebiasConfig({ suspect: ['reading'], trusted: ['lab1'] }).suspect, ['reading']);
});

test('bad values are rejected with exact messages', () => {
  const cases: [unknown, string][] = [
    ['yes', 'model.debiasing: must be a mapping (got "yes")'],
    [{ mode: 'sometimes' }, 'model.debiasing.mode: must be one of off, on, auto (got "sometimes")'],
    [{ adjustment: 'approx' }, 'model.debiasing.adjustment: must be one of exact, nwgm, none (got "approx")'],
    [{ share: 1.5 }, 'model.debiasing.share: must be a number in [0, 1] (got 1.5)'],
    [{ gceQ: 0 }, 'model.debiasing.gceQ: must be a number in [0.001, 1] (got 0)'],
    [{ swapWarmupEpochs: 1.5 }, 'model.debiasing.swapWarmupEpochs: must be an integer in [0, 100000] (got 1.5)'],
    [{ balancing: 'no' }, 'model.debiasing.balancing: must be true or false (got "no")'],
    [{ lamdaInd: 1 }, 'model.debiasing.lamdaInd: is not a known field (did you mean "lambdaInd"?); expected one of: mode, suspect, trusted, '],
    [{ decide: { minPairRows: 1 } }, 'model.debiasing.decide.minPairRows: must be an integer in [2, 1000000000] (got 1)'],
    [{ decide: { ratio: 1 } }, 'model.debiasing.decide.ratio: is not a known field; expected one of: minLabelCorr, maxRatio, minPairRows, confidence, minClearCorr, minMarkers'],
    [{ flagged: [{ feature: 1 }] }, 'model.debiasing.flagged[0].feature: must be a non-empty string (got 1)'],
    [{ flagged: [{ feature: 'r', labelCorr: 0.5 }] }, 'model.debiasing.flagged[0].withinClassCorr: is required'],
    [{ mode: 'off', active: true }, "model.debiasing.active: is true but mode is 'off'; only mode 'auto' takes a decision"],
    [{ weighting: 'balanced' }, 'model.debiasing.weighting: must be one of outcome, drop, adaptive, group-balanced, lff (got "balanced")'],
    [{ suspect: 'reading' }, 'model.debiasing.suspect: must be a list of feature names (got "reading")'],
    [{ suspect: ['a'], trusted: ['a'] }, 'model.debiasing: "a" is listed as both suspect and trusted'],
    [{ maxWeight: 0.5 }, 'model.debiasing.maxWeight: must be a number in [1, 1000] (got 0.5)'],
  ];
  for (const [raw, msg] of cases)
    assert.throws(
      () => compileDebiasConfig(raw),
      (e: unknown) => e instanceof InputError && e.message.startsWith(msg),
      `for ${JSON.stringify(raw)} expected "${msg}"`,
    );
});

test('adaptive weighting: LfF behind a flagged bias view, group-balanced when the bias branch sees everything', () => {
  const flagged = [{ feature: 'reading', labelCorr: 0.6, withinClassCorr: 0.05 }];
  const adaptive = { weighting: 'adaptive' };
  assert.equal(effectiveWeighting(compileDebiasConfig({ ...adaptive, flagged })), 'lff');
  assert.equal(effectiveWeighting(compileDebiasConfig(adaptive)), 'group-balanced', 'nothing flagged');
  assert.equal(effectiveWeighting(compileDebiasConfig({ ...adaptive, flagged, biasInputs: 'all' })), 'group-balanced', 'unrestricted bias branch');
  assert.equal(effectiveWeighting(compileDebiasConfig({ flagged, weighting: 'group-balanced' })), 'group-balanced');
  assert.equal(effectiveWeighting(compileDebiasConfig({ weighting: 'lff' })), 'lff');
});

test('suspect and trusted must name features of the schema; the message lists a bounded number of them', () => {
  const where = { file: 'fed.yaml', at: 'model.debiasing', schema: 'schema.json' };
  checkDebiasFeatures({ suspect: ['age'], trusted: ['chol'] }, ['age', 'chol'], where);
  assert.throws(
    () => checkDebiasFeatures({ suspect: ['age', 'agee'] }, ['age', 'chol'], where),
    (e: unknown) => e instanceof InputError && e.message === 'fed.yaml: model.debiasing.suspect[1]: "agee" is not a feature of the schema schema.json (its features: age, chol)',
  );
  assert.throws(() => checkDebiasFeatures({ trusted: ['x'] }, ['age'], where), /model\.debiasing\.trusted\[0\]: "x" is not a feature/);
  const wide = Array.from({ length: MAX_LISTED_FEATURES + 7 }, (_, i) => `f${i}`);
  assert.equal(listFeatures(wide), `${wide.slice(0, MAX_LISTED_FEATURES).join(', ')} and 7 more`);
  assert.equal(listFeatures(wide.slice(0, MAX_LISTED_FEATURES)), wide.slice(0, MAX_LISTED_FEATURES).join(', '));
});
