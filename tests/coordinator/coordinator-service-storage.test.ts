// The coordinator's own disk failing while it takes a site's message (the spool, the replay
// ids in the state, the held update read back) is not the site's doing: nothing is counted or
// recorded against the site, its round is not failed, and the coordinator hears of it once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { CoordinatorService, type RoundGate } from '../../coordinator/coordinator-service.ts';
import { SiteDirectory } from '../../coordinator/directory.ts';
import { MemorySpool } from '../../coordinator/spool.ts';
import { ReplayGuard } from '../../shared/crypto/replay-guard.ts';
import { StorageError } from '../../shared/errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import { coordinator, FEDERATION, LIMITS, refused, result, ROUND, siteA, siteB, WINDOW_MS } from './coordinator-service-fixtures.ts';

const fault = () => new StorageError('cannot write /state/spool/a-1 (ENOSPC: no space left on device, write): free space');

function setup(failing: 'spool' | 'replay' | 'deliver' | 'descriptors') {
  const directory = new SiteDirectory([
    { name: 'a', signingPublicKey: siteA.signing.publicKey },
    { name: 'b', signingPublicKey: siteB.signing.publicKey },
  ]);
  const gateRejected: string[] = [];
  const counted: string[] = [];
  const faults: StorageError[] = [];
  const gate: RoundGate = {
    federation: FEDERATION,
    state: 'training',
    expectation: (site) => (site === 'a' ? { round: ROUND, kind: 'fit-result' } : undefined),
    deliver() {
      if (failing === 'deliver') throw fault();
    },
    reject: (site, reason) => void gateRejected.push(`${site}: ${reason}`),
    connected: () => {},
    disconnected: () => {},
  };
  const spool =
    failing === 'spool'
      ? () => Object.assign(new MemorySpool(), { append: () => { throw fault(); } })
      : failing === 'descriptors'
        ? () => { throw Object.assign(new Error("EMFILE: too many open files, open '/state/spool/a-1'"), { code: 'EMFILE' }); }
        : () => new MemorySpool();
  const replay = new ReplayGuard({ maxAgeMs: WINDOW_MS, ...(failing === 'replay' ? { onAccept: () => { throw fault(); } } : {}) });
  const service = new CoordinatorService({
    directory, gate, replay, boxSecretKey: coordinator.box.secretKey, limits: LIMITS, spool, log: silentLogger,
    onReject: (reason, site) => void counted.push(`${reason} ${site ?? 'unverified'}`),
    onStorageFault: (e) => void faults.push(e),
  });
  return { service, directory, gateRejected, counted, faults };
}

for (const failing of ['spool', 'replay', 'deliver'] as const)
  test(`a storage fault of the coordinator (${failing}) refuses the result as unavailable (the site retries), blames no site and is heard once`, async () => {
    const t = setup(failing);
    await refused(t.service.submit(result()), 'unavailable', grpc.status.UNAVAILABLE, /^the coordinator cannot take messages now: its own storage failed; it stops at its last committed round and resumes when its operator has restarted it$/);
    // The coordinator host's paths stay in its operator's log.
    await assert.rejects(setup(failing).service.submit(result()), (e: Error) => !e.message.includes('/state/'));
    assert.equal(t.faults.length, 1);
    assert.match(t.faults[0]!.message, /ENOSPC/);
    assert.deepEqual(t.gateRejected, [], "the site's round is not failed");
    assert.deepEqual(t.counted, [], 'no refusal counted against the site');
    assert.equal(t.directory.states().find((s) => s.name === 'a')!.lastError, undefined, 'no error recorded for the site');
  });

test('the coordinator out of file descriptors refuses that message as busy, blames no site, and does not stop', async () => {
  const t = setup('descriptors');
  await refused(t.service.submit(result()), 'busy', grpc.status.RESOURCE_EXHAUSTED, /the coordinator cannot take this message now: EMFILE: too many open files/);
  assert.deepEqual(t.faults, [], 'not a storage fault: nothing stops');
  assert.deepEqual(t.gateRejected, []);
  assert.deepEqual(t.counted, []);
});
