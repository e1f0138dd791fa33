/**
 * Who takes part in one secure round, fixed before it starts and computed alike by the
 * coordinator and every site from the same inputs: the invited sites with their
 * long-term signing keys, the neighbour graph, and the Shamir threshold.
 *
 * The graph is complete (Bonawitz et al. 2017) unless `neighbours` = k is set: then the
 * SecAgg+ graph of Bell et al. (2020), a ring of the sites in an order drawn from the
 * session (so the coordinator cannot pick neighbours), each site joined to k/2 on each
 * side. Masks and shares only go along edges, so a site's cost grows with k, not n.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../errors.ts';
import { thresholdFor, type SecAggConfig } from './config.ts';

/** shamir-secret-sharing's limit: share x-coordinates are one byte. */
const MAX_SHARES = 255;

export class RoundPlan {
  /** Invited sites, sorted (the order decides mask signs: + towards a larger id). */
  readonly sites: readonly string[];
  /** Shares needed to rebuild any one site's secrets (same for every neighbourhood). */
  readonly threshold: number;
  private readonly adjacency = new Map<string, readonly string[]>();

  constructor(
    readonly session: string,
    private readonly signingKeys: ReadonlyMap<string, Uint8Array>,
    readonly config: SecAggConfig,
  ) {
    this.sites = [...signingKeys.keys()].sort();
    const n = this.sites.length;
    if (n < config.minSites) throw new InputError(`secure aggregation needs at least ${config.minSites} invited sites, got ${n}`);
    const k = config.neighbours;
    const complete = k === undefined || k >= n - 1;
    const m = complete ? n : k + 1;
    if (m > MAX_SHARES) throw new InputError(`secure aggregation over ${n} sites needs secureAggregation.neighbours (SecAgg+): at most ${MAX_SHARES} shares per secret`);
    this.threshold = thresholdFor(config, m);
    if (complete) {
      for (const u of this.sites) this.adjacency.set(u, this.sites.filter((v) => v !== u));
      return;
    }
    const ring = [...this.sites].sort((a, b) => Buffer.compare(rank(session, a), rank(session, b)));
    ring.forEach((u, i) => {
      const near: string[] = [];
      for (let d = 1; d <= k / 2; d++) near.push(ring[(i + d) % n]!, ring[(i - d + n) % n]!);
      this.adjacency.set(u, near.sort());
    });
  }

  has(site: string): boolean {
    return this.adjacency.has(site);
  }

  /** The sites `site` shares masks and secrets with (not itself). */
  neighbours(site: string): readonly string[] {
    const a = this.adjacency.get(site);
    if (!a) throw new InputError(`${site} is not invited to secure round ${this.session}`);
    return a;
  }

  isNeighbour(u: string, v: string): boolean {
    return this.adjacency.get(u)?.includes(v) ?? false;
  }

  signingKey(site: string): Uint8Array | undefined {
    return this.signingKeys.get(site);
  }
}

function rank(session: string, site: string): Buffer {
  return createHash('sha256').update(JSON.stringify(['ring', session, site])).digest();
}
