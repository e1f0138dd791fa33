import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { startHttpServer } from '../../coordinator/http/server.ts';
import { CoordinatorMetrics, metricsSourceFromStatus } from '../../coordinator/metrics/coordinator-metrics.ts';
import type { FederationStatus } from '../../shared/federation/status.ts';
import { describeRun, runCli } from '../e2e/helpers/cli.ts';
import { renderStatus } from '../../cli/status-render.ts';

const status = (): FederationStatus => ({
  federation: 'heart', round: 3, rounds: 5, state: 'training', strategy: 'fedavg', model: 'debiased',
  sites: [{ name: 'cleveland', online: true, lastSeen: '2026-01-01T00:00:00.000Z', roundsCompleted: 2 }],
  history: [{ round: 2, participants: 1, failures: 0, metrics: { eval_auroc: 0.8 }, durationMs: 10 }],
});

test('status sends the kit token: without it a clear error (exit 2), with it the table (exit 0)', async (t) => {
  const token = 'status-test-token-0123456789abcdef';
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, status, metrics: new CoordinatorMetrics(metricsSourceFromStatus(status), []), token });
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-status-'));
  t.after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${server.port}`;
  const none = await runCli(['status', '--coordinator', url]);
  assert.equal(none.code, 2, describeRun(none));
  assert.match(none.messages.join('\n'), /the coordinator wants its token \(--token-file/);
  const file = join(dir, 'http-token');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  const ok = await runCli(['status', '--coordinator', url, '--token-file', file]);
  assert.equal(ok.code, 0, describeRun(ok));
  assert.match(ok.stdout, /^federation heart: training, round 3\/5 \| last round 2: 1 sites, AUROC at its start 0\.800/);
  assert.match(ok.stdout, /cleveland/);
});

test('the status text: the round under collection as a bar with a countdown, the final evaluation named, a missing AUROC as n/a', () => {
  const now = Date.parse('2026-01-01T00:00:00.000Z');
  const s: FederationStatus = {
    ...status(),
    history: [{ round: 3, participants: 1, failures: 1, metrics: { eval_auroc: null as unknown as number }, durationMs: 10 }],
    current: { round: 4, kind: 'fit', expected: ['a', 'b', 'c', 'd'], reported: ['a'], failed: [{ site: 'b', reason: 'deadline' }], deadline: '2026-01-01T00:01:30.000Z' },
  };
  const text = renderStatus(s, now);
  assert.match(text, /AUROC at its start n\/a/);
  assert.match(text, /^training round 4\/5 \[#{12}-{12}\] 1\/4 reported, 1 failed \(b: deadline\) · waiting for c, d · deadline in 1 min 30 s$/m);
  // A reason with a site's words, from a coordinator that passed them on as sent: one line on the terminal.
  const forged = renderStatus({ ...s, current: { ...s.current!, failed: [{ site: 'b', reason: 'x\r\nALL HEALTHY\x1b[2J' }] } }, now);
  assert.match(forged, /1 failed \(b: x ALL HEALTHY \[2J\) · waiting/);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(forged, /\x1b|\r/);
  // A slow link's upload: the site's result is on its way, not still being trained.
  const arriving = renderStatus({ ...s, current: { ...s.current!, uploading: [{ site: 'd', receivedBytes: 1_200_000, totalBytes: 2_600_000 }] } }, now);
  assert.match(arriving, / · waiting for c; d: its result arriving \(1\.2 MB of 2\.6 MB\) · deadline/);
  const onItsWay = renderStatus({ ...s, current: { ...s.current!, receivingTask: ['c'] } }, now);
  assert.match(onItsWay, / · waiting for d; c: its task on its way · deadline/);
  assert.match(renderStatus({ ...s, round: 6, state: 'evaluating', current: undefined }, now), /^federation heart: evaluating, final evaluation \(5 rounds\)/);
  assert.doesNotMatch(renderStatus({ ...s, state: 'finished' }, now), /reported/, 'no round under collection once the run is over');
  assert.match(renderStatus({ ...s, round: 6, state: 'finished', current: undefined }, now), /^federation heart: finished, round 5\/5 \|/);
  // The final model's figures once they are in (the rounds' AUROC is that of the model each started from).
  const final = { trainingRounds: 5, auroc: 0.8625, sites: { a: { n: 91, auroc: 0.862, accuracy: 0.8, balancedAccuracy: 0.8, ece: 0.1 } }, testSites: { t: { auroc: NaN, accuracy: 1, balancedAccuracy: NaN, ece: 0 } } };
  assert.match(
    renderStatus({ ...s, round: 6, state: 'finished', current: undefined, final }, now),
    /^final evaluation, the model after 5 rounds: AUROC 0\.863 \(the training sites' AUROCs weighted by their held-out rows\); per site: a 0\.862, t n\/a \(its held-out rows hold one class\)$/m,
  );
  // A site that sent none is named as left out; a secure run's per-site figures keep their reported decimals.
  assert.match(
    renderStatus({ ...s, round: 6, state: 'finished', current: undefined, final: { ...final, testSites: {}, missing: ['va'], siteDecimals: 2 } }, now),
    /^final evaluation, the model after 5 rounds: AUROC 0\.863 \(the training sites' AUROCs weighted by their held-out rows; va sent no final evaluation and is not in it\); per site \(as each site reported it, to 2 decimals\): a 0\.86$/m,
  );
  assert.doesNotMatch(text, /final evaluation, the model/, 'nothing before the final evaluation is in');
  // A site left out of training says so in its row, with why.
  const left = renderStatus({ ...s, sites: [{ name: 'va', online: true, lastSeen: null, roundsCompleted: 0, leftOut: 'its statistics were not counted (offline)' }] }, now);
  assert.match(left, /^va +online, left out of training .* left out of training: its statistics were not counted \(offline\)$/m);
  // A refusal says when it happened, so an old one is not read as the site's state now.
  const refused = renderStatus({ ...s, sites: [{ name: 'va', online: true, lastSeen: null, roundsCompleted: 0, lastError: 'bad signature', lastErrorAt: '2026-11-27T10:00:00.000Z' }] }, now);
  assert.match(refused, /^va +online .* 2026-11-27T10:00:00\.000Z: bad signature$/m);
});

test('--coordinator takes host:port without a scheme; a non-HTTP address is refused naming the flag', async () => {
  const bare = await runCli(['status', '--coordinator', '127.0.0.1:9']);
  assert.equal(bare.code, 1, describeRun(bare));
  assert.match(bare.messages.join('\n'), /cannot reach the coordinator at http:\/\/127\.0\.0\.1:9/);
  const ftp = await runCli(['status', '--coordinator', 'ftp://host']);
  assert.equal(ftp.code, 2, describeRun(ftp));
  assert.match(ftp.messages.join('\n'), /--coordinator: must be the coordinator's HTTP address/);
});

test('status pointed at a port that closes without an HTTP answer (the gRPC port) asks whether it is the HTTP port', async (t) => {
  // A TLS server answers plain HTTP with an alert and closes: what the gRPC port does.
  const server = createServer((socket) => socket.end(Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28])));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const r = await runCli(['status', '--coordinator', `127.0.0.1:${port}`]);
  assert.equal(r.code, 1, describeRun(r));
  assert.match(r.messages.join('\n'), /cannot reach the coordinator at http:\/\/127\.0\.0\.1:\d+: \w+: it gave no HTTP answer; is that the coordinator's HTTP port \(coordinator\.yaml listen\.httpPort/);
});

test('watch: a coordinator gone after its last training round is said to have most likely ended its run, with how to see the end', { timeout: 60_000 }, async (t) => {
  const token = 'status-test-token-0123456789abcdef';
  let server: Awaited<ReturnType<typeof startHttpServer>> | undefined;
  const last = (): FederationStatus => ({ ...status(), round: 6, rounds: 5, state: 'evaluating' });
  // Answers once, then goes (as a coordinator that exits at the end of its run).
  const once = () => (setImmediate(() => void server?.close()), last());
  server = await startHttpServer({ host: '127.0.0.1', port: 0, status: once, metrics: new CoordinatorMetrics(metricsSourceFromStatus(last), []), token });
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-watch-'));
  t.after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'http-token');
  writeFileSync(file, token, { mode: 0o600 });
  const gone = await runCli(['watch', '--coordinator', `http://127.0.0.1:${server.port}`, '--token-file', file]);
  assert.equal(gone.code, 1, describeRun(gone));
  assert.match(gone.stdout, /final evaluation \(5 rounds\)/);
  assert.match(gone.messages.join('\n'), /it was last seen at final evaluation \(5 rounds\), evaluating\): a coordinator exits when its run ends, so the run may have finished; its log and the run's results\.json say how it ended \(coordinator\.yaml listen\.httpLingerSeconds/);
});

test('a finished run that ended incomplete says so, with where its results are', () => {
  const s: FederationStatus = {
    ...status(),
    round: 6,
    state: 'finished',
    outcome: 'incomplete',
    results: '/var/lib/fedcausal/runs/run-1/results.json',
    stateChange: { from: 'evaluating', to: 'finished', round: 6, reason: 'federation ended incomplete: round 4 not accepted', at: '2026-01-01T00:00:00.000Z' },
  };
  const text = renderStatus(s);
  assert.match(text, /^federation heart: finished incomplete \(federation ended incomplete: round 4 not accepted\), round 5\/5/);
  assert.match(text, /\nresults: \/var\/lib\/fedcausal\/runs\/run-1\/results\.json \(on the coordinator's host\)\n$/);
  assert.match(renderStatus({ ...s, outcome: 'complete' }), /^federation heart: finished \(/, 'a complete run reads as before');
});

test('watch: a coordinator stopped on request is watched until it is back; a run that ends incomplete exits 1', { timeout: 60_000 }, async (t) => {
  const token = 'status-test-token-0123456789abcdef';
  // Stopped, then not answering for longer than watch's three misses, then back and ended incomplete.
  let polls = 0;
  const answer = (): FederationStatus => {
    polls++;
    if (polls === 1) return { ...status(), state: 'stopped' };
    if (polls <= 5) throw new Error('restarting');
    return { ...status(), round: 6, state: 'finished', outcome: 'incomplete' };
  };
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, status: answer, metrics: new CoordinatorMetrics(metricsSourceFromStatus(status), []), token });
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-watch-'));
  t.after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'http-token');
  writeFileSync(file, token, { mode: 0o600 });
  const run = await runCli(['watch', '--coordinator', `http://127.0.0.1:${server.port}`, '--token-file', file], 50_000);
  assert.equal(run.code, 1, describeRun(run));
  assert.match(run.stdout, /the coordinator stopped \(on request\); its restart resumes the run, watching for it/);
  assert.match(run.stdout, /federation heart: finished incomplete, round 5\/5/);
});

test('waiting for sites says for whom', () => {
  const reason = 'round 4 needs 2 training sites online (quorum.minSitesToAccept), 1 are: waiting for va';
  const text = renderStatus({ ...status(), round: 4, state: 'waiting-for-sites', stateChange: { from: 'committed', to: 'waiting-for-sites', round: 4, reason, at: '2026-01-01T00:00:00.000Z' } });
  assert.match(text, /^federation heart: waiting-for-sites \(round 4 needs 2 training sites online \(quorum\.minSitesToAccept\), 1 are: waiting for va\), round 4\/5/);
});

test("a refused round says so in the head line, and a site's last round failure shows in its row with any later refusal", () => {
  const s: FederationStatus = {
    ...status(),
    history: [{ round: 3, participants: 1, failures: 2, accepted: false, reason: '1 of 2 sites answered (quorum.minSitesToAccept 2)', metrics: { eval_auroc: 0.8 }, durationMs: 10 }],
    sites: [
      { name: 'va', online: false, lastSeen: null, roundsCompleted: 2 },
      { name: 'hungary', online: true, lastSeen: null, roundsCompleted: 2, lastError: 'bad signature', lastErrorAt: '2026-11-27T10:00:00.000Z' },
      { name: 'swiss', online: true, lastSeen: null, roundsCompleted: 2, lastError: 'bad signature' },
    ],
    siteDetails: { va: { lastFailure: { round: 3, reason: 'site went offline during the round' } }, hungary: { lastFailure: { round: 6, reason: 'no answer within the round deadline' } }, swiss: { lastFailure: { round: 0, reason: 'refused: bad signature' } } },
  };
  const text = renderStatus(s);
  assert.match(text, /^federation heart: training, round 3\/5 \| last round 3: not accepted \(1 of 2 sites answered \(quorum\.minSitesToAccept 2\)\)$/m);
  assert.match(text, /^va +offline .* round 3: site went offline during the round$/m);
  assert.match(text, /^hungary +online .* final evaluation: no answer within the round deadline; last refusal 2026-11-27T10:00:00\.000Z: bad signature$/m);
  assert.match(text, /^swiss +online .* statistics: refused: bad signature$/m, 'a failure that is the refusal is said once');
});
