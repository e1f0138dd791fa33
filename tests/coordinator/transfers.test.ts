// A result arriving over a slow link is shown as arriving (bytes so far of those claimed), not as
// a site still working; the entry goes when the upload ends, whole or refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoundCollector } from '../../coordinator/collector.ts';
import { dashboardStatus } from '../../coordinator/dashboard-status.ts';
import { SiteDirectory } from '../../coordinator/directory.ts';
import { EventLog } from '../../coordinator/events.ts';
import { TransfersInFlight } from '../../coordinator/transfers.ts';
import { wireBytes, verifyHeader } from '../../shared/crypto/envelope.ts';
import type { WireMessage } from '../../shared/transport/types.ts';
import { ROUND, result, setup, siteA } from './coordinator-service-fixtures.ts';

/** `msg` whose chunks after the first wait for `go`. */
function paused(msg: WireMessage & { chunks: Uint8Array[] }): { msg: WireMessage; go: () => void } {
  let go!: () => void;
  const gate = new Promise<void>((r) => (go = r));
  async function* chunks() {
    yield msg.chunks[0]!;
    await gate;
    yield* msg.chunks.slice(1);
  }
  return { msg: { ...msg, chunks: chunks() }, go };
}

const claimOf = (msg: WireMessage) => wireBytes(verifyHeader(msg.header, msg.signature, () => siteA.signing.publicKey, { maxPayloadBytes: 1 << 20, maxChunkSize: 1 << 20 }));

test('an upload in progress: its bytes so far and its claim; gone once received', async () => {
  const uploads = new TransfersInFlight();
  const t = setup({}, { transfers: uploads });
  const whole = result({ weights: new Float32Array(600), chunkSize: 1024 });
  assert.ok(whole.chunks.length >= 3);
  const { msg, go } = paused(whole);
  const done = t.service.submit(msg);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(uploads.of('a'), { round: ROUND, receivedBytes: whole.chunks[0]!.length, totalBytes: claimOf(whole) });
  assert.ok(t.directory.states().find((x) => x.name === 'a')!.lastSeen !== null, "heard from as its chunks come (its last seen stood still through an upload)");
  go();
  await done;
  assert.equal(uploads.of('a'), undefined);
  assert.equal(t.delivered.length, 1);
});

test('a refused upload leaves nothing behind, and the end of an older upload does not remove a newer one', async () => {
  const uploads = new TransfersInFlight();
  const t = setup({ expectation: () => ({ round: ROUND, kind: 'fit-result', maxPayloadBytes: 100 }) }, { transfers: uploads });
  await assert.rejects(t.service.submit(result({ weights: new Float32Array(600) })));
  assert.equal(uploads.of('a'), undefined);
  const older = uploads.begin('b', 1, 10);
  const newer = uploads.begin('b', 2, 20);
  older.end();
  newer.add(5);
  assert.deepEqual(uploads.of('b'), { round: 2, receivedBytes: 5, totalBytes: 20 });
  newer.end();
  assert.equal(uploads.of('b'), undefined);
});

test('the status shows an awaited site whose result is arriving, and only for the round under way', (t) => {
  const dir = new SiteDirectory(['a', 'b', 'c'].map((name) => ({ name, signingPublicKey: new Uint8Array(32) })));
  const c = new RoundCollector(3, 'fit', ['a', 'b'], 60_000);
  t.after(() => c.abort('test over'));
  const uploads = new TransfersInFlight();
  uploads.begin('a', 3, 2_000_000).add(500_000);
  uploads.begin('b', 2, 2_000_000).add(100);
  uploads.begin('c', 3, 2_000_000).add(100);
  const sentB = uploads.sendingTask('b', 3);
  uploads.sendingTask('c', 3);
  const s = dashboardStatus({ current: c, transfers: uploads, history: [], directory: dir, events: new EventLog() });
  assert.deepEqual(s.current?.uploading, [{ site: 'a', receivedBytes: 500_000, totalBytes: 2_000_000 }], "b's is an old round's, c is not asked");
  assert.deepEqual(s.current?.receivingTask, ['b'], "its task still being written to b; c is not asked");
  sentB();
  assert.equal(dashboardStatus({ current: c, transfers: uploads, history: [], directory: dir, events: new EventLog() }).current?.receivingTask, undefined);
  assert.equal(dashboardStatus({ current: c, history: [], directory: dir, events: new EventLog() }).current?.uploading, undefined);
});

test("a round's deadline failure says a site's result was still arriving, or its task still being sent, and how much", async (t) => {
  const transfers = new TransfersInFlight();
  transfers.begin('a', 3, 1_900_000).add(1_000_000);
  transfers.sendingTask('b', 3);
  transfers.begin('c', 2, 100).add(10);
  assert.equal(transfers.deadlineNote('a', 3), 'its result was still arriving (1.0 MB of 1.9 MB in): a slow link? quorum.roundDeadlineSeconds sets how long a round waits');
  assert.equal(transfers.deadlineNote('b', 3), 'its task was still being sent to it: a slow link? quorum.roundDeadlineSeconds sets how long a round waits');
  assert.equal(transfers.deadlineNote('c', 3), undefined, "another round's upload");
  // Through the collector: said where the round gives up on the site.
  const c = new RoundCollector(3, 'fit', ['a', 'd'], 10, undefined, (site) => transfers.deadlineNote(site, 3));
  t.after(() => c.abort('test over'));
  const keep = setTimeout(() => {}, 5000); // the collector's deadline timer does not hold the process
  await c.finished;
  clearTimeout(keep);
  assert.equal(c.failures.get('a')!.reason, 'no answer within the 0.01s round deadline: its result was still arriving (1.0 MB of 1.9 MB in): a slow link? quorum.roundDeadlineSeconds sets how long a round waits');
  assert.equal(c.failures.get('d')!.reason, 'no answer within the 0.01s round deadline');
});
