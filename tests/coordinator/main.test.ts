// The coordinator's end message per site (coordinator/main.ts): the warnings that name the
// site, and only a count of the rest, which quote other hospitals' failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endMessageFor } from '../../coordinator/main.ts';

const WARNINGS = [
  'site "va" trained in no round: its statistics were not counted (offline when the round started), so it does not train in this run: restart the run with every site online to include it; its final metrics score a model trained without it',
  'site "hungary" trained in 2 of 3 accepted rounds (missing from round 2: update refused: numExamples 812 differs from the 810 rows it reported at the statistics stage)',
  'final evaluation missing from hungary: offline when the round started',
];

test('each site reads the warnings about itself and a count of the others', () => {
  assert.equal(endMessageFor('va', 'federation complete', WARNINGS), `federation complete; warning: ${WARNINGS[0]}; 2 warnings about other sites in the coordinator's results`);
  assert.equal(
    endMessageFor('hungary', 'federation complete', WARNINGS),
    `federation complete; warning: ${WARNINGS[1]}; warning: ${WARNINGS[2]}; 1 warning about other sites in the coordinator's results`,
  );
  // A site whose name another's begins with is not taken for it.
  assert.equal(endMessageFor('hun', 'federation complete', WARNINGS), "federation complete; 3 warnings about other sites in the coordinator's results");
  assert.equal(endMessageFor('va', 'federation complete', []), 'federation complete');
});
