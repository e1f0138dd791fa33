/**
 * The pieces of a federated round on the benchmark's model size, each timed alone
 * (bench/round-overhead.ts reports them beside the measured overhead).
 */
import * as tf from '@tensorflow/tfjs';
import { derivePrior } from '../coordinator/priors.ts';
import { FileSpool } from '../coordinator/spool.ts';
import { createStrategy } from '../coordinator/strategy/registry.ts';
import { DEFAULT_CHUNK_SIZE, PayloadOpener, PayloadSealer, verifyHeader } from '../shared/crypto/envelope.ts';
import { generateIdentity } from '../shared/crypto/keys.ts';
import { encodeTable } from '../shared/data/encode.ts';
import { countPatternLabels } from '../shared/data/patterns.ts';
import { selectRows } from '../shared/data/table.ts';
import { classificationReport } from '../shared/metrics/classification.ts';
import { createModel } from '../shared/model/factory.ts';
import { predictAll } from '../shared/model/trainer.ts';
import { FrameReader, encodeFrame } from '../shared/protocol/frame.ts';
import type { ModelSpecMsg } from '../shared/protocol/messages.ts';
import { HEART_SITES, type loadHeartWorkload, median } from './workload.ts';

const FEDERATION = 'bench';
const progress = (m: string) => process.stderr.write(`  [round] ${m}\n`);

export interface ProfilePiece {
  piece: string;
  /** Whose thread does it: the coordinator's (serving every site) or one site's. */
  where: 'coordinator' | 'site';
  perRound: number;
  /** Median milliseconds of one occurrence. */
  ms: number;
}

function timeIt(fn: () => void, repeats = 5): number {
  fn();
  const ms: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

/** The pieces of a round on the same model size, each timed alone (median of 5 after a warm-up). */
export function profilePieces(
  w: ReturnType<typeof loadHeartWorkload>,
  spec: ModelSpecMsg,
  coordinatorId: ReturnType<typeof generateIdentity>,
  params: number,
) {
  const model = createModel(spec.kind, w.space, spec.raw, spec.seed);
  const weights = model.params.getFlat();
  const prior = derivePrior(countPatternLabels(w.data.patterns, w.data.y), 5, 1);
  const site = generateIdentity();
  // The largest site's held-out split, as the busiest site evaluates it every round.
  const cleveland = w.tables[0]!.table;
  const testIdx = Array.from({ length: Math.round(cleveland.values.length * 0.3) }, (_, i) => i);
  const test = encodeTable(selectRows(cleveland, testIdx), w.space);
  const taskMeta = {
    federation: FEDERATION,
    round: 1,
    kind: 'fit',
    weights: weights.length,
    config: { rounds: 6 },
    featureSpace: w.space,
    prior,
    model: spec,
  };
  const resultMeta = { round: 1, kind: 'fit', numExamples: 212, metrics: { loss: 0.5, steps: 7, trainMs: 300 }, evaluation: { n: 91, auroc: 0.8, accuracy: 0.8, balancedAccuracy: 0.8, ece: 0.05 }, weights: weights.length };
  const taskPayload = encodeFrame(taskMeta, weights);
  const resultPayload = encodeFrame(resultMeta, weights);
  const sealPlain = () => new PayloadSealer({ federation: FEDERATION, round: 1, site: 's', kind: 'task-fit' }, taskPayload, { signingSecretKey: coordinatorId.signing.secretKey });
  const sealEnc = () =>
    new PayloadSealer({ federation: FEDERATION, round: 1, site: 's', kind: 'fit-result' }, resultPayload, {
      signingSecretKey: site.signing.secretKey,
      recipientBoxPublicKey: coordinatorId.box.publicKey,
    });
  const plain = sealPlain();
  const plainChunks = [...plain.chunks()];
  const enc = sealEnc();
  const encChunks = [...enc.chunks()];
  const encHeader = verifyHeader(enc.header, enc.signature, () => site.signing.publicKey, { maxPayloadBytes: 2 ** 31, maxChunkSize: DEFAULT_CHUNK_SIZE });
  const openEnc = () => {
    const o = new PayloadOpener(encHeader, enc.header, coordinatorId.box.secretKey, { requireEncrypted: true });
    encChunks.forEach((c, i) => o.open(i, c));
    o.finish();
  };
  const readFrame = (chunks: Uint8Array[]) => {
    const parts: { offset: number; values: Float32Array }[] = [];
    const r = new FrameReader(() => {}, (offset, values) => parts.push({ offset, values }));
    for (const c of chunks) r.push(c);
    const out = new Float32Array(r.finish());
    for (const p of parts) out.set(p.values, p.offset);
    return out;
  };
  const pieces: ProfilePiece[] = [];
  /** `perRound`: how often a round does it on that side (the coordinator's thread serves all 4 sites). */
  const note = (where: ProfilePiece['where'], perRound: number, piece: string, fn: () => void) => {
    const ms = timeIt(fn);
    pieces.push({ piece, where, perRound, ms });
    progress(`profile ${where}: ${piece}: ${ms.toFixed(2)} ms x ${perRound}`);
  };
  const S = HEART_SITES.length;
  note('coordinator', 1, 'encodeFrame(task meta + weights)', () => encodeFrame(taskMeta, weights));
  note('coordinator', 1, 'JSON.stringify(task meta)', () => JSON.stringify(taskMeta));
  note('coordinator', S, 'seal plain task (SHA-256 + Ed25519), per site', () => sealPlain());
  note('site', 1, 'verify + open plain task (SHA-256)', () => {
    const h = verifyHeader(plain.header, plain.signature, () => coordinatorId.signing.publicKey, { maxPayloadBytes: 2 ** 31, maxChunkSize: DEFAULT_CHUNK_SIZE });
    const o = new PayloadOpener(h, plain.header);
    plainChunks.forEach((c, i) => o.open(i, c));
    o.finish();
  });
  note('site', 1, 'FrameReader + assemble weights (copies)', () => readFrame(plainChunks));
  note('site', 1, 'tfjs setFlat', () => model.params.setFlat(weights));
  note('site', 1, `evaluate the global model (predictAll + metrics, ${test.n} rows)`, () =>
    classificationReport(test.y, predictAll(model, test, { round: 1, prior, epoch: 0, globalEpoch: 0 })),
  );
  note('site', 1, 'tfjs getFlat', () => model.params.getFlat());
  note('site', 1, 'encodeFrame(result meta + weights)', () => encodeFrame(resultMeta, weights));
  note('site', 1, 'seal result: constructor (HMAC-SHA256 + Ed25519)', () => sealEnc());
  note('site', 1, 'seal result: encrypt all chunks (ChaCha20-Poly1305)', () => [...enc.chunks()]);
  note('coordinator', 2 * S, 'open encrypted result (decrypt + HMAC); twice per result (verify pass, replay pass)', () => openEnc());
  note('coordinator', S, 'FileSpool append + read back', () => {
    const s = new FileSpool('profile');
    for (const c of encChunks) s.append(c);
    for (const _ of s.chunks());
    s.dispose();
  });
  note('coordinator', 2 * S, 'FrameReader on the result (verify and replay passes)', () => readFrame(plainChunks));
  note('coordinator', S, 'FedAvg add one site (1 MiB chunks)', () => {
    const agg = createStrategy('fedavg').beginAggregation(1, weights);
    const step = DEFAULT_CHUNK_SIZE / 4;
    for (let o = 0; o < weights.length; o += step) agg.add('s', 100, o, weights.subarray(o, o + step));
  });
  FileSpool.cleanup();
  model.dispose();
  return { params, taskPayloadBytes: taskPayload.length, resultPayloadBytes: resultPayload.length, taskMetaJsonBytes: JSON.stringify(taskMeta).length, tfjsBackend: tf.getBackend(), pieces };
}

