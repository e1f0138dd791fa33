/**
 * The Strategy seam (after Flower's): the round loop in coordinator/round-loop.ts is
 * written once and calls these hooks. Model weights are one flat Float32Array in the
 * model's canonical parameter order (shared/model/params.ts).
 *
 * Aggregation streams: the loop never holds every site's update at once. For each
 * verified update it calls `Aggregation.add` chunk by chunk (offset + values), then
 * `finish`. Mean-type strategies keep one running sum (memory ~ model size, not
 * sites x model size); robust ones (median, trimmed mean) must see every value per
 * coordinate and document that they buffer.
 */
import type { StrategyOptions } from './options.ts';

/** Scalars sent to the sites with a round's instructions (learning rate, epochs, proximal mu...). */
export type RoundConfig = Record<string, number | string | boolean>;

export interface SiteResult {
  site: string;
  numExamples: number;
  metrics: Record<string, number>;
  /** SCAFFOLD: the site's control variate (checked by the round loop: one finite number per parameter). */
  controlVariate?: readonly number[];
}

export interface SiteFailure {
  site: string;
  reason: string;
}

/** The federation's acceptance settings (coordinator config `quorum`). */
export interface AcceptancePolicy {
  minSitesToAccept: number;
}

/** A strategy's verdict on a round; a refusal says why (it goes into the run's problems). */
export type Acceptance = { accepted: true } | { accepted: false; reason: string };

/** One round's aggregation in progress. */
export interface Aggregation {
  /** Adds `values` of site `site`'s update, starting at flat index `offset`. Chunks of one site arrive in order. */
  add(site: string, numExamples: number, offset: number, values: Float32Array): void;
  /**
   * Called once after every accepted update was added. Returns the new global weights,
   * or null to keep the previous global model (e.g. no results).
   */
  finish(results: SiteResult[], failures: SiteFailure[]): Float32Array | null;
}

export interface Strategy {
  readonly name: string;
  /** The options the user set (createStrategy), for the run's log and results; absent when none. */
  readonly options?: Readonly<StrategyOptions>;
  /**
   * Whether fit round `round` counts, given every site's outcome (Flower's aggregate_fit
   * receives results and failures alike). Called before `Aggregation.finish`; a round not
   * accepted keeps the previous global model and is reported with the reason. FedAvg and
   * its subclasses apply the federation's quorum (acceptance.ts `acceptByQuorum`).
   */
  acceptFit(round: number, results: SiteResult[], failures: SiteFailure[], policy: AcceptancePolicy): Acceptance;
  /** Site-side settings this strategy needs each round (e.g. FedProx's proximalMu). Merged over the base config. */
  configureFit(round: number, base: RoundConfig): RoundConfig;
  /** Task fields beyond the config a fit round carries (SCAFFOLD's control variate); none by default. */
  fitTask?(round: number): { controlVariate?: number[] };
  /** Bytes a site's fit result meta needs for this strategy at this model size (checked against limits.resultMetaBytes before training). */
  resultMetaBytes?(modelSize: number): number;
  /** A trust assumption the operator must know, logged as a warning when the federation starts (SCAFFOLD's). */
  readonly caution?: string;
  /** What the last aggregation did that an operator should see (e.g. a clipped control variate); each call empties it. */
  takeWarnings?(): { message: string; fields: Record<string, unknown> }[];
  /** Starts aggregating round `round`, whose global weights before the round are `global` (do not mutate). */
  beginAggregation(round: number, global: Float32Array): Aggregation;
  /** Combines per-site evaluation metrics into federation-level ones (example-weighted means by default). */
  aggregateEvaluate(round: number, results: SiteResult[]): Record<string, number>;
  /** State carried across rounds (a server optimizer's moments), saved with each committed round; none when stateless. */
  saveState?(): Uint8Array | undefined;
  /** Puts back what saveState returned, when a restarted coordinator resumes. */
  restoreState?(state: Uint8Array): void;
}

/** Options shared by every strategy, declared and validated in options.ts. */
export type { StrategyOptions } from './options.ts';
