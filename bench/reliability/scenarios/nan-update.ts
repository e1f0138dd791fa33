// A correctly signed update holding a NaN in a late chunk (bench/reliability/nan-site.ts
// plays va): the coordinator should refuse it at once, fail va for that round only, and
// finish the run with the others (default quorum, 2 of 3).
import { join } from 'node:path';
import type { LogLine } from '../../../tests/e2e/helpers/federation.ts';
import { describeRun, roundsLost, settle } from '../facts.ts';
import { faultRun, inFederation } from '../phases.ts';
import { Checks, type Observed, type Scenario } from '../scenario.ts';

const NAN_SITE = join(import.meta.dirname, '..', 'nan-site.ts');
const POISONED = 'va';
const ROUND = 2;
const DEADLINE_S = 30;

const at = (logs: LogLine[], pred: (l: LogLine) => boolean) => {
  const l = logs.find(pred);
  return l ? Date.parse(String(l.timestamp)) : NaN;
};

async function run(): Promise<Observed> {
  return inFederation(faultRun({ roundDeadlineSeconds: DEADLINE_S }), async (fed) => {
    const coordinator = await fed.startCoordinator();
    const t0 = Date.now();
    const sites = fed.opts.sites.map((s) =>
      s !== POISONED
        ? fed.startSite(s)
        : fed.spawnNode(`site ${s} (poisoning)`, ['--import', 'tsx', NAN_SITE, '--config', fed.siteYaml(s), '--coordinator-identity', join(fed.kits.coordinatorKit, 'identity.json'), '--round', String(ROUND)]),
    );
    const facts = await settle(fed, coordinator, sites, 120_000, t0);
    const poisoner = sites.find((p) => p.name.startsWith(`site ${POISONED}`))!;
    const poisoned = poisoner.logs.some((l) => l.message.startsWith('poisoned update'));
    const h = facts.results?.history ?? [];
    const r = h.find((x) => x.round === ROUND);
    const failure = r?.failed.find((f) => f.site === POISONED)?.reason ?? '';
    const roundMs =
      at(coordinator.logs, (l) => l.message === 'round committed' && l.round === ROUND) -
      at(coordinator.logs, (l) => l.message === 'federation state' && l.state === 'training' && l.round === ROUND);
    const c = new Checks()
      .expect('the poisoned update was sent', poisoned, poisoned ? `round ${ROUND}` : 'never sent')
      .expect(`${POISONED} failed round ${ROUND}: update refused, non-finite`, /^update refused: .*non-finite/.test(failure), failure || 'no failure recorded')
      .expect(`round ${ROUND} accepted with the other two`, r?.accepted === true && r.participants === 2, r ? `accepted ${r.accepted}, ${r.participants} participants` : 'no such round')
      .expect(`refused at once, not at the ${DEADLINE_S} s deadline`, roundMs < (DEADLINE_S / 2) * 1000, `round ${ROUND} took ${(roundMs / 1000).toFixed(1)} s`)
      .expect(`${POISONED} back in round ${ROUND + 1}`, h.find((x) => x.round === ROUND + 1)?.participants === 3, `${h.find((x) => x.round === ROUND + 1)?.participants ?? '-'} participants`)
      .equal('coordinator exit 0, run complete', facts.coordinator.code === 0 && facts.results?.complete === true, true, `exit ${facts.coordinator.code}, complete ${facts.results?.complete}`);
    return { outcome: describeRun(facts), roundsLost: roundsLost(facts), checks: c.list, facts: { ...facts, roundMs } };
  });
}

export const scenarios: Scenario[] = [
  {
    id: 'nan-update',
    group: 'Hostile input',
    fault: `a signed update from ${POISONED} with a NaN in a late chunk (1 KiB chunks), round ${ROUND}`,
    expected: 'refused at once; the round goes on without the site; it is back next round; the run completes',
    quick: true,
    run,
  },
];
