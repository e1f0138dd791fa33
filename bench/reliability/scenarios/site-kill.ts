// kill -9 of one site in each phase of the coordinator's round machine, once with the
// default quorum (2 of 3 to accept: the run should complete without it) and once with a
// quorum of 3 of 3 (which the loss makes impossible: the run should fail and say why).
import { describeRun, reasonText, roundsLost, settle } from '../facts.ts';
import { faultRun, inFederation, PHASE_TEXT, PHASES, reachPhase, SITES, VICTIM, type Phase } from '../phases.ts';
import { Checks, type Observed, type Scenario } from '../scenario.ts';

type Quorum = 'default' | 'unmeetable';

const EXPECTED: Record<Quorum, string> = {
  default: 'the run completes: coordinator exit 0, results complete, the other sites exit 0',
  unmeetable: 'the run fails: coordinator exit 1 naming the reason; the other sites exit non-zero (the federation failed)',
};

function run(phase: Phase, quorum: Quorum) {
  return () =>
    inFederation(faultRun(quorum === 'unmeetable' ? { minSitesToAccept: SITES.length } : {}), async (fed): Promise<Observed> => {
      const at = await reachPhase(fed, phase, VICTIM);
      const t0 = Date.now();
      at.sites.get(VICTIM)!.kill('SIGKILL');
      at.release();
      const facts = await settle(fed, at.coordinator, [...at.sites.values()], 120_000, t0);
      const others = facts.sites.filter((s) => s.name !== `site ${VICTIM}`);
      const c = new Checks();
      if (quorum === 'default') {
        c.equal('coordinator exit 0', facts.coordinator.code, 0);
        c.expect('results complete', facts.results?.complete === true, facts.results ? `complete: ${facts.results.complete}` : 'no results file');
        c.expect('the other sites exit 0', others.every((s) => s.code === 0), others.map((s) => `${s.name} ${s.code ?? s.signal}`).join(', '));
      } else {
        const reason = reasonText(facts.coordinator.reason);
        c.equal('coordinator exit 1', facts.coordinator.code, 1);
        c.expect('the reason is named (the quorum shortfall)', /needed|required|missing|not accepted/.test(reason), reason || 'no reason printed');
        c.expect('the other sites exit non-zero', others.every((s) => s.code !== 0 && s.code !== null), others.map((s) => `${s.name} ${s.code ?? s.signal}`).join(', '));
      }
      return { outcome: describeRun(facts), roundsLost: roundsLost(facts), checks: c.list, facts: { ...facts } };
    });
}

export const scenarios: Scenario[] = PHASES.flatMap((phase) =>
  (['default', 'unmeetable'] as const).map((quorum) => ({
    id: `site-kill-${phase}-${quorum}-quorum`,
    group: 'A site killed (kill -9)',
    fault: `kill -9 of ${VICTIM} while ${PHASE_TEXT[phase]}; ${quorum === 'default' ? 'default quorum (2 of 3 to accept)' : 'quorum 3 of 3 to accept'}`,
    expected: EXPECTED[quorum],
    quick: phase === 'collecting',
    run: run(phase, quorum),
  })),
);
