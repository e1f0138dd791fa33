// Garbage and forgeries on the coordinator's gRPC port: raw bytes, a plaintext call,
// and, over a real site's TLS certificate (a stolen TLS key), a Submit whose header is
// noise, an update signed with a key that is not the enrolled one, a join from a site
// nobody enrolled. Each is refused with a gRPC status and counted in /metrics (an
// unknown and an enrolled name get the same answer), and the enrolled sites carry on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { ResultsFile } from '../../cli/results.ts';
import { sealPayload } from '../../shared/crypto/envelope.ts';
import { decodeKey, generateIdentity } from '../../shared/crypto/keys.ts';
import { encodeFrame } from '../../shared/protocol/frame.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol/messages.ts';
import { sendRawBytes, statusName, submitFrames, subscribeWith, type CallOutcome } from './helpers/grpc-client.ts';
import { withFederation, type TestFederation } from './helpers/federation.ts';
import { PEER_REFUSED_MESSAGE } from '../../shared/pki/check-peer.ts';
import { loadSiteTls } from '../../shared/pki/kit-tls.ts';

const SITES = ['cleveland', 'hungary', 'va'];
const refusedText = new RegExp(`^${PEER_REFUSED_MESSAGE}$`);
const ROUNDS = 3;

function assertStatus(got: CallOutcome, want: grpc.status, what: string, detail?: RegExp): void {
  assert.equal(statusName(got.code), statusName(want), `${what}: got ${statusName(got.code)} (${got.details})`);
  if (detail) assert.match(got.details, detail, `${what}: details`);
}

/** An update for `site`, well formed and encrypted to the coordinator, but signed with a key that is not the site's. */
function forgedUpdate(fed: TestFederation, site: string, round: number) {
  const coordinatorBox = decodeKey(fed.manifest().coordinator.boxPublicKey, 32, 'coordinator box key');
  const weights = new Float32Array(64).fill(1e6); // what a poisoner would send
  const payload = encodeFrame({ round, kind: 'fit', numExamples: 1_000_000, metrics: {}, weights: weights.length }, weights);
  return sealPayload({ federation: 'e2e', round, site, kind: 'fit-result' }, payload, {
    signingSecretKey: generateIdentity().signing.secretKey,
    recipientBoxPublicKey: coordinatorBox,
  });
}

/** A join for `site` signed with a fresh key. */
function forgedJoin(fed: TestFederation, site: string) {
  const coordinatorBox = decodeKey(fed.manifest().coordinator.boxPublicKey, 32, 'coordinator box key');
  return sealPayload({ federation: 'e2e', round: 0, site, kind: 'join' }, encodeFrame({ protocolVersion: PROTOCOL_VERSION, site }), {
    signingSecretKey: generateIdentity().signing.secretKey,
    recipientBoxPublicKey: coordinatorBox,
  });
}

const asFrames = (m: { header: Uint8Array; signature: Uint8Array; chunks: Uint8Array[] }) => [
  { header: { header: m.header, signature: m.signature } },
  ...m.chunks.map((chunk) => ({ chunk })),
];

/** Sum of a counter's series in Prometheus text whose labels include every `labels` pair. */
function counter(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

test('garbage and forged messages are refused; the federation completes with every site', { timeout: 120_000 }, async () => {
  await withFederation({ sites: SITES, rounds: ROUNDS, hardTimeoutMs: 110_000 }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    const port = Number(fed.grpcAddress.split(':')[1]);

    // (a) Raw bytes that are not HTTP/2 at all, an HTTP/1 request, and a valid HTTP/2
    // preface followed by noise: the server drops each connection and keeps serving.
    await sendRawBytes('127.0.0.1', port, randomBytes(4096));
    await sendRawBytes('127.0.0.1', port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await sendRawBytes('127.0.0.1', port, Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), randomBytes(2048)]));
    // A gRPC call without TLS never gets past the handshake.
    assertStatus(await subscribeWith(fed.grpcAddress, forgedJoin(fed, 'cleveland'), 5000), grpc.status.UNAVAILABLE, 'plaintext join');
    assert.ok(coordinator.alive, 'coordinator survived raw garbage');
    assert.equal(await fed.getText('/healthz'), 'ok');

    // Two of the three sites join; the coordinator waits for the third (minSitesToStart 3),
    // which holds the federation open while the forgeries arrive.
    const sites = Object.fromEntries(SITES.map((s) => [s, s === 'va' ? undefined : fed.startSite(s)]));
    await fed.waitSiteOnline('cleveland', true, 30_000, sites.cleveland);
    await fed.waitSiteOnline('hungary', true, 30_000, sites.hungary);

    // (b) Submit streams that are not envelopes, from a holder of cleveland's TLS key.
    const asCleveland = { address: fed.grpcAddress, tls: loadSiteTls(fed.siteYaml('cleveland')) };
    const noise = await submitFrames(asCleveland, [{ header: { header: randomBytes(300), signature: randomBytes(64) } }, { chunk: randomBytes(100) }]);
    assertStatus(noise, grpc.status.INVALID_ARGUMENT, 'Submit with a garbage header', /not valid UTF-8 JSON/);
    const jsonNoise = await submitFrames(asCleveland, [{ header: { header: Buffer.from('{"site":"cleveland"}'), signature: randomBytes(64) } }]);
    assertStatus(jsonNoise, grpc.status.UNAUTHENTICATED, 'Submit with a JSON header and a random signature', refusedText);
    const chunkFirst = await submitFrames(asCleveland, [{ chunk: randomBytes(100) }]);
    assertStatus(chunkFirst, grpc.status.INVALID_ARGUMENT, 'Submit starting with a chunk', /must start with a header frame/);

    // (c) A forged update and a forged join for an enrolled site: refused, and the real
    // site's connection is not replaced by the impostor's.
    assertStatus(await submitFrames(asCleveland, asFrames(forgedUpdate(fed, 'cleveland', 1))), grpc.status.UNAUTHENTICATED, 'forged update for cleveland', refusedText);
    const enrolled = await subscribeWith(asCleveland, forgedJoin(fed, 'cleveland'));
    assertStatus(enrolled, grpc.status.UNAUTHENTICATED, 'forged join for cleveland', refusedText);

    // (d) A join from a site that is not in the manifest: the very same answer, so a
    // refusal does not tell who is enrolled.
    const unknown = await subscribeWith(asCleveland, forgedJoin(fed, 'mallory'));
    assert.deepEqual(unknown, enrolled, 'unknown and enrolled names are refused alike');

    assert.ok(coordinator.alive, 'coordinator still running');
    const status = await fed.status();
    assert.deepEqual(
      status.sites.map((s) => [s.name, s.online]).sort(),
      [
        ['cleveland', true],
        ['hungary', true],
        ['va', false],
      ],
      'the enrolled sites are still connected',
    );
    assert.equal(status.round, 0, 'no round started');
    const metrics = await fed.getText('/metrics');
    const rejected = (labels: Record<string, string>) => counter(metrics, 'fedcausal_refusals_total', labels);
    // The garbage header and the chunk-first stream (refused by the gRPC layer, counted by the endpoint).
    assert.equal(rejected({ reason: 'malformed', site: 'unknown' }), 2, 'garbage header and chunk-first stream counted');
    // Unverified senders are never named by the name they claim: a forger must not pick metric labels.
    assert.equal(rejected({ reason: 'bad-signature', site: 'unknown' }), 3, 'random signature, forged update, forged join');
    assert.equal(rejected({ reason: 'bad-signature', site: 'cleveland' }), 0, 'not blamed on cleveland');
    // Whatever site label an unknown sender gets, the refusal is counted once.
    assert.equal(rejected({ reason: 'unknown-site' }), 1, 'unknown site');

    // The third site joins and the federation runs. A forged update for a site that
    // owes an answer, sent while the round waits on it (va is frozen), is refused and
    // neither replaces nor fails va's real one.
    sites.va = fed.startSite('va');
    await coordinator.waitForLog((l) => l.message === 'federation state' && l.state === 'training' && l.round === 1, 60_000, 'round 1 training');
    sites.va.kill('SIGSTOP');
    try {
      const inRound = await submitFrames({ address: fed.grpcAddress, tls: loadSiteTls(fed.siteYaml('va')) }, asFrames(forgedUpdate(fed, 'va', 1)));
      assertStatus(inRound, grpc.status.UNAUTHENTICATED, 'forged update for va during round 1', refusedText);
      const st = await fed.status();
      assert.equal(st.round, 1, 'still in round 1 while va is frozen');
    } finally {
      sites.va.kill('SIGCONT');
    }

    assert.equal(await coordinator.exitCode(60_000), 0, 'coordinator exit code');
    for (const s of SITES) assert.equal(await sites[s]!.exitCode(10_000), 0, `${s} exit code`);
    const r = fed.results<ResultsFile>(coordinator);
    assert.deepEqual(
      r.history.map((h) => [h.round, h.participants, h.failures]),
      Array.from({ length: ROUNDS }, (_, i) => [i + 1, 3, 0]),
      'every round had all three sites and no failure',
    );
    assert.deepEqual(Object.keys(r.sites).sort(), [...SITES].sort());
    for (const s of SITES) {
      const sp = sites[s]!;
      assert.ok(!sp.logs.some((l) => l.message === 'result refused'), `${s} had no result refused`);
    }
  });
});
