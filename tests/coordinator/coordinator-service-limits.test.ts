// The endpoint's resource limits: a result claiming more than its round allows is refused
// on the signed claim before a byte is spooled, the spool holds no more than the claim,
// the gate owns a delivered spool until it releases it, and a refusal's text is bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoordinatorService, type RoundGate } from '../../coordinator/coordinator-service.ts';
import { SiteDirectory } from '../../coordinator/directory.ts';
import { MemorySpool, type Spool } from '../../coordinator/spool.ts';
import { PayloadSealer, TAG_BYTES } from '../../shared/crypto/envelope.ts';
import { generateIdentity } from '../../shared/crypto/keys.ts';
import { ReplayGuard } from '../../shared/crypto/replay-guard.ts';
import { ProtocolError } from '../../shared/errors.ts';
import type { LogFields, Logger } from '../../shared/logger.ts';
import { encodeFrame } from '../../shared/protocol/frame.ts';
import type { ResultMeta } from '../../shared/protocol/messages.ts';

const coordinator = generateIdentity();
const site = generateIdentity();
const CHUNK = 1024;

/** A spool that counts what it was given and whether it was freed. */
class CountingSpool extends MemorySpool {
  bytes = 0;
  disposed = false;
  override append(c: Uint8Array): void {
    this.bytes += c.length;
    super.append(c);
  }
  override dispose(): void {
    this.disposed = true;
    super.dispose();
  }
}

function setup(maxPayloadBytes: number, gate: Partial<RoundGate> = {}) {
  const lines: LogFields[] = [];
  const log: Logger = { debug() {}, info() {}, warn: (_m, f) => void lines.push(f ?? {}), error() {}, child: () => log };
  const spools: CountingSpool[] = [];
  const rejected: string[] = [];
  const counted: string[] = [];
  let kept: (() => void) | undefined;
  const directory = new SiteDirectory([{ name: 'a', signingPublicKey: site.signing.publicKey }]);
  const service = new CoordinatorService({
    directory,
    gate: {
      federation: 'f',
      state: 'training',
      expectation: () => ({ round: 1, kind: 'fit-result', maxPayloadBytes }),
      deliver: (_s, _m, _r, release) => void (kept = release),
      reject: (s, reason) => void rejected.push(`${s}: ${reason}`),
      connected() {},
      disconnected() {},
      ...gate,
    },
    replay: new ReplayGuard({ maxAgeMs: 60_000 }),
    boxSecretKey: coordinator.box.secretKey,
    limits: { maxPayloadBytes: 1 << 30, maxChunkSize: CHUNK },
    spool: (): Spool => {
      const s = new CountingSpool();
      spools.push(s);
      return s;
    },
    log,
    onReject: (reason, s) => void counted.push(`${reason} ${s}`),
  });
  return { service, directory, lines, spools, rejected, counted, release: () => kept?.() };
}

function result(weights: number) {
  const meta: ResultMeta = { round: 1, kind: 'fit', numExamples: 10, metrics: {}, weights };
  const payload = encodeFrame(meta, new Float32Array(weights));
  const s = new PayloadSealer({ federation: 'f', round: 1, site: 'a', kind: 'fit-result' }, payload, {
    signingSecretKey: site.signing.secretKey,
    recipientBoxPublicKey: coordinator.box.publicKey,
    chunkSize: CHUNK,
  });
  return { msg: { header: s.header, signature: s.signature, chunks: [...s.chunks()] }, header: s.sealedHeader };
}

test('a result claiming more than its round allows is refused before anything is spooled', async () => {
  const t = setup(1000);
  const { msg } = result(50_000); // 200 kB of weights, signed and genuine
  await assert.rejects(t.service.submit(msg), (e: unknown) => e instanceof ProtocolError && e.reason === 'oversized' && /claims \d+ payload bytes, over the 1000 this result may take/.test(e.message));
  assert.equal(t.spools.length, 0, 'no spool was opened');
  assert.deepEqual(t.counted, ['oversized a']);
  assert.match(t.rejected[0]!, /^a: fit-result claims/, 'the site fails its round at once');
});

test('within the claim: the spool holds exactly the ciphertext claimed, and the gate frees it when done', async () => {
  const t = setup(1_000_000);
  const { msg, header } = result(1000);
  await t.service.submit(msg);
  const spool = t.spools[0]!;
  assert.equal(spool.bytes, header.payloadLength + header.chunkCount * TAG_BYTES);
  assert.equal(spool.disposed, false, 'held by the gate until its round closes');
  t.release();
  t.release();
  assert.equal(spool.disposed, true);
});

test('a spool is freed when the gate refuses the result; the refusal is logged and recorded as a bounded excerpt', async () => {
  const huge = `bad ${'x'.repeat(20_000)}`;
  const t = setup(1_000_000, {
    deliver() {
      throw new ProtocolError(huge, 'out-of-bounds');
    },
  });
  await assert.rejects(t.service.submit(result(10).msg), /bad x/);
  assert.equal(t.spools[0]!.disposed, true);
  assert.deepEqual(t.counted, ['out-of-bounds a']);
  const logged = String(t.lines.at(-1)!.error);
  assert.ok(logged.length < 400 && logged.endsWith('more characters)'), `logged ${logged.length} characters`);
  assert.ok(t.rejected[0]!.length < 400, 'the round failure reason (/api/status) is bounded too');
  assert.ok((t.directory.states()[0]!.lastError ?? '').length < 400);
});
