import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finalAuroc, finalEvaluationOf, finalInWords, siteAurocText, siteFigures } from '../../../shared/federation/final-evaluation.ts';

const site = (auroc: number, n?: number) => ({ auroc, accuracy: 0.8, balancedAccuracy: 0.8, ece: 0.1, ...(n !== undefined ? { n } : {}) });

test('finalAuroc: weighted by held-out rows; a site without an AUROC left out; a secure run\'s pooled figure first', () => {
  assert.equal(finalAuroc({ a: site(0.8, 100), b: site(0.6, 300) }), 0.65);
  // One class held out: no AUROC, and its rows do not dilute the others'.
  assert.equal(finalAuroc({ a: site(0.8, 100), b: site(NaN, 300) }), 0.8);
  assert.equal(finalAuroc({ a: { auroc: null, n: 10 } }), undefined);
  // Rates without row counts (a secure run's reports): the pooled figure, else none rather than an unweighted mean.
  assert.equal(finalAuroc({ a: site(0.81), b: site(0.86) }, { auroc: 0.852 }), 0.852);
  assert.equal(finalAuroc({ a: site(0.81), b: site(0.86) }), undefined);
  assert.equal(finalAuroc({}), undefined);
});

test('finalEvaluationOf and siteFigures: what the status and the log carry', () => {
  const f = finalEvaluationOf({ trainingRounds: 5, sites: { a: site(0.8, 100), b: site(0.6, 300) }, testSites: { t: site(0.7, 50) }, asked: ['a', 'b', 't'] });
  assert.deepEqual(f, { trainingRounds: 5, auroc: 0.65, sites: { a: site(0.8, 100), b: site(0.6, 300) }, testSites: { t: site(0.7, 50) } });
  assert.ok(!('auroc' in finalEvaluationOf({ trainingRounds: 1, sites: {}, testSites: {}, asked: [] })));
  // A site asked that sent nothing is named, and the words say the figure leaves it out (an outside try: a killed site vanished from it unsaid).
  const partial = finalEvaluationOf({ trainingRounds: 3, sites: { a: site(0.8, 100) }, testSites: {}, asked: ['a', 'va'], siteDecimals: 2 });
  assert.deepEqual(partial.missing, ['va']);
  assert.equal(partial.siteDecimals, 2);
  assert.equal(finalInWords(partial), "the model after 3 rounds: AUROC 0.800 (the training sites' AUROCs weighted by their held-out rows; va sent no final evaluation and is not in it)");
  assert.equal(siteAurocText(site(0.8)), '0.800');
  assert.equal(siteAurocText(site(0.8), 2), '0.80');
  assert.equal(siteAurocText({ ...site(0), auroc: NaN }), 'n/a (its held-out rows hold one class)');
  assert.deepEqual(siteFigures({ a: site(NaN, 10), b: site(0.9) }), { a: { auroc: null, accuracy: 0.8, ece: 0.1, n: 10 }, b: { auroc: 0.9, accuracy: 0.8, ece: 0.1 } });
});
