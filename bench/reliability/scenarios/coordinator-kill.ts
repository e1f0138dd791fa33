// kill -9 of the coordinator in each phase, then a restart with the same config (as a
// supervisor would): it should resume from its last committed round, the sites should
// reconnect by themselves, and the run should end complete with the same model as an
// uninterrupted run with the seed. The kill lands in its phase through the coordinator's
// fault points (FEDCAUSAL_CRASH_AT, shared/crash-points.ts), never a race.
import type { ResultsFile } from '../../../cli/results.ts';
import type { RoleProcess, TestFederation } from '../../../tests/e2e/helpers/federation.ts';
import { describeRun, exitText, roundsLost, settle } from '../facts.ts';
import { faultRun, inFederation, ROUNDS, SITES } from '../phases.ts';
import { Checks, type Observed, type Scenario, type ScenarioContext } from '../scenario.ts';

interface Point {
  phase: string;
  /** FEDCAUSAL_CRASH_AT; none: killed from outside while it waits for its sites. */
  at?: string;
  text: string;
  /** The last committed round the restart should resume from (-1: nothing agreed yet, it starts over). */
  resumes: number;
}

const POINTS: Point[] = [
  { phase: 'waiting', text: 'it waits for its sites (none joined)', resumes: -1 },
  { phase: 'statistics', at: 'stats:0', text: 'the statistics round has begun', resumes: -1 },
  { phase: 'collecting', at: 'result-fit:2', text: 'the first update of round 2 has arrived', resumes: 1 },
  { phase: 'aggregating', at: 'aggregating:2', text: 'it aggregates round 2', resumes: 1 },
  { phase: 'committed', at: 'committed:2', text: 'round 2 has just been committed', resumes: 2 },
  { phase: 'evaluating', at: `evaluating:${ROUNDS + 1}`, text: 'the final evaluation has begun', resumes: ROUNDS },
];

const modelOf = (fed: TestFederation, c: RoleProcess) => fed.results<ResultsFile>(c).modelSha256;

/** The uninterrupted run's final model, made once for every scenario of this file. */
function reference(ctx: ScenarioContext): Promise<string> {
  return ctx.shared('coordinator-kill-reference', () =>
    inFederation(faultRun(), async (fed) => {
      const c = await fed.startCoordinator();
      const sites = SITES.map((s) => fed.startSite(s));
      await settle(fed, c, sites, 120_000, Date.now());
      return modelOf(fed, c);
    }),
  );
}

function run(p: Point) {
  return (ctx: ScenarioContext) =>
    inFederation(faultRun(), async (fed): Promise<Observed> => {
      const want = await reference(ctx);
      const first = p.at ? await fed.startCoordinator(30_000, { env: { FEDCAUSAL_CRASH_AT: p.at } }) : await fed.startCoordinator();
      if (!p.at) first.kill('SIGKILL');
      const sites = SITES.map((s) => fed.startSite(s));
      const died = await first.exited;
      const t0 = Date.now();
      const second = await fed.startCoordinator();
      const facts = await settle(fed, second, sites, 120_000, t0);
      const resumed = second.logs.find((l) => l.message === 'resuming the federation from its last committed round');
      const from = resumed ? Number(resumed.round) : -1;
      const c = new Checks();
      c.equal('the first coordinator died by SIGKILL in the phase', died.signal, 'SIGKILL', `${died.signal ?? `exit ${died.code}`}`);
      c.equal(`the restart resumes from round ${p.resumes} (-1: starts over)`, from, p.resumes);
      c.equal('the restarted coordinator exits 0', facts.coordinator.code, 0, exitText(facts.coordinator));
      c.expect('results complete', facts.results?.complete === true, facts.results ? `complete: ${facts.results.complete}` : 'no results file');
      c.expect('the sites reconnect by themselves and exit 0', facts.sites.every((s) => s.code === 0), facts.sites.map((s) => `${s.name} ${exitText(s)}`).join(', '));
      const model = facts.results ? modelOf(fed, second) : 'none';
      c.expect('the final model equals the uninterrupted run\'s', model === want, `${model.slice(0, 12)}… vs ${want.slice(0, 12)}…`);
      const lost = roundsLost(facts);
      return {
        outcome: `${describeRun(facts)}; resumed from round ${from}`,
        roundsLost: { ...lost, note: `committed rounds kept; ${from >= 0 ? `the round in progress was run again` : 'nothing had been committed'}` },
        checks: c.list,
        facts: { ...facts, resumedFrom: from, modelSha256: model, reference: want },
      };
    });
}

export const scenarios: Scenario[] = POINTS.map((p) => ({
  id: `coordinator-kill-${p.phase}`,
  group: 'The coordinator killed (kill -9) and restarted',
  fault: `kill -9 of the coordinator while ${p.text}; restarted with the same config`,
  expected: 'it resumes from its last committed round, the sites reconnect by themselves, the run completes with the uninterrupted run\'s model',
  quick: p.phase === 'collecting',
  run: run(p),
}));
