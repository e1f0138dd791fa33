/**
 * All four rounds in one process, the coordinator and every site calling each other
 * directly: what tests, benchmarks and `simulate` use; a transport replaces the calls
 * with messages, and nothing else changes. Sites drop out at chosen points.
 */
import { performance } from 'node:perf_hooks';
import type { SigningKeyPair } from '../crypto/keys.ts';
import { SecAggCoordinator, type SecAggResult } from './coordinator.ts';
import { payloadBytes } from './messages.ts';
import type { RoundPlan } from './round-plan.ts';
import { SecAggSite } from './site.ts';

/** Where a site stops answering: before it advertises keys, after advertising, after sharing keys, after sending its masked input. */
export type DropPoint = 'advertise' | 'share' | 'mask' | 'unmask';

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
  /** Per site: payload bytes it sent over the four rounds. */
  bytesSent: Record<string, number>;
}

export async function runInMemoryRound(plan: RoundPlan, sites: Map<string, InMemorySite>, vectorLength: number): Promise<InMemoryRound> {
  const t0 = performance.now();
  const coordinator = new SecAggCoordinator(plan, vectorLength);
  const agents = new Map([...sites].map(([id, s]) => [id, new SecAggSite(id, s.signing.secretKey, plan)]));
  const bytesSent: Record<string, number> = Object.fromEntries([...sites.keys()].map((id) => [id, 0]));
  const maskMs: Record<string, number> = {};
  const phaseMs = {} as Record<DropPoint, number>;
  const active = (phase: DropPoint) => [...agents].filter(([id]) => !dropsBy(sites.get(id)!.dropAt, phase));
  let mark = performance.now();
  const lap = (phase: DropPoint) => {
    const now = performance.now();
    phaseMs[phase] = now - mark;
    mark = now;
  };

  for (const [id, a] of active('advertise')) {
    const m = a.advertise();
    bytesSent[id]! += payloadBytes(m);
    coordinator.receiveAdvertisement(m);
  }
  const adverts = coordinator.endAdvertise();
  lap('advertise');

  for (const [id, a] of active('share')) {
    const m = await a.shareKeys(adverts);
    bytesSent[id]! += payloadBytes(m);
    coordinator.receiveShares(m);
  }
  const routed = coordinator.endShareKeys();
  lap('share');

  for (const [id, a] of active('mask')) {
    const s = performance.now();
    const m = a.maskInput(routed.get(id) ?? [], sites.get(id)!.input);
    maskMs[id] = performance.now() - s;
    bytesSent[id]! += payloadBytes(m);
    coordinator.receiveMaskedInput(m);
  }
  const request = coordinator.endMaskedInput();
  lap('mask');

  for (const [id, a] of active('unmask')) {
    const m = await a.unmask(request);
    bytesSent[id]! += payloadBytes(m);
    coordinator.receiveUnmaskResponse(m);
  }
  const result = await coordinator.finish();
  lap('unmask');
  return { result, phaseMs, totalMs: performance.now() - t0, maskMs, bytesSent };
}

const ORDER: DropPoint[] = ['advertise', 'share', 'mask', 'unmask'];

function dropsBy(dropAt: DropPoint | undefined, phase: DropPoint): boolean {
  return dropAt !== undefined && ORDER.indexOf(dropAt) <= ORDER.indexOf(phase);
}
