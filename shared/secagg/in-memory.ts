/**
 * All rounds in one process, the coordinator and every site calling each other
 * directly: what tests, benchmarks and `simulate` use; a transport replaces the calls
 * with messages, and nothing else changes. Sites drop out at chosen points.
 */
import { performance } from 'node:perf_hooks';
import type { SigningKeyPair } from '../crypto/keys.ts';
import { SecAggCoordinator, type SecAggResult } from './coordinator.ts';
import { payloadBytes } from './messages.ts';
import type { RoundPlan } from './round-plan.ts';
import { SecAggSite } from './site.ts';

/** The first round a site misses: advertising keys, sharing keys, sending its masked input, signing the survivor list, unmasking. */
export type DropPoint = 'advertise' | 'share' | 'mask' | 'confirm' | 'unmask';

export interface InMemorySite {
  signing: SigningKeyPair;
  /** The layout-encoded vector. */
  input: Uint32Array;
  /** The first round this site misses, if any. */
  dropAt?: DropPoint;
}

export interface InMemoryRound {
  result: SecAggResult;
  /** Wall time of each round (all sites and the coordinator, one after the other) and in all, ms. */
  phaseMs: Record<DropPoint, number>;
  totalMs: number;
  /** Per site: time spent in its maskInput (opening shares, expanding and adding the masks), ms. */
  maskMs: Record<string, number>;
  /** Per site: time in all of its own calls (key generation, signatures, shares, masking), ms: its cost when sites run in parallel. */
  siteMs: Record<string, number>;
  /** Time in the coordinator's calls (checking, summing, unmasking), ms. */
  coordinatorMs: number;
  /** Per site: payload bytes it sent over all rounds. */
  bytesSent: Record<string, number>;
}

export async function runInMemoryRound(plan: RoundPlan, sites: Map<string, InMemorySite>, vectorLength: number): Promise<InMemoryRound> {
  const t0 = performance.now();
  const coordinator = new SecAggCoordinator(plan, vectorLength);
  const agents = new Map([...sites].map(([id, s]) => [id, new SecAggSite(id, s.signing.secretKey, plan)]));
  const bytesSent: Record<string, number> = Object.fromEntries([...sites.keys()].map((id) => [id, 0]));
  const maskMs: Record<string, number> = {};
  const siteMs: Record<string, number> = Object.fromEntries([...sites.keys()].map((id) => [id, 0]));
  let coordinatorMs = 0;
  const timed = async <T>(who: string | null, f: () => T | Promise<T>): Promise<T> => {
    const s = performance.now();
    const out = await f();
    if (who === null) coordinatorMs += performance.now() - s;
    else siteMs[who]! += performance.now() - s;
    return out;
  };
  const phaseMs = {} as Record<DropPoint, number>;
  const active = (phase: DropPoint) => [...agents].filter(([id]) => !dropsBy(sites.get(id)!.dropAt, phase));
  let mark = performance.now();
  const lap = (phase: DropPoint) => {
    const now = performance.now();
    phaseMs[phase] = now - mark;
    mark = now;
  };

  for (const [id, a] of active('advertise')) {
    const m = await timed(id, () => a.advertise());
    bytesSent[id]! += payloadBytes(m);
    await timed(null, () => coordinator.receiveAdvertisement(m));
  }
  const adverts = await timed(null, () => coordinator.endAdvertise());
  lap('advertise');

  for (const [id, a] of active('share')) {
    const m = await timed(id, () => a.shareKeys(adverts));
    bytesSent[id]! += payloadBytes(m);
    await timed(null, () => coordinator.receiveShares(m));
  }
  const routed = await timed(null, () => coordinator.endShareKeys());
  lap('share');

  for (const [id, a] of active('mask')) {
    const s = performance.now();
    const m = a.maskInput(routed.get(id) ?? [], sites.get(id)!.input);
    maskMs[id] = performance.now() - s;
    siteMs[id]! += maskMs[id];
    bytesSent[id]! += payloadBytes(m);
    await timed(null, () => coordinator.receiveMaskedInput(m));
  }
  const list = await timed(null, () => coordinator.endMaskedInput());
  lap('mask');

  for (const [id, a] of active('confirm')) {
    const m = await timed(id, () => a.confirmSurvivors(list));
    bytesSent[id]! += payloadBytes(m);
    await timed(null, () => coordinator.receiveSurvivorSignature(m));
  }
  const request = await timed(null, () => coordinator.endConsistencyCheck());
  lap('confirm');

  for (const [id, a] of active('unmask')) {
    const m = await timed(id, () => a.unmask(request));
    bytesSent[id]! += payloadBytes(m);
    await timed(null, () => coordinator.receiveUnmaskResponse(m));
  }
  const result = await timed(null, () => coordinator.finish());
  lap('unmask');
  return { result, phaseMs, totalMs: performance.now() - t0, maskMs, siteMs, coordinatorMs, bytesSent };
}

const ORDER: DropPoint[] = ['advertise', 'share', 'mask', 'confirm', 'unmask'];

function dropsBy(dropAt: DropPoint | undefined, phase: DropPoint): boolean {
  return dropAt !== undefined && ORDER.indexOf(dropAt) <= ORDER.indexOf(phase);
}
