// The coordinator's process as an operator meets it: its HTTP port already taken at
// start-up, and its death (kill -9) with sites still running, who should try to reconnect
// for their window and then exit non-zero so a supervisor restarts them.
import { createServer } from 'node:net';
import { BIN } from '../../../tests/e2e/helpers/federation.ts';
import { describeRun, exitOf, exitText, reasonText, roundsLost, settle } from '../facts.ts';
import { faultRun, inFederation, reachPhase, ROUNDS, SITES, VICTIM } from '../phases.ts';
import { Checks, type Observed, type Scenario } from '../scenario.ts';

/** Site reconnect window in the fault runs (site.yaml connectTimeoutSeconds). */
const WINDOW_S = 15;

async function portInUse(): Promise<Observed> {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  try {
    return await inFederation(faultRun(), async (fed) => {
      fed.editYaml(fed.coordinatorYaml, (c) => ({ ...c, listen: { host: '127.0.0.1', grpcPort: 0, httpPort: port } }));
      const t0 = Date.now();
      const coordinator = fed.spawnNode('coordinator', [BIN, 'coordinator', 'start', '--config', fed.coordinatorYaml]);
      const e = await exitOf(coordinator, 30_000, t0);
      const reason = reasonText(e.reason);
      const servedGrpc = coordinator.logs.some((l) => l.message === 'gRPC listening');
      const c = new Checks()
        .equal('exit 1', e.code, 1, exitText(e))
        .expect('the reason names the port', reason.includes(`127.0.0.1:${port}`) && reason.includes('EADDRINUSE'), reason || 'no reason printed')
        .expect('nothing left serving (the process is gone)', !coordinator.alive, coordinator.alive ? 'still running' : 'exited');
      return {
        outcome: `coordinator ${exitText(e)}: "${reason}"${servedGrpc ? ' (its gRPC port had been bound, then closed)' : ''}`,
        roundsLost: { lost: ROUNDS, of: ROUNDS, note: 'nothing started' },
        checks: c.list,
        facts: { coordinator: e, port },
      };
    });
  } finally {
    blocker.close();
  }
}

async function coordinatorLost(): Promise<Observed> {
  return inFederation(faultRun(), async (fed) => {
    const at = await reachPhase(fed, 'collecting', VICTIM, { coordinatorPhase: true });
    const t0 = Date.now();
    at.coordinator.kill('SIGKILL');
    at.release();
    const facts = await settle(fed, at.coordinator, [...at.sites.values()], (WINDOW_S + 60) * 1000, t0);
    const sites = [...at.sites.values()];
    const reconnecting = sites.filter((p) => p.logs.some((l) => l.message === 'connection to the coordinator lost, reconnecting'));
    const c = new Checks()
      .expect('every site tries to reconnect', reconnecting.length === SITES.length, `${reconnecting.length} of ${SITES.length} logged a reconnect`)
      .expect('every site exits 1', facts.sites.every((s) => s.code === 1), facts.sites.map((s) => `${s.name} ${exitText(s)}`).join(', '))
      .expect(
        `within the ${WINDOW_S} s window and a margin (${WINDOW_S + 30} s)`,
        facts.sites.every((s) => s.ms !== null && s.ms <= (WINDOW_S + 30) * 1000),
        facts.sites.map((s) => `${s.name} ${s.ms === null ? '-' : (s.ms / 1000).toFixed(1)} s`).join(', '),
      );
    return {
      outcome: `${describeRun(facts)}; sites went ${facts.sites.map((s) => `${s.name.replace(/^site /, '')} ${exitText(s)}`).join(', ')} after the kill`,
      roundsLost: roundsLost(facts),
      checks: c.list,
      facts: { ...facts },
    };
  });
}

export const scenarios: Scenario[] = [
  {
    id: 'port-in-use',
    group: 'Process hygiene',
    fault: "the coordinator's HTTP port is taken by another process at start-up",
    expected: 'exit 1 at start-up naming the port; nothing left half-started',
    quick: true,
    run: portInUse,
  },
  {
    id: 'coordinator-kill-sites-left',
    group: 'Process hygiene',
    fault: `kill -9 of the coordinator during round 2, sites left running (reconnect window ${WINDOW_S} s)`,
    expected: 'each site tries to reconnect for its window, then exits 1 (so Restart=on-failure restarts it)',
    quick: true,
    run: coordinatorLost,
  },
];
