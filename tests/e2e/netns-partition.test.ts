// Coordinator and sites as separate hosts (a network namespace each, on one bridged LAN):
// after a round with every site, two sites are cut off by a network partition (packets
// dropped both ways, links up, so nobody gets a reset). The coordinator notices through
// its keepalive, fails them for the round, and goes on with the other two (default
// quorum, 2 of 4). One partition heals: that site reconnects and trains again. The other
// does not: its site gives up after its reconnect window and exits 1, so a supervisor
// would restart it. Skipped, saying why, where namespaces cannot be made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withFederation, type LogLine, type RoleProcess } from './helpers/federation.ts';
import { NetnsLab, netnsUnavailable } from './helpers/netns.ts';

const SITES = ['cleveland', 'hungary', 'va', 'switzerland'];
/** Partitioned, then healed within its reconnect window. */
const HEALED = 'hungary';
/** Partitioned for good, with a short reconnect window. */
const LOST = 'switzerland';
const LOST_WINDOW_S = 5;

const committed = (l: LogLine) => l.message === 'round committed';

test('a network partition between hosts: the round goes on without the cut-off sites; a healed one rejoins, a lost one exits 1', { timeout: 240_000 }, async (t) => {
  const why = netnsUnavailable();
  if (why) {
    t.skip(`network namespaces unavailable: ${why}`);
    return;
  }
  let lab: NetnsLab;
  try {
    lab = new NetnsLab(['coordinator', ...SITES]);
  } catch (e) {
    // e.g. no veth or bridge support in this kernel: the hosts cannot be made.
    t.skip(`network namespaces unavailable: ${(e as Error).message}`);
    return;
  }
  try {
    await withFederation(
      {
        sites: SITES,
        // More rounds than the test needs: it stops the coordinator (SIGTERM) once it has seen enough.
        rounds: 10_000,
        host: lab.address('coordinator'),
        siteConnectTimeoutSeconds: 90,
        quorum: { roundDeadlineSeconds: 120 },
        hardTimeoutMs: 230_000,
      },
      async (fed) => {
        fed.editYaml(fed.siteYaml(LOST), (c) => ({ ...c, connectTimeoutSeconds: LOST_WINDOW_S }));
        const coordinator = await fed.startCoordinator(30_000, { prefix: lab.prefix('coordinator') });
        const sites = Object.fromEntries(SITES.map((s) => [s, fed.startSite(s, { prefix: lab.prefix(s) })])) as Record<string, RoleProcess>;
        await coordinator.waitForLog((l) => committed(l) && l.participants === 4, 90_000, 'a round with all four sites');

        const cutAt = coordinator.logs.filter(committed).length;
        lab.partition('coordinator', HEALED);
        lab.partition('coordinator', LOST);
        // Keepalive: a 10 s ping unanswered for 5 s ends the stream on each side.
        for (const s of [HEALED, LOST])
          await coordinator.waitForLog((l) => l.message === 'site disconnected' && l.site === s, 60_000, `${s} disconnected`);
        const without = await coordinator.waitForLog(
          (l) => committed(l) && Number(l.round) > cutAt && l.participants === 2,
          60_000,
          'a round committed with the two sites left',
        );
        assert.ok(!coordinator.logs.some((l) => l.message === 'round not accepted'), 'every round met the quorum of 2');

        // The lost site tries to reconnect for its window, then exits 1.
        await sites[LOST]!.waitForLog((l) => l.message === 'connection to the coordinator lost, reconnecting', 60_000, 'the reconnect attempt');
        assert.equal(await sites[LOST]!.exitCode(60_000), 1, `${LOST} exits 1 once its ${LOST_WINDOW_S} s window is over`);

        // The healed one comes back by itself and trains in a later round.
        lab.heal('coordinator', HEALED);
        const joins = () => coordinator.logs.filter((l) => l.message === 'site joined' && l.site === HEALED).length;
        await coordinator.waitForLog((l) => l.message === 'site joined' && l.site === HEALED && joins() >= 2, 60_000, `${HEALED} joined again`);
        const back = await coordinator.waitForLog(
          (l) => committed(l) && Number(l.round) > Number(without.round) && l.participants === 3,
          90_000,
          `a round with ${HEALED} back`,
        );
        assert.ok(sites[HEALED]!.alive, `${HEALED} kept running through the partition`);
        assert.ok(Number(back.round) > cutAt);

        // A requested stop of the coordinator is a pause: the sites wait for it to come back,
        // and stop cleanly when asked themselves.
        coordinator.kill('SIGTERM');
        assert.equal(await coordinator.exitCode(15_000), 0, 'a requested stop');
        for (const s of SITES.filter((x) => x !== LOST)) {
          await sites[s]!.waitForLog((l) => l.message === 'connection to the coordinator lost, reconnecting' && l.timestamp! > back.timestamp!, 30_000, `${s} waiting for the coordinator`);
          sites[s]!.kill('SIGTERM');
          assert.equal(await sites[s]!.exitCode(15_000), 0, `${s} stops on request`);
        }
      },
    );
  } finally {
    lab.destroy();
  }
});
