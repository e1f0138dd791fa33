// The coordinator's end message per site (coordinator/end-message.ts): what is about the
// site, and only a count of the rest, which quotes other hospitals' failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endMessageFor, failedMessageFor } from '../../coordinator/end-message.ts';
import type { RoundRecord } from '../../coordinator/round-outcome.ts';

const WARNINGS = [
  'site "va" trained in no round: its statistics were not counted (offline when the round started), so it does not train in this run: restart the run with every site online to include it; its final metrics score a model trained without it',
  'site "hungary" trained in 2 of 3 accepted rounds (missing from round 2: update refused: numExamples 812 differs from the 810 rows it reported at the statistics stage)',
  'final evaluation missing from hungary: offline when the round started',
];
const complete = (warnings: string[]) => ({ problems: [], warnings, history: [] });
const SITES = ['va', 'hungary', 'cleveland'];

test('each site reads the warnings about itself and a count of the others', () => {
  assert.equal(endMessageFor('va', complete(WARNINGS), SITES), `federation complete; warning: ${WARNINGS[0]}; 2 warnings about other sites in the coordinator's results`);
  assert.equal(
    endMessageFor('hungary', complete(WARNINGS), SITES),
    `federation complete; warning: ${WARNINGS[1]}; warning: ${WARNINGS[2]}; 1 warning about other sites in the coordinator's results`,
  );
  // A site whose name another's begins with is not taken for it.
  assert.equal(endMessageFor('hun', complete(WARNINGS), [...SITES, 'hun']), "federation complete; 3 warnings about other sites in the coordinator's results");
  assert.equal(endMessageFor('va', complete([]), SITES), 'federation complete');
});

test('an incomplete run tells each site which rounds failed, its own failures, and not the other sites\' reasons', () => {
  const round = (n: number, accepted: boolean, failed: RoundRecord['failed']) => ({ round: n, accepted, failed }) as RoundRecord;
  const refused = 'update refused: numExamples 812 differs from the 810 rows it reported at the statistics stage';
  const outcome = {
    history: [round(1, true, []), round(2, false, [{ site: 'hungary', reason: refused }, { site: 'va', reason: 'site went offline during the round' }])],
    problems: [
      `round 2 not accepted: 1 sites answered, 2 needed (hungary: ${refused}; va: site went offline during the round)`,
      'final evaluation missing from test1: offline when the round started',
    ],
    warnings: [],
  };
  const va = endMessageFor('va', outcome, ['va', 'hungary', 'test1']);
  assert.equal(va, "federation ended incomplete: round 2 not accepted (this site failed it: site went offline during the round); 1 problem or warning about other sites in the coordinator's results");
  assert.doesNotMatch(va, /numExamples|hungary/, "another hospital's failure stays with the coordinator's operator");
  assert.equal(
    endMessageFor('test1', outcome, ['va', 'hungary', 'test1']),
    'federation ended incomplete: round 2 not accepted; problem: final evaluation missing from test1: offline when the round started',
  );
});

test('a problem or round reason that names no other site is told to every site; one that does, and a failed run\'s such reason, are not', () => {
  const round = (n: number, failed: RoundRecord['failed'], reason: string) => ({ round: n, accepted: false, failed, reason }) as RoundRecord;
  const sites = ['va', 'hungary', 'cleveland'];
  const outcome = {
    history: [round(3, [], 'the fedadam aggregate is not finite (parameter 7 is NaN): check the strategy\'s options (serverLearningRate, proximalMu, tau)')],
    problems: [
      'round 3 not accepted: the fedadam aggregate is not finite (parameter 7 is NaN): check the strategy\'s options (serverLearningRate, proximalMu, tau)',
      'final evaluation not summed: the mask key of hungary cannot be rebuilt',
      'final evaluation not summed: too few shares',
    ],
    warnings: [],
  };
  assert.equal(
    endMessageFor('va', outcome, sites),
    "federation ended incomplete: round 3 not accepted: the fedadam aggregate is not finite (parameter 7 is NaN): check the strategy's options (serverLearningRate, proximalMu, tau); " +
      "problem: final evaluation not summed: too few shares; 1 problem or warning about other sites in the coordinator's results",
  );
  assert.match(endMessageFor('hungary', outcome, sites), /problem: final evaluation not summed: the mask key of hungary cannot be rebuilt/, 'its own name: told');
  const quorum = 'federation failed: statistics round: 1 sites answered, 2 needed (hungary: update refused: numExamples 812 differs from the 810 rows)';
  assert.equal(failedMessageFor('va', quorum, sites), "federation failed: the reason concerns other sites and is in the coordinator's log");
  assert.equal(failedMessageFor('va', 'federation failed: the training rows hold one class (no row of label 1)', sites), 'federation failed: the training rows hold one class (no row of label 1)');
  // A name inside another word is not that site.
  assert.equal(failedMessageFor('hungary', 'federation failed: the vaccine column is constant', sites), 'federation failed: the vaccine column is constant');
});

test('a run with many refused rounds lists the first few and counts the rest: the message stays short', () => {
  const history = Array.from({ length: 92 }, (_, i) => ({ round: i + 1, accepted: false, failed: [{ site: 'va', reason: 'no answer within the round deadline' }] }) as RoundRecord);
  const outcome = { problems: history.map((h) => `round ${h.round} not accepted: too few sites`), warnings: [], history };
  const m = endMessageFor('va', outcome, SITES);
  assert.ok(m.startsWith('federation ended incomplete: round 1 not accepted (this site failed it: no answer within the round deadline); round 2'), m);
  assert.match(m, /round 5 not accepted \(this site failed it: no answer within the round deadline\); and 87 more \(rounds not accepted, in the coordinator's results\)$/);
  assert.ok(m.length < 600, `${m.length} characters`);
});
