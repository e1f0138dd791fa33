/**
 * Envelope throughput: seal + open of one large payload, encrypted (HMAC digest +
 * ChaCha20-Poly1305 per chunk) against plain (SHA-256 digest only), in this process.
 * No tfjs, so bench/run.ts runs it directly.
 */
import { randomBytes } from 'node:crypto';
import { PayloadOpener, PayloadSealer, verifyHeader } from '../shared/crypto/envelope.ts';
import { generateIdentity } from '../shared/crypto/keys.ts';
import { median } from './workload.ts';

export interface EnvelopeModeResult {
  mode: 'encrypted' | 'plain';
  /** Per repeat, milliseconds. */
  sealMs: number[];
  openMs: number[];
  sealMiBps: number;
  openMiBps: number;
  /** Seal then open, the whole trip a payload makes. */
  roundTripMiBps: number;
}

export interface EnvelopeResult {
  payloadBytes: number;
  chunkSize: number;
  repeats: number;
  modes: EnvelopeModeResult[];
  /** Encrypted round-trip throughput over plain's. */
  encryptedOverPlain: number;
}

/** Seals and opens `bytes` of random data `repeats` times per mode (after one warm-up), modes interleaved. */
export function measureEnvelope(bytes = 64 * 2 ** 20, repeats = 5): EnvelopeResult {
  const payload = new Uint8Array(randomBytes(bytes));
  const sender = generateIdentity();
  const recipient = generateIdentity();
  const limits = { maxPayloadBytes: 2 ** 31, maxChunkSize: 16 * 2 ** 20 };
  let chunkSize = 0;
  const once = (encrypted: boolean) => {
    const t0 = performance.now();
    const sealer = new PayloadSealer({ federation: 'bench', round: 1, site: 'site', kind: 'fit-result' }, payload, {
      signingSecretKey: sender.signing.secretKey,
      ...(encrypted ? { recipientBoxPublicKey: recipient.box.publicKey } : {}),
    });
    const chunks = [...sealer.chunks()];
    const t1 = performance.now();
    const header = verifyHeader(sealer.header, sealer.signature, () => sender.signing.publicKey, limits);
    const opener = new PayloadOpener(header, sealer.header, encrypted ? recipient.box.secretKey : undefined);
    let n = 0;
    chunks.forEach((c, i) => (n += opener.open(i, c).length));
    opener.finish();
    const t2 = performance.now();
    if (n !== bytes) throw new Error(`opened ${n} bytes, sealed ${bytes}`);
    chunkSize = header.chunkSize;
    return { seal: t1 - t0, open: t2 - t1 };
  };
  const runs = { encrypted: [] as { seal: number; open: number }[], plain: [] as { seal: number; open: number }[] };
  once(true);
  once(false);
  for (let r = 0; r < repeats; r++) {
    runs.encrypted.push(once(true));
    runs.plain.push(once(false));
  }
  const mib = bytes / 2 ** 20;
  const modes = (['encrypted', 'plain'] as const).map((mode): EnvelopeModeResult => {
    const s = runs[mode].map((x) => x.seal);
    const o = runs[mode].map((x) => x.open);
    return {
      mode,
      sealMs: s,
      openMs: o,
      sealMiBps: mib / (median(s) / 1000),
      openMiBps: mib / (median(o) / 1000),
      roundTripMiBps: mib / (median(runs[mode].map((x) => x.seal + x.open)) / 1000),
    };
  });
  return { payloadBytes: bytes, chunkSize, repeats, modes, encryptedOverPlain: modes[0]!.roundTripMiBps / modes[1]!.roundTripMiBps };
}
