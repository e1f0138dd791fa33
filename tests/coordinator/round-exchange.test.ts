import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SiteDirectory } from '../../coordinator/directory.ts';
import { REVOKED_REASON, RoundExchange, type ExchangeHooks } from '../../coordinator/round-exchange.ts';
import { TransfersInFlight } from '../../coordinator/transfers.ts';
import { ProtocolError } from '../../shared/errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import { decodeFrame } from '../../shared/protocol/frame.ts';
import type { ResultMeta } from '../../shared/protocol/messages.ts';
import type { TaskSink, WireMessage } from '../../shared/transport/types.ts';

const QUORUM = { minSitesToStart: 1, startTimeoutMs: 1000, waitForAllMs: 0, roundDeadlineMs: 5000, minSitesToAccept: 1, rejoinGraceMs: 0 };
const EVAL = { n: 10, auroc: 0.7, accuracy: 0.6, balancedAccuracy: 0.6, ece: 0.1 };
const evaluation = (round: number) => ({ kind: 'evaluate', round, numExamples: 10, metrics: EVAL }) as unknown as ResultMeta;

function setup(hooks: Partial<ExchangeHooks> = {}, rejoinGraceMs = 0) {
  const directory = new SiteDirectory(['a', 'b'].map((name) => ({ name, signingPublicKey: new Uint8Array(32) })));
  const received = new Map<string, string[]>();
  const sink = (site: string): TaskSink => ({
    send: async (m: WireMessage) => void received.set(site, [...(received.get(site) ?? []), (decodeFrame(m.header).meta as { kind: string }).kind]),
    end: () => {},
  });
  const admitted: string[] = [];
  const exchange = new RoundExchange(
    { federation: 'f', directory, quorum: { ...QUORUM, rejoinGraceMs }, seal: (_s, _r, _k, payload): WireMessage => ({ header: payload, signature: new Uint8Array(), chunks: [] }), log: silentLogger },
    { isStopped: () => false, maxPayloadBytes: () => 1234, admit: (site, _c, _m, _r, release) => (admitted.push(site), release()), ...hooks },
  );
  return { directory, exchange, received, sink, admitted };
}

test('an evaluation task is sent to the online site, kept for one that comes back within the grace, and the round closes when both answered', async () => {
  const { directory, exchange, received, sink, admitted } = setup({}, 5000);
  directory.connect('a', sink('a'));
  const round = exchange.run(3, 'evaluate', ['a', 'b'], { config: {} });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(received.get('a'), ['evaluate']);
  assert.equal(received.get('b'), undefined, 'b is offline: its task waits for the rejoin grace');
  assert.deepEqual(exchange.expectation('a'), { round: 3, kind: 'eval-result', maxPayloadBytes: 1234 });
  directory.connect('b', sink('b'));
  exchange.connected('b');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(received.get('b'), ['evaluate'], 'the pending task goes out when the site connects');
  exchange.deliver('a', evaluation(3), () => {});
  exchange.deliver('b', evaluation(3), () => {});
  const c = await round;
  assert.deepEqual([...c.results.keys()].sort(), ['a', 'b']);
  assert.deepEqual(admitted, ['a', 'b']);
  assert.equal(exchange.current, undefined, 'nothing is collected between rounds');
  assert.equal(exchange.expectation('a'), undefined);
});

test('a result nobody expects, or of the wrong kind, is refused; a refused or failed site fails the round', async () => {
  const { directory, exchange, sink } = setup();
  directory.connect('a', sink('a'));
  directory.connect('b', sink('b'));
  assert.throws(() => exchange.deliver('a', evaluation(1), () => {}), (e: unknown) => e instanceof ProtocolError && e.reason === 'not-expected');
  const round = exchange.run(1, 'evaluate', ['a', 'b'], { config: {} });
  assert.throws(() => exchange.deliver('a', { ...evaluation(1), kind: 'fit' }, () => {}), /expected a evaluate result, got fit/);
  assert.throws(() => exchange.deliver('a', evaluation(0), () => {}), (e: unknown) => e instanceof ProtocolError && e.reason === 'stale-round' && /round 0, round 1 is being collected/.test(e.message));
  exchange.reject('a', 'bad signature');
  let released = false;
  // The site's own words, as one line: a hostile site's CR LF and ESC[2J forged a line of `status` and cleared its screen.
  exchange.deliver('b', { ...evaluation(1), error: 'non-finite loss\r\nc online\x1b[2J\u202e' }, () => {}, () => (released = true));
  const c = await round;
  assert.match(c.failures.get('a')!.reason, /update refused: bad signature/);
  assert.equal(c.failures.get('b')!.reason, 'site reported a failure: non-finite loss c online [2J ');
  assert.ok(released, 'a failure report is released at once');
  assert.match(directory.states().find((s) => s.name === 'b')!.lastFailure!.reason, /non-finite loss/);
});

test('the run\'s check refuses a result: the site still owes it and the round waits', async () => {
  const { directory, exchange, sink } = setup({
    admit: () => {
      throw new ProtocolError('too many rows', 'malformed');
    },
  });
  directory.connect('a', sink('a'));
  const round = exchange.run(1, 'evaluate', ['a'], { config: {} });
  assert.throws(() => exchange.deliver('a', evaluation(1), () => {}), /too many rows/);
  assert.ok(exchange.expectation('a'), 'still expected');
  exchange.abort('stop requested');
  const c = await round;
  assert.equal(c.results.size, 0);
});

test('a site refused as revoked fails the round at once with why, not after the rejoin grace', async () => {
  const { directory, exchange, sink } = setup({}, 60_000);
  directory.connect('a', sink('a'));
  directory.markRevoked('b');
  const round = exchange.run(1, 'evaluate', ['a', 'b'], { config: {} });
  await new Promise((r) => setImmediate(r));
  exchange.deliver('a', evaluation(1), () => {});
  const c = await round;
  assert.equal(c.failures.get('b')?.reason, REVOKED_REASON);
  assert.match(REVOKED_REASON, /certificate is revoked \(provision revoke-site\)/);
});

test("a task still being written to a site (a slow link) is marked for the status until written, and only for its round", async () => {
  const transfers = new TransfersInFlight();
  const directory = new SiteDirectory(['a'].map((name) => ({ name, signingPublicKey: new Uint8Array(32) })));
  let written!: () => void;
  const slow: TaskSink = { send: () => new Promise<void>((r) => (written = r)), end: () => {} };
  directory.connect('a', slow);
  const exchange = new RoundExchange(
    { federation: 'f', directory, quorum: QUORUM, transfers, seal: (_s, _r, _k, payload): WireMessage => ({ header: payload, signature: new Uint8Array(), chunks: [] }), log: silentLogger },
    { isStopped: () => false, maxPayloadBytes: () => 1234, admit: (_s, _c, _m, _r, release) => release() },
  );
  const round = exchange.run(4, 'evaluate', ['a'], { config: {} });
  await new Promise((r) => setImmediate(r));
  assert.equal(transfers.taskTo('a'), 4);
  written();
  await new Promise((r) => setImmediate(r));
  assert.equal(transfers.taskTo('a'), undefined);
  exchange.deliver('a', evaluation(4), () => {});
  await round;
});
