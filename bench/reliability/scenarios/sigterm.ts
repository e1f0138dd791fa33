// SIGTERM, as systemd or an operator sends it, to the coordinator and to a site in each
// phase: the process should end within 10 s, and with exit 0, since the stop was asked
// for. How the rest of the federation then ends is recorded, not judged here.
import { describeRun, exitText, roundsLost, settle } from '../facts.ts';
import { faultRun, inFederation, PHASE_TEXT, PHASES, reachPhase, VICTIM, type Phase } from '../phases.ts';
import { Checks, type Observed, type Scenario } from '../scenario.ts';

const LIMIT_MS = 10_000;
type Target = 'coordinator' | 'site';

const COORDINATOR_PHASE: Record<Phase, string> = {
  waiting: 'it waits for sites (one joined)',
  statistics: `its statistics round waits on ${VICTIM}`,
  collecting: `round 2 waits on ${VICTIM}'s update`,
  aggregating: "it logs 'aggregating' for round 2 (the phase lasts milliseconds: the signal lands in it or just after)",
  evaluating: `its final evaluation waits on ${VICTIM}`,
};

function run(phase: Phase, target: Target) {
  return () =>
    inFederation(faultRun(), async (fed): Promise<Observed> => {
      const at = await reachPhase(fed, phase, VICTIM, { coordinatorPhase: target === 'coordinator' });
      const victim = target === 'coordinator' ? at.coordinator : at.sites.get(VICTIM)!;
      const t0 = Date.now();
      victim.kill('SIGTERM');
      // A frozen site takes the signal once thawed. Sites not yet started stay so when the coordinator is stopping.
      if (!(target === 'coordinator' && phase === 'waiting')) at.release();
      const facts = await settle(fed, at.coordinator, [...at.sites.values()], 90_000, t0);
      const ended = target === 'coordinator' ? facts.coordinator : facts.sites.find((s) => s.name === victim.name)!;
      const c = new Checks();
      c.expect(`the ${target} exits within ${LIMIT_MS / 1000} s`, ended.ms !== null && ended.ms <= LIMIT_MS, exitText(ended));
      c.equal(`the ${target} exits 0 (a requested stop)`, ended.code, 0, ended.code === null ? String(ended.signal) : `exit ${ended.code}`);
      return { outcome: describeRun(facts), roundsLost: roundsLost(facts), checks: c.list, facts: { ...facts } };
    });
}

export const scenarios: Scenario[] = (['coordinator', 'site'] as const).flatMap((target) =>
  PHASES.map((phase) => ({
    id: `sigterm-${target}-${phase}`,
    group: 'SIGTERM',
    fault: target === 'coordinator' ? `SIGTERM to the coordinator while ${COORDINATOR_PHASE[phase]}` : `SIGTERM to ${VICTIM} while ${PHASE_TEXT[phase]}`,
    expected: `the ${target} exits 0 within ${LIMIT_MS / 1000} s`,
    quick: phase === 'collecting',
    run: run(phase, target),
  })),
);
