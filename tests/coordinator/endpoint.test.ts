// The endpoint's side of "one connection per site": a signed join for a site that is
// connected is refused (and counted) unless it comes from the same site process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFederation } from '../../coordinator/federation.ts';
import { createStrategy } from '../../coordinator/strategy/registry.ts';
import { PayloadSealer } from '../../shared/crypto/envelope.ts';
import { generateIdentity, type Identity } from '../../shared/crypto/keys.ts';
import { loadSchema } from '../../shared/data/schema.ts';
import { ProtocolError } from '../../shared/errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import { encodeFrame } from '../../shared/protocol/frame.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol/messages.ts';
import type { TaskSink, WireMessage } from '../../shared/transport/types.ts';

const schema = loadSchema(new URL('../../../shared/data/heart-disease/schema.json', import.meta.url).pathname);

function setup() {
  const coord = generateIdentity();
  const site = generateIdentity();
  const rejected: string[] = [];
  const fed = createFederation(
    {
      federation: 'test',
      rounds: 1,
      model: { kind: 'logreg', raw: {}, seed: 1 },
      strategy: createStrategy('fedavg'),
      schema,
      sites: [{ name: 'a', signingPublicKey: site.signing.publicKey }],
      quorum: { minSitesToStart: 1, minSitesToAccept: 1, roundDeadlineMs: 60_000, startTimeoutMs: 60_000, rejoinGraceMs: 0, waitForAllMs: 0 },
      minCellCount: 5,
      localBaseline: false,
      identity: coord,
      limits: { maxPayloadBytes: 1 << 20, maxChunkSize: 1 << 20, maxMessageAgeMs: 60_000 },
      spool: 'memory',
    },
    silentLogger,
    undefined,
    (reason, s) => rejected.push(`${reason} ${s}`),
  );
  return { fed, coord, site, rejected };
}

function join(site: Identity, coord: Identity, fields: Record<string, unknown>): WireMessage {
  const s = new PayloadSealer({ federation: 'test', round: 0, site: 'a', kind: 'join' }, encodeFrame({ protocolVersion: PROTOCOL_VERSION, site: 'a', ...fields }), {
    signingSecretKey: site.signing.secretKey,
    recipientBoxPublicKey: coord.box.publicKey,
  });
  return { header: s.header, signature: s.signature, chunks: [...s.chunks()] };
}

/** The coordinator's challenge nonce, as a site puts it in its join. */
const nonceOf = async (service: { challenge(): Promise<Uint8Array> }) => Buffer.from(await service.challenge()).toString('base64');

const sink = (): TaskSink & { ended?: string } => {
  const s: TaskSink & { ended?: string } = { send: async () => {}, end: (r) => void (s.ended = r) };
  return s;
};

test('a second process joining as a connected site is refused, counted, and leaves the first connected', async () => {
  const { fed, coord, site, rejected } = setup();
  const first = sink();
  await fed.service.subscribe(join(site, coord, { nonce: await nonceOf(fed.service), session: 'p1' }), first);
  await assert.rejects(
    fed.service.subscribe(join(site, coord, { nonce: await nonceOf(fed.service), session: 'p2' }), sink()),
    (e: unknown) => e instanceof ProtocolError && e.reason === 'already-connected' && /already connected/.test(e.message),
  );
  assert.deepEqual(rejected, ['already-connected a']);
  assert.equal(fed.directory.sink('a'), first);
  assert.equal(first.ended, undefined);
  assert.match(fed.directory.states()[0]!.lastError ?? '', /already connected/, 'the operator sees it in the status');
});

test('the same process joining again (its stream broke) replaces its old connection', async () => {
  const { fed, coord, site, rejected } = setup();
  const first = sink();
  const a = await fed.service.subscribe(join(site, coord, { nonce: await nonceOf(fed.service), session: 'p1' }), first);
  const second = sink();
  await fed.service.subscribe(join(site, coord, { nonce: await nonceOf(fed.service), session: 'p1' }), second);
  assert.equal(fed.directory.sink('a'), second);
  assert.match(first.ended ?? '', /replaced/);
  a.closed(); // the old stream's close, seen late, does not take the site offline
  assert.deepEqual(fed.directory.online(), ['a']);
  assert.deepEqual(rejected, []);
});

test('a join whose session is not a short string is malformed', async () => {
  const { fed, coord, site } = setup();
  for (const session of [7, 'x'.repeat(129)])
    await assert.rejects(fed.service.subscribe(join(site, coord, { nonce: await nonceOf(fed.service), session }), sink()), (e: unknown) => e instanceof ProtocolError && e.reason === 'malformed');
  assert.deepEqual(fed.directory.online(), []);
});
