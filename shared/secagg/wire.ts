/**
 * Secure aggregation on the federation's task/result exchange: what a task and a result
 * carry in their JSON meta for each phase (byte arrays as base64), the phase numbers
 * (the `stage` of a 'secagg' task, so each phase has its own envelope kind per round
 * for the replay guard), and the fit vector's layout that both sides build alike.
 */
import { z } from 'zod';
import { InputError } from '../errors.ts';
import { secAggConfigSchema, type SecAggConfig } from './config.ts';
import { debiasPartSpecs, secureDebiasSchema, type SecureDebias } from './debias-parts.ts';
import { EVALUATION_METRICS } from './eval-parts.ts';
import { VectorLayout } from './layout.ts';
import type { EncryptedShare, KeyAdvertisement, SurvivorSignature, UnmaskRequest, UnmaskResponse } from './messages.ts';

/** What a run's results file and /api/status say about secure aggregation (additive: absent when it is off). */
export interface SecureAggregationReport {
  enabled: true;
  /** Shamir threshold t of the last secure round's neighbourhood: fewer sites than t abort a round. */
  threshold?: number;
  minSites: number;
  clipBound: number;
  maxExamples: number;
  /** SecAgg+ degree, when set. */
  neighbours?: number;
  /** Fixed-point fraction bits of the summed model update, last round. */
  fractionalBits?: number;
}

/** The 'secagg' task stages: each phase after AdvertiseKeys (which rides on the fit result). */
export const SECAGG_PHASE = { share: 1, mask: 2, confirm: 3, unmask: 4 } as const;
export type SecAggPhase = keyof typeof SECAGG_PHASE;

/**
 * A 'secagg' task's stage: the phase plus ten times the sum's purpose (0 a fit round, the
 * statistics stage, 9 the final evaluation), so every sum has its own envelope kinds.
 */
export const secaggStage = (purpose: number, phase: number) => purpose * 10 + phase;
export const phaseOf = (stage: number | undefined) => (stage ?? 0) % 10;
export const purposeOf = (stage: number | undefined) => Math.floor((stage ?? 0) / 10);
export const SECAGG_PHASES = Object.keys(SECAGG_PHASE) as SecAggPhase[];

/**
 * Example-weighted training and evaluation figures summed alongside the model: each metric
 * goes in as (weight, weight * value), so the coordinator learns only federation means.
 * A site whose value is not finite adds (0, 0) for it. Each has the bound of its values
 * (larger ones are clipped): the ring's 32 bits hold sites x maxExamples x bound, so a
 * tight bound buys fraction bits. Step counts are left out: n x steps overflows the ring.
 */
export const SECURE_METRICS: readonly { name: string; bound: number }[] = [
  { name: 'train.loss', bound: 100 },
  // The held-out metrics and their bounds are the final evaluation's (eval-parts.ts).
  ...EVALUATION_METRICS.map((m) => ({ name: `eval.${m.name}`, bound: m.bound })),
];

/**
 * The fit vector: sum n_u w_u (weights clipped to clipBound, n capped at maxExamples),
 * sum n_u, then per metric sum weight and sum weight * value; a debiased round adds its
 * health sums and pattern counts (debias-parts.ts). The real parts' bound is what one site
 * can contribute, so the ring holds the sum of `maxSites` sites.
 */
export function secureFitLayout(modelSize: number, maxSites: number, c: SecAggConfig, debias?: SecureDebias): VectorLayout {
  return new VectorLayout(
    [
      { name: 'weightedUpdate', length: modelSize, kind: 'real', bound: c.clipBound * c.maxExamples },
      { name: 'numExamples', length: 1, kind: 'count', bound: c.maxExamples },
      { name: 'metricWeights', length: SECURE_METRICS.length, kind: 'count', bound: c.maxExamples },
      ...SECURE_METRICS.map((m) => ({ name: m.name, length: 1, kind: 'real' as const, bound: m.bound * c.maxExamples })),
      ...(debias ? debiasPartSpecs(debias, c) : []),
    ],
    maxSites,
    c.fractionalBits,
  );
}

const b64 = z.string().max(1 << 16);
const site = z.string().min(1).max(256);

/** What a secure fit task adds to its meta: the round's session, settings and the invited sites' enrolled signing keys. */
export const secureFitTaskSchema = z
  .object({
    session: z.string().min(1),
    config: secAggConfigSchema,
    roster: z.record(site, b64),
    /** A debiased model's round: what its health and pattern-count parts list. */
    debias: secureDebiasSchema.optional(),
    /** The final evaluation: the test-only sites (their calibration sums are kept apart from the training sites'). */
    testSites: z.array(site).optional(),
  })
  .strict();
export type SecureFitTask = z.output<typeof secureFitTaskSchema>;

/** A 'secagg' task's meta field, by phase (the stage says which). */
export const secAggTaskSchema = z
  .object({
    session: z.string().min(1),
    adverts: z.array(z.unknown()).optional(),
    shares: z.array(z.unknown()).optional(),
    survivors: z.array(site).optional(),
    request: z.unknown().optional(),
  })
  .strict();
export type SecAggTask = z.output<typeof secAggTaskSchema>;

export const toB64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

function bytes(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string') throw new InputError(`${what} must be base64 text`);
  return new Uint8Array(Buffer.from(v, 'base64'));
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InputError(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new InputError(`${what} must be a string`);
  return v;
}

function list(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new InputError(`${what} must be a list`);
  return v;
}

export const advertToWire = (a: KeyAdvertisement) => ({ site: a.site, encryptionKey: toB64(a.encryptionKey), maskKey: toB64(a.maskKey), signature: toB64(a.signature) });
export function advertFromWire(v: unknown): KeyAdvertisement {
  const o = obj(v, 'key advertisement');
  return { site: str(o.site, 'advertisement site'), encryptionKey: bytes(o.encryptionKey, 'encryptionKey'), maskKey: bytes(o.maskKey, 'maskKey'), signature: bytes(o.signature, 'signature') };
}

export const shareToWire = (e: EncryptedShare) => ({ from: e.from, to: e.to, nonce: toB64(e.nonce), ciphertext: toB64(e.ciphertext) });
export function shareFromWire(v: unknown): EncryptedShare {
  const o = obj(v, 'encrypted share');
  return { from: str(o.from, 'share from'), to: str(o.to, 'share to'), nonce: bytes(o.nonce, 'share nonce'), ciphertext: bytes(o.ciphertext, 'share ciphertext') };
}

export const signatureToWire = (s: SurvivorSignature) => ({ site: s.site, signature: toB64(s.signature) });
export function signatureFromWire(v: unknown): SurvivorSignature {
  const o = obj(v, 'survivor signature');
  return { site: str(o.site, 'signature site'), signature: bytes(o.signature, 'survivor signature') };
}

export const requestToWire = (r: UnmaskRequest) => ({ survivors: r.survivors, dropped: r.dropped, signatures: r.signatures.map(signatureToWire) });
export function requestFromWire(v: unknown): UnmaskRequest {
  const o = obj(v, 'unmasking request');
  const names = (x: unknown, what: string) => list(x, what).map((s) => str(s, what));
  return { survivors: names(o.survivors, 'survivors'), dropped: names(o.dropped, 'dropped'), signatures: list(o.signatures, 'signatures').map(signatureFromWire) };
}

export const responseToWire = (r: UnmaskResponse) => ({
  site: r.site,
  selfMaskShares: r.selfMaskShares.map((s) => ({ of: s.of, share: toB64(s.share) })),
  maskKeyShares: r.maskKeyShares.map((s) => ({ of: s.of, share: toB64(s.share) })),
});
export function responseFromWire(v: unknown): UnmaskResponse {
  const o = obj(v, 'unmasking answer');
  const shares = (x: unknown, what: string) =>
    list(x, what).map((s) => {
      const r = obj(s, what);
      return { of: str(r.of, `${what} of`), share: bytes(r.share, what) };
    });
  return { site: str(o.site, 'answer site'), selfMaskShares: shares(o.selfMaskShares, 'selfMaskShares'), maskKeyShares: shares(o.maskKeyShares, 'maskKeyShares') };
}

/** A Uint32Array's bytes as the float32 frame carries them (bit patterns kept: never read as numbers on the way). */
export function ringAsFloat32(v: Uint32Array): Float32Array {
  return new Float32Array(v.buffer, v.byteOffset, v.length);
}
