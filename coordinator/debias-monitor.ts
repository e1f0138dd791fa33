import type { FeatureSpace } from '../shared/data/feature-space.ts';
import { validateHealthSums, type HealthFigures } from '../shared/data/debias-health.ts';
import type { OutcomeBalance } from '../shared/data/outcome-balance.ts';
import type { PatternLabelCounts, PatternPrior } from '../shared/data/patterns.ts';
import type { SecureDebias } from '../shared/secagg/debias-parts.ts';
import type { Logger } from '../shared/logger.ts';
import type { BalanceReport, DebiasHealth, DebiasingReport } from '../shared/federation/debiasing-report.ts';
import type { ModelSpecMsg, ResultMeta } from '../shared/protocol/messages.ts';
import { derivePrior, sumPatternCounts } from './priors.ts';

/** Stage 2 as received, unchecked: a site's raw class moments and the same centred on its own class means, or their secure sums. */
export interface MomentsEntry {
  pooled: unknown;
  withinSite: unknown;
  /** A secure sum over sites: the centred view is checked as a sum (a site's own checks need its own raw moments). */
  summed?: boolean;
}

/** The debiased model's steps: decision (stats stage 2), outcome weights (stage 3), health per round. */
export interface DebiasHooks {
  /** Returns the model spec to train with, the readings to balance against (empty: no stage 3) and a report. */
  decide(spec: ModelSpecMsg, space: FeatureSpace, moments: MomentsEntry[], patternCounts: PatternLabelCounts): { spec: ModelSpecMsg; balanceFeatures: string[]; report: DebiasingReport };
  /** `published`: the patterns the prior balances (both label cells at priors.minCellCount); cells of any other are left out of the fit, and its rows weigh 1 (outcomeWeights). */
  fitBalance(spec: ModelSpecMsg, space: FeatureSpace, features: string[], counts: unknown[], published: readonly string[]): { balance: OutcomeBalance; report: BalanceReport };
  /** `from` names each entry of `sums` in a refusal (a site, or the secure sum); by its place when absent. */
  health(spec: ModelSpecMsg, sums: unknown[], from?: readonly string[]): HealthFigures & { tolerance: number };
  /** The flagged readings the health sums list, in their order. */
  readings(spec: ModelSpecMsg): string[];
}

export type { DebiasHealth } from '../shared/federation/debiasing-report.ts';

/**
 * Watches a debiased federation round by round: the health figures from the sites'
 * sums, the prior's drift as sites come and go, and the guard that tempers the
 * weights when a flagged reading reverses.
 */
export class DebiasMonitor {
  /** The tempering factor the next round trains with: halves each time a flagged reading's weighted association reverses. */
  temper = 1;
  readonly health: DebiasHealth[] = [];
  private lastPrior: PatternPrior;

  constructor(
    private readonly hooks: DebiasHooks,
    private readonly spec: ModelSpecMsg,
    private readonly published: PatternPrior,
    private readonly minCellCount: number,
    private readonly log: Logger,
  ) {
    this.lastPrior = published;
  }

  /** What the next round depends on, for the durable coordinator: the tempering, the last prior, the figures so far. */
  save(): Record<string, unknown> {
    return { temper: this.temper, lastPrior: this.lastPrior, health: this.health };
  }
  restore(saved: unknown): void {
    const s = saved as { temper: number; lastPrior: PatternPrior; health: DebiasHealth[] };
    this.temper = s.temper;
    this.lastPrior = s.lastPrior;
    this.health.splice(0, this.health.length, ...s.health);
  }

  /** What a secure round sums for the monitor: the health sums' readings and the published prior's patterns (the counts' domain, as with DP). */
  secureParts(): SecureDebias {
    return { readings: this.hooks.readings(this.spec), patterns: this.published.patterns.map((p) => p.pattern) };
  }

  /**
   * A plain fit result's health sums, checked as it arrives: a bad one (a non-finite sum, the
   * wrong readings) refuses that site's result for the round (ProtocolError). Unchecked, a sum
   * of 1e999 was accepted and ended the whole run when the round's figures were computed.
   */
  checkHealth(site: string, meta: Pick<ResultMeta, 'health' | 'numExamples'>): void {
    // A site with no training rows has no sums to send (site-agent's runner.health).
    if (meta.health === undefined && meta.numExamples === 0) return;
    validateHealthSums(meta.health, this.hooks.readings(this.spec), `fit from site "${site}": health`, meta.numExamples);
  }

  /**
   * The round's figures from its answers (each site's, or a secure round's one sum), `from`
   * naming each (a site's name); the run says so when it tempers.
   */
  observe(round: number, results: readonly Pick<ResultMeta, 'patternCounts' | 'health'>[], from?: readonly string[]): DebiasHealth {
    const prior = derivePrior(sumPatternCounts(results.map((m) => m.patternCounts ?? {})), this.minCellCount, round);
    const priorDrift = priorDistance(this.lastPrior, prior);
    this.lastPrior = prior;
    // A site without training rows sends no health sums (checkHealth): it adds nothing to them.
    const sent = results.flatMap((m, i) => (m.health === undefined ? [] : [{ sums: m.health, from: from?.[i] ?? `site ${i + 1}` }]));
    const { tolerance, ...figures } = this.hooks.health(this.spec, sent.map((x) => x.sums), sent.map((x) => x.from));
    const t = temperAfter(figures.weightedAssociation, tolerance, this.temper);
    const h: DebiasHealth = { round, ...figures, priorDrift, tempered: t.tempered, temper: this.temper };
    if (h.tempered) {
      this.temper = t.next;
      this.log.warn('debiasing weights tempered: a flagged reading is reversed in the weighted rows', {
        round,
        reversed: Object.fromEntries(t.reversed),
        tolerance,
        temperFromNextRound: this.temper,
      });
    } else this.log.info('debiasing health', { ...h });
    this.health.push(h);
    return h;
  }
}

/**
 * The guard: any flagged reading whose weighted association fell below the tolerance
 * (the weights reversed it) halves the weights' strength for the rounds that follow.
 */
export function temperAfter(association: Record<string, number>, tolerance: number, temper: number): { tempered: boolean; next: number; reversed: [string, number][] } {
  const reversed = Object.entries(association).filter(([, a]) => a < tolerance);
  return { tempered: reversed.length > 0, next: reversed.length > 0 ? temper / 2 : temper, reversed };
}

/** Total variation distance between two published priors (patterns missing from one count as 0 there). */
function priorDistance(a: PatternPrior, b: PatternPrior): number {
  const p = new Map(a.patterns.map((e) => [e.pattern, e.p]));
  const q = new Map(b.patterns.map((e) => [e.pattern, e.p]));
  let d = 0;
  for (const k of new Set([...p.keys(), ...q.keys()])) d += Math.abs((p.get(k) ?? 0) - (q.get(k) ?? 0));
  return d / 2;
}
