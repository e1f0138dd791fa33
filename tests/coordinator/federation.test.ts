import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sealPayload } from '../../shared/crypto/envelope.ts';
import { generateIdentity } from '../../shared/crypto/keys.ts';
import { loadSchema } from '../../shared/data/schema.ts';
import { loadSiteTable } from '../../shared/data/table.ts';
import { ProtocolError } from '../../shared/errors.ts';
import { encodeFrame } from '../../shared/protocol/frame.ts';
import type { SiteTransport, WireMessage } from '../../shared/transport/types.ts';
import { prepareLocalData } from '../../site-agent/local-data.ts';
import { replaceUpdates, type Update } from '../e2e/helpers/tamper.ts';
import { inProcessFederation } from './in-process-federation.ts';
import { roughCount } from '../../shared/readiness/summary.ts';

const DIR = new URL('../../../shared/data/heart-disease/', import.meta.url).pathname;
const schema = loadSchema(DIR + 'schema.json');
const FILES: Record<string, string> = { cleveland: 'processed.cleveland.data', hungary: 'processed.hungarian.data', va: 'processed.va.data' };

/** A federation of the three sites in one process; `wrap` lets a test tamper with one site's transport. */
function setup(opts: { rounds: number; minSitesToAccept: number; wrap?: (site: string, t: SiteTransport) => SiteTransport }) {
  const sites = Object.fromEntries(Object.entries(FILES).map(([site, file]) => [site, prepareLocalData(loadSiteTable(schema, DIR + file), { testFraction: 0.3, seed: 1 })]));
  const s = inProcessFederation({
    schema,
    sites,
    settings: {
      rounds: opts.rounds,
      quorum: { minSitesToStart: 3, minSitesToAccept: opts.minSitesToAccept, roundDeadlineMs: 60_000, startTimeoutMs: 10_000, rejoinGraceMs: 0, waitForAllMs: 0 },
    },
    ...(opts.wrap ? { wrap: opts.wrap } : {}),
  });
  return { ...s, agents: s.agents.map((a) => ({ transport: a.transport, done: a.done.catch((e: Error) => `error: ${e.message}`) })) };
}

async function finish(s: ReturnType<typeof setup>) {
  try {
    const outcome = await s.fed.loop.run();
    await s.fed.loop.end('done', 'complete');
    return outcome;
  } finally {
    for (const a of s.agents) a.transport.close();
  }
}

test('three sites complete every round through the in-memory transport', async () => {
  const s = setup({ rounds: 2, minSitesToAccept: 3 });
  const outcome = await finish(s);
  assert.equal(outcome.history.length, 2);
  assert.ok(outcome.history.every((h) => h.participants === 3 && h.accepted));
  assert.deepEqual(Object.keys(outcome.sites).sort(), ['cleveland', 'hungary', 'va']);
  for (const m of Object.values(outcome.sites)) assert.ok(m.auroc >= 0 && m.auroc <= 1 && m.n! > 0, `auroc ${m.auroc}`);
  assert.ok(outcome.history[1]!.metrics.eval_auroc! > 0.6, 'the federated model learned something');
  assert.ok(Math.abs(outcome.prior.reduce((a, p) => a + p.p, 0) - 1) < 1e-9);
  assert.deepEqual(await Promise.all(s.agents.map((a) => a.done)), ['done', 'done', 'done']);
  // The readiness summary (/api/summary) and verdicts (/api/status) come from the statistics round's sums: the training splits.
  const train = Object.values(FILES).map((f) => prepareLocalData(loadSiteTable(schema, DIR + f), { testFraction: 0.3, seed: 1 }).train.labels.length);
  // Its rows are those of the prior's patterns: the training splits' rows, less the suppressed patterns' (a few).
  const rows = train.reduce((a, b) => a + b, 0);
  const readiness = s.fed.loop.agreed.readiness;
  assert.ok(readiness);
  const summaryRows = readiness.summary.rows;
  const priorRows = s.fed.loop.agreed.prior!.totalRows;
  assert.ok(priorRows <= rows && priorRows >= rows - 4 * readiness.summary.prior.suppressed.length, `${priorRows} of ${rows}`);
  assert.equal(summaryRows, roughCount(priorRows, readiness.summary.prior.minCount), 'published to the nearest 10');
  assert.deepEqual(Object.keys(readiness.sites).sort(), ['cleveland', 'hungary', 'va']);
});

test('a site that vanishes mid-round: the round completes with the rest when quorum holds', async () => {
  const s = setup({
    rounds: 2,
    minSitesToAccept: 2,
    wrap: (site, t) =>
      site !== 'va'
        ? t
        : {
            ...t,
            async subscribe(join) {
              const sub = await t.subscribe(join);
              const tasks = (async function* () {
                let n = 0;
                for await (const task of sub.tasks) {
                  // Two stats stages pass; the first fit task never gets an answer: the site dies.
                  if (++n === 2) {
                    t.close();
                    return;
                  }
                  yield task;
                }
              })();
              return { welcome: sub.welcome, tasks };
            },
          },
  });
  const outcome = await finish(s);
  assert.equal(outcome.history[0]!.participants, 2);
  assert.equal(outcome.history[0]!.failures, 1);
  assert.equal(outcome.history[0]!.failed[0]!.site, 'va');
  assert.match(outcome.history[0]!.failed[0]!.reason, /offline/);
  assert.ok(outcome.history[0]!.accepted);
});

test('forged and replayed messages are refused and the federation carries on', async () => {
  const captured: WireMessage[] = [];
  let checked: Promise<void> | undefined;
  const s = setup({
    rounds: 2,
    minSitesToAccept: 3,
    wrap: (site, t) =>
      site !== 'hungary'
        ? t
        : {
            ...t,
            async submit(msg) {
              const chunks: Uint8Array[] = [];
              for await (const c of msg.chunks) chunks.push(c);
              const copy = { header: msg.header, signature: msg.signature, chunks };
              captured.push(copy);
              const reply = await t.submit(copy);
              if (captured.length === 3 && !checked) checked = attack(copy);
              return reply;
            },
          },
  });
  async function attack(genuine: WireMessage) {
    // Replay of a message already accepted (its round may have closed meanwhile: either refusal will do).
    await assert.rejects(
      s.fed.service.submit(genuine),
      (e: unknown) => e instanceof ProtocolError && ['replay', 'not-expected'].includes(e.reason),
    );
    // A forged update: signed by a stranger's key, claiming to be cleveland.
    const forger = generateIdentity();
    const forged = sealPayload({ federation: 'test', round: 1, site: 'cleveland', kind: 'fit-result' }, encodeFrame({ round: 1 }), {
      signingSecretKey: forger.signing.secretKey,
      recipientBoxPublicKey: s.coord.box.publicKey,
    });
    // Identity refusals go out as one answer ('peer-refused'); the real reason is the cause.
    const refusedFor = (reason: string) => (e: unknown) =>
      e instanceof ProtocolError && e.reason === 'peer-refused' && e.cause instanceof ProtocolError && e.cause.reason === reason;
    await assert.rejects(s.fed.service.submit(forged), refusedFor('bad-signature'));
    // An unknown site.
    const stranger = sealPayload({ federation: 'test', round: 1, site: 'mallory', kind: 'fit-result' }, encodeFrame({}), {
      signingSecretKey: forger.signing.secretKey,
      recipientBoxPublicKey: s.coord.box.publicKey,
    });
    await assert.rejects(s.fed.service.submit(stranger), refusedFor('unknown-site'));
    // Garbage bytes as a header.
    await assert.rejects(
      s.fed.service.submit({ header: new Uint8Array([1, 2, 3]), signature: new Uint8Array(64), chunks: [] }),
      (e: unknown) => e instanceof ProtocolError,
    );
  }
  const outcome = await finish(s);
  await checked;
  assert.ok(checked, 'the attack ran');
  assert.ok(outcome.history.every((h) => h.participants === 3 && h.accepted), 'no round lost a site');
});

/** A `wrap` that replaces va's fit results of the rounds `when` accepts (see replaceUpdates). */
function replaceVaUpdate(
  s: () => ReturnType<typeof setup>,
  when: (round: number) => boolean,
  change: (u: Update) => { meta: Record<string, unknown>; weights?: Float32Array },
  chunkSize?: number,
) {
  return (site: string, t: SiteTransport): SiteTransport =>
    site !== 'va'
      ? t
      : replaceUpdates(t, { federation: 'test', site: 'va', keys: () => ({ site: s().ids.va!, coordinator: s().coord.box }), when, change, ...(chunkSize ? { chunkSize } : {}) });
}

test('a NaN in a later chunk of an update is refused at once: the site fails that round, the round goes on without it, nothing is folded in', async () => {
  let tampered = 0;
  // Small chunks, so the NaN sits chunks after the first values were read.
  const s: ReturnType<typeof setup> = setup({
    rounds: 2,
    minSitesToAccept: 2,
    wrap: replaceVaUpdate(
      () => s,
      (round) => round === 1,
      ({ meta, weights }) => {
        weights[weights.length - 1] = NaN;
        tampered++;
        return { meta, weights };
      },
      64,
    ),
  });
  const t0 = Date.now();
  const outcome = await finish(s);
  assert.equal(tampered, 1);
  const r1 = outcome.history[0]!;
  assert.equal(r1.participants, 2);
  assert.equal(r1.accepted, true);
  assert.match(r1.failed.find((f) => f.site === 'va')!.reason, /^update refused: .*non-finite value NaN at parameter \d+/);
  assert.ok(Date.now() - t0 < 30_000, 'the round did not wait out its 60 s deadline');
  assert.equal(outcome.history[1]!.participants, 3, 'va is back in the next round');
  assert.ok(Object.values(outcome.sites).every((m) => Number.isFinite(m.auroc)), 'no NaN reached the global model');
});

test('a site that reports a failure instead of an update fails the round at once, with its reason', async () => {
  const s: ReturnType<typeof setup> = setup({
    rounds: 1,
    minSitesToAccept: 2,
    wrap: replaceVaUpdate(() => s, () => true, ({ meta }) => ({ meta: { ...meta, weights: 0, error: 'training loss is NaN' } })),
  });
  const outcome = await finish(s);
  const r1 = outcome.history[0]!;
  assert.equal(r1.participants, 2);
  assert.deepEqual(r1.failed, [{ site: 'va', reason: 'site reported a failure: training loss is NaN' }]);
});
