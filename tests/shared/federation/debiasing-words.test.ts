import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decisionInWords, weightingInWords } from '../../../shared/federation/debiasing-words.ts';

test('the decision in words follows the weighting the report names', () => {
  assert.equal(
    decisionInWords({ mode: 'auto', decision: 'on', weighting: 'drop', share: 0.3, flagged: [{ feature: 'chol' }] }),
    "Debiasing is ON (mode auto): 1 reading flagged as a shortcut (chol); the flagged readings are left out of the model's inputs (the health figures' association of such a reading is the rows', which the model no longer sees), and pattern balancing reweights the rows so that the missingness pattern carries no information about the outcome.",
  );
  // Pattern balancing reweights: "without reweighting" read as a plain model (an outside try).
  assert.equal(
    decisionInWords({ mode: 'auto', decision: 'off', weighting: 'pattern balancing only', share: 0.5, flagged: [] }),
    'Debiasing is OFF (mode auto): nothing flagged; no reading is reweighted or left out; pattern balancing reweights the rows so that the missingness pattern carries no information about the outcome.',
  );
  assert.equal(decisionInWords({ mode: 'off', decision: 'off', weighting: 'none (balancing off)', flagged: [{ feature: 'a' }, { feature: 'b' }] }), 'Debiasing is OFF (mode off): 2 readings flagged (a, b) but not acted on; no reweighting (pattern balancing is off).');
  assert.equal(decisionInWords({}), 'Debiasing decision: not made yet.');
});

test('share is said only for the weighting that reads it', () => {
  assert.match(weightingInWords({ weighting: 'group-balanced', share: 0.3 }), /puts 30% of each batch's weight/);
  for (const weighting of ['drop', 'outcome', 'lff', 'pattern balancing only']) assert.doesNotMatch(weightingInWords({ weighting, share: 0.3 }), /30%/, weighting);
  assert.equal(weightingInWords({ weighting: 'something new' }), 'weighting something new');
});
