// Every way the coordinator's endpoint refuses a message, through its public surface
// (CoordinatorService over a fake round gate), with the real envelope crypto: the
// reason, the gRPC status it maps to, the message, and that nothing changed.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coordinator, FEDERATION, joinMessage, LIMITS, refused, result, ROUND, setup, siteA, siteB, sink, stranger, WINDOW_MS, type ResultOptions } from './coordinator-service-fixtures.ts';
import { PayloadSealer } from '../../shared/crypto/envelope.ts';
import type { ProtocolError } from '../../shared/errors.ts';
import type { WireMessage } from '../../shared/transport/types.ts';
test('a sound result is accepted and delivered with its weights (the baseline the refusals spoil)', async () => {
  const { service, delivered, gateRejected, counted } = setup();
  const reply = await service.submit(result());
  assert.deepEqual(reply, { accepted: true, message: `round ${ROUND} fit-result accepted` });
  assert.equal(delivered.length, 1);
  assert.equal(delivered[0]!.site, 'a');
  assert.deepEqual(delivered[0]!.weights, [0.5, -1.25, 2]);
  assert.deepEqual(gateRejected, []);
  assert.deepEqual(counted, []);
});

test('unknown site: UNAUTHENTICATED with the same message as a forged one, counted without a site label, nothing delivered', async () => {
  const { service, delivered, gateRejected, counted, directory } = setup();
  await refused(
    service.submit(result({ seal: { site: 'mallory' }, signer: stranger.signing.secretKey })),
    'unknown-site',
    grpc.status.UNAUTHENTICATED,
    /^unknown site "mallory": no signing key registered$/,
  );
  await refused(
    service.subscribe(joinMessage('mallory', stranger.signing.secretKey), sink()),
    'unknown-site',
    grpc.status.UNAUTHENTICATED,
    /^unknown site "mallory"/,
  );
  assert.deepEqual(counted, ['unknown-site unverified', 'unknown-site unverified']);
  assert.deepEqual(delivered, []);
  assert.deepEqual(gateRejected, []);
  assert.deepEqual(directory.online(), []);
});

test('forged signature: UNAUTHENTICATED; the named site is neither blamed nor failed for the round', async () => {
  const { service, delivered, gateRejected, counted, directory } = setup();
  // Site b (enrolled, but not a) signs a message claiming to be from a.
  await refused(
    service.submit(result({ signer: siteB.signing.secretKey })),
    'bad-signature',
    grpc.status.UNAUTHENTICATED,
    /^envelope header signature does not verify with the key of site "a"$/,
  );
  // A genuine header whose signature was cut short.
  const m = result();
  await refused(
    service.submit({ ...m, signature: m.signature.subarray(0, 10) }),
    'bad-signature',
    grpc.status.UNAUTHENTICATED,
    /^signature from site "a" is 10 bytes, expected 64$/,
  );
  // A signed header whose bytes were changed after signing (the round, say).
  const text = new TextDecoder().decode(m.header).replace(`"round":${ROUND}`, `"round":${ROUND + 1}`);
  await refused(
    service.submit({ ...m, header: new TextEncoder().encode(text) }),
    'bad-signature',
    grpc.status.UNAUTHENTICATED,
    /does not verify/,
  );
  await refused(service.subscribe(joinMessage('a', siteB.signing.secretKey), sink()), 'bad-signature', grpc.status.UNAUTHENTICATED, /does not verify/);
  assert.deepEqual(counted, ['bad-signature unverified', 'bad-signature unverified', 'bad-signature unverified', 'bad-signature unverified']);
  assert.deepEqual(gateRejected, [], 'a forger must not be able to fail a real site');
  assert.equal(directory.states().find((s) => s.name === 'a')!.lastError, undefined);
  assert.deepEqual(delivered, []);
  assert.deepEqual(directory.online(), []);
  // The genuine message still goes through afterwards.
  assert.equal((await service.submit(m)).accepted, true);
});

test('replay: the same message again, or a second answer to the same round, is ALREADY_EXISTS and does not fail the site', async () => {
  const { service, delivered, gateRejected, counted } = setup();
  const m = result();
  await service.submit(m);
  await refused(service.submit(m), 'replay', grpc.status.ALREADY_EXISTS, /^fit-result from site "a" reuses message id [0-9a-f]{32}$/);
  await refused(
    service.submit(result({ weights: Float32Array.from([9, 9, 9]) })),
    'replay',
    grpc.status.ALREADY_EXISTS,
    new RegExp(`^fit-result from site "a" is a second fit-result for round ${ROUND}; only one is accepted$`),
  );
  assert.equal(delivered.length, 1, 'only the first was applied');
  assert.deepEqual(delivered[0]!.weights, [0.5, -1.25, 2]);
  assert.deepEqual(gateRejected, []);
  assert.deepEqual(counted, ['replay a', 'replay a']);
});

test('stale: another round is FAILED_PRECONDITION; a message older than the replay window is refused as a replay', async () => {
  const { service, delivered, gateRejected, counted } = setup();
  await refused(
    service.submit(result({ seal: { round: ROUND - 1 }, meta: { round: ROUND - 1 } })),
    'stale-round',
    grpc.status.FAILED_PRECONDITION,
    new RegExp(`^fit-result from site "a" is for round ${ROUND - 1}, expected round ${ROUND}$`),
  );
  await refused(
    service.submit(result({ seal: { createdAt: Date.now() - 2 * WINDOW_MS } })),
    'replay',
    grpc.status.ALREADY_EXISTS,
    new RegExp(
      `^fit-result from site "a" was created \\d+ ms ago \\((120 s|2 min)\\), older than the ${WINDOW_MS} ms \\(60 s\\) replay window: a message sent again, or this host's clock ahead of site "a"'s by about that much: set both hosts' clocks by NTP`,
    ),
  );
  // A site's clock ahead: said so, in the coordinator's words (an outside try's site a day ahead was told only the milliseconds).
  await refused(
    service.submit(result({ seal: { createdAt: Date.now() + 2 * WINDOW_MS } })),
    'replay',
    grpc.status.ALREADY_EXISTS,
    /ms in the future \((120 s|2 min)\), beyond the 60000 ms \(60 s\) clock-skew window: site "a"'s clock is ahead of this host's by about that much: set both hosts' clocks by NTP \(timedatectl status/,
  );
  // Nothing expected from b now: its (genuine) result is not wanted.
  await refused(
    service.submit(result({ seal: { site: 'b' }, signer: siteB.signing.secretKey })),
    'not-expected',
    grpc.status.FAILED_PRECONDITION,
    /^fit-result from site "b" was not expected now \(expecting nothing\)$/,
  );
  assert.deepEqual(delivered, []);
  assert.deepEqual(gateRejected, [], 'none of these is the answer the site owes now');
  assert.deepEqual(counted, ['stale-round a', 'replay a', 'replay a', 'not-expected b']);
  // The answer it owes is still welcome.
  assert.equal((await service.submit(result())).accepted, true);
});

test('oversized: a payload, a chunk size, a chunk or a header over the limits is RESOURCE_EXHAUSTED', async () => {
  const { service, delivered, gateRejected, counted } = setup();
  const big = new Float32Array(LIMITS.maxPayloadBytes / 4 + 1);
  await refused(
    service.submit(result({ weights: big })),
    'oversized',
    grpc.status.RESOURCE_EXHAUSTED,
    new RegExp(`^payload of \\d+ bytes from site "a" exceeds the ${LIMITS.maxPayloadBytes}-byte limit$`),
  );
  await refused(
    service.submit(result({ chunkSize: LIMITS.maxChunkSize * 2 })),
    'oversized',
    grpc.status.RESOURCE_EXHAUSTED,
    new RegExp(`^chunk size ${LIMITS.maxChunkSize * 2} from site "a" exceeds the ${LIMITS.maxChunkSize}-byte limit$`),
  );
  const header = new Uint8Array(16 * 1024 + 1).fill(0x20);
  await refused(
    service.submit({ header, signature: new Uint8Array(64), chunks: [] }),
    'oversized',
    grpc.status.RESOURCE_EXHAUSTED,
    /^envelope header is 16385 bytes, over the 16384-byte limit$/,
  );
  assert.deepEqual(gateRejected, [], 'refused before the header was trusted');
  // A chunk longer than any chunk may be, from the site that owes this answer: it fails the round for the site.
  const m = result();
  await refused(
    service.submit({ ...m, chunks: [new Uint8Array(LIMITS.maxChunkSize + 65)] }),
    'oversized',
    grpc.status.RESOURCE_EXHAUSTED,
    new RegExp(`^chunk 0 is ${LIMITS.maxChunkSize + 65} bytes, over the chunk limit$`),
  );
  assert.deepEqual(gateRejected, [`a: chunk 0 is ${LIMITS.maxChunkSize + 65} bytes, over the chunk limit`]);
  // The size limits are checked inside verifyHeader, so the first two are counted unnamed too.
  assert.deepEqual(counted, ['oversized unverified', 'oversized unverified', 'oversized unverified', 'oversized a']);
  assert.deepEqual(delivered, []);
});

/**
 * Submits `msg` to a fresh endpoint (a refused answer the site owes fails it for the round,
 * so each case gets its own) and returns what reached the gate and the metrics.
 */
async function refusedAlone(
  msg: WireMessage,
  reason: ProtocolError['reason'],
  status: grpc.status,
  message: RegExp,
): Promise<{ gateRejected: string[]; counted: string[] }> {
  const { service, delivered, gateRejected, counted } = setup();
  await refused(service.submit(msg), reason, status, message);
  assert.deepEqual(delivered, [], 'nothing applied');
  return { gateRejected, counted };
}

test('garbage header: not JSON, or not UTF-8, is INVALID_ARGUMENT and blames nobody', async () => {
  const { service, gateRejected, counted } = setup();
  await refused(
    service.submit({ header: new TextEncoder().encode('not json'), signature: new Uint8Array(64), chunks: [] }),
    'malformed',
    grpc.status.INVALID_ARGUMENT,
    /^envelope header is not valid UTF-8 JSON: /,
  );
  await refused(
    service.subscribe({ header: Uint8Array.of(0xff, 0xfe), signature: new Uint8Array(64), chunks: [] }, sink()),
    'malformed',
    grpc.status.INVALID_ARGUMENT,
    /^envelope header is not valid UTF-8 JSON: /,
  );
  assert.deepEqual(gateRejected, []);
  assert.deepEqual(counted, ['malformed unverified', 'malformed unverified']);
});

test('garbage payload under a genuine header: refused, and the site failed for the round with the reason', async () => {
  const m = result();
  const noise = m.chunks[0]!.map((b, i) => b ^ (i % 7 === 0 ? 1 : 0));
  const tampered = await refusedAlone(
    { ...m, chunks: [noise] },
    'decrypt-failed',
    grpc.status.UNAUTHENTICATED,
    /^chunk 0 of 1 from site "a" failed authentication \(wrong key, or tampered\)$/,
  );
  assert.deepEqual(tampered.gateRejected, ['a: chunk 0 of 1 from site "a" failed authentication (wrong key, or tampered)']);
  assert.deepEqual(tampered.counted, ['decrypt-failed a']);
  // The rest are sealed by the site itself: sound envelopes around contents that are not a result.
  const cases: [ResultOptions, RegExp][] = [
    [{ encrypted: false }, /^fit-result payload from site "a" is not encrypted, but encryption is required$/],
    [{ meta: { round: ROUND + 5 } }, new RegExp(`^fit-result from site "a": payload says round ${ROUND + 5}, header says ${ROUND}$`)],
    [{ meta: { numExamples: -1 } }, /^fit-result from site "a": field "numExamples" must be a number >= 0$/],
    [{ meta: { weights: 1.5 } }, /^fit-result from site "a": field "weights" must be a non-negative integer$/],
    [{ weights: Float32Array.from([1, Number.NaN]) }, /^non-finite value NaN at parameter 1$/],
  ];
  for (const [spoil, message] of cases) {
    const { gateRejected, counted } = await refusedAlone(result(spoil), 'malformed', grpc.status.INVALID_ARGUMENT, message);
    assert.equal(gateRejected.length, 1, String(message));
    assert.match(gateRejected[0]!, /^a: /);
    assert.deepEqual(counted, ['malformed a']);
  }
});

test('a payload whose meta is not JSON is malformed', async () => {
  const payload = new Uint8Array(8);
  new DataView(payload.buffer).setUint32(0, 4, true);
  payload.set(new TextEncoder().encode('{{{{'), 4);
  const sealer = new PayloadSealer({ federation: FEDERATION, round: ROUND, site: 'a', kind: 'fit-result' }, payload, {
    signingSecretKey: siteA.signing.secretKey,
    recipientBoxPublicKey: coordinator.box.publicKey,
    chunkSize: LIMITS.maxChunkSize,
  });
  await refusedAlone(
    { header: sealer.header, signature: sealer.signature, chunks: [...sealer.chunks()] },
    'malformed',
    grpc.status.INVALID_ARGUMENT,
    /^payload meta is not valid JSON: /,
  );
});

test('truncated: a missing last chunk, a cut-short chunk, or chunks out of order are refused', async () => {
  const weights = new Float32Array(600).fill(0.25); // 2400 bytes of weights: three chunks of 1024
  const m = result({ weights });
  assert.equal(m.chunks.length, 3);
  await refusedAlone(
    { ...m, chunks: m.chunks.slice(0, 2) },
    'malformed',
    grpc.status.INVALID_ARGUMENT,
    /^payload from site "a" is incomplete: got 2 of 3 chunks$/,
  );
  const last = m.chunks[2]!;
  await refusedAlone(
    { ...m, chunks: [m.chunks[0]!, m.chunks[1]!, last.subarray(0, last.length - 5)] },
    'malformed',
    grpc.status.INVALID_ARGUMENT,
    new RegExp(`^chunk 2 of 3 is ${last.length - 5} bytes, expected ${last.length}$`),
  );
  await refusedAlone(
    { ...m, chunks: [m.chunks[1]!, m.chunks[0]!, m.chunks[2]!] },
    'decrypt-failed',
    grpc.status.UNAUTHENTICATED,
    /^chunk 0 of 3 from site "a" failed authentication/,
  );
  const { gateRejected } = await refusedAlone({ ...m, chunks: [] }, 'malformed', grpc.status.INVALID_ARGUMENT, /^payload from site "a" is incomplete: got 0 of 3 chunks$/);
  assert.deepEqual(gateRejected, ['a: payload from site "a" is incomplete: got 0 of 3 chunks']);
});

/** The endpoint owing site "a" ROUND's fit result until `moveOn` says what it owes next; a result of 3 chunks from it. */
function roundMovesOn() {
  let owes = { round: ROUND, kind: 'fit-result' };
  const t = setup({ expectation: (site) => (site === 'a' ? owes : undefined) });
  return { ...t, m: result({ weights: new Float32Array(600).fill(0.25) }), moveOn: (next: typeof owes) => void (owes = next) };
}

test("an upload cut off after the round moved on is refused, but fails the site for nothing: its next task is not this one", async () => {
  // A slow link dropped mid-upload: the fit round ended without the site, the final evaluation
  // began and waited for it to come back, and the cut-off fit upload then failed it for the
  // final evaluation at once (an outside try on a slow link).
  const { service, delivered, gateRejected, m, moveOn } = roundMovesOn();
  async function* cut() {
    yield m.chunks[0]!;
    moveOn({ round: ROUND + 1, kind: 'evaluate-result' });
  }
  await refused(service.submit({ ...m, chunks: cut() }), 'malformed', grpc.status.INVALID_ARGUMENT, /^payload from site "a" is incomplete: got 1 of 3 chunks$/);
  assert.deepEqual([delivered, gateRejected], [[], []]);
  // While it is still the answer owed, the same cut fails the site for the round, as before.
  const again = roundMovesOn();
  await refused(again.service.submit({ ...again.m, chunks: again.m.chunks.slice(0, 1) }), 'malformed', grpc.status.INVALID_ARGUMENT, /incomplete: got 1 of 3 chunks/);
  assert.deepEqual(again.gateRejected, ['a: payload from site "a" is incomplete: got 1 of 3 chunks']);
});

test("an upload that arrives whole after its round closed is refused, not counted as the next round's answer, and fails the site for nothing", async () => {
  // A slow link: round 2's update, trained on round 2's model, finished arriving in round 3 and was
  // aggregated there, and the site's real round-3 answer was refused as stale (an outside try).
  const { service, delivered, gateRejected, m, moveOn } = roundMovesOn();
  async function* late() {
    yield m.chunks[0]!;
    moveOn({ round: ROUND + 1, kind: 'fit-result' });
    yield* m.chunks.slice(1);
  }
  // Refused at the next chunk, not once whole: the site's next task waited behind a late upload (a re-try).
  await refused(
    service.submit({ ...m, chunks: late() }),
    'stale-round',
    grpc.status.FAILED_PRECONDITION,
    new RegExp(`^fit-result of round ${ROUND} was still arriving \\(\\d+ kB of \\d+ kB in\\) after that round closed: a slow link\\? quorum\\.roundDeadlineSeconds`),
  );
  assert.deepEqual([delivered, gateRejected], [[], []]);
  // The round closing with the last chunk: refused once whole.
  const whole = roundMovesOn();
  async function* lastMoment() {
    yield* whole.m.chunks;
    whole.moveOn({ round: ROUND + 1, kind: 'fit-result' });
  }
  await refused(whole.service.submit({ ...whole.m, chunks: lastMoment() }), 'stale-round', grpc.status.FAILED_PRECONDITION, new RegExp(`^fit-result of round ${ROUND} arrived whole after that round closed`));
  assert.deepEqual(whole.delivered, []);
});

test('a failure while applying a verified result fails the site for the round and is refused as malformed', async () => {
  const { service, gateRejected, counted } = setup({
    deliver: () => {
      throw new Error('update has 3 weights, the model 4');
    },
  });
  await refused(service.submit(result()), 'malformed', grpc.status.INVALID_ARGUMENT, /^update has 3 weights, the model 4$/);
  assert.deepEqual(gateRejected, ['a: update has 3 weights, the model 4']);
  assert.deepEqual(counted, ['malformed a']);
});
