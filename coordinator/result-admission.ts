/**
 * The run's checks of each result a round expects, as it arrives, and what it keeps of it:
 * a bad result fails that site for the round (ProtocolError), where a check later would
 * end the run. It owns what only these checks read per round: the model's size, whether
 * the fit task asked for a control variate, the debiasing monitor's health check, and a
 * plain fit round's held updates (clipped in when the round closes, update-clip.ts).
 */
import type { Logger } from '../shared/logger.ts';
import type { ResultMeta } from '../shared/protocol/messages.ts';
import type { RoundCollector } from './collector.ts';
import type { DebiasMonitor } from './debias-monitor.ts';
import type { SiteDirectory } from './directory.ts';
import type { ExchangeHooks } from './round-exchange.ts';
import { checkFitResult, checkResultCounts, maxResultPayload, type ResultBounds } from './result-bounds.ts';
import { checkReportedFigures } from './result-figures.ts';
import type { RunSetup } from './run-setup.ts';
import type { SecureAggregator } from './secure-round.ts';
import type { Aggregation, RoundConfig } from './strategy/strategy.ts';
import type { Schema } from '../shared/data/schema.ts';
import { HeldUpdates, type Replay } from './update-clip.ts';

export interface AdmissionOptions {
  schema: Schema;
  directory: SiteDirectory;
  secure?: SecureAggregator;
  log: Logger;
}

export class ResultAdmission implements Pick<ExchangeHooks, 'admit' | 'maxPayloadBytes'> {
  private modelSize = 0;
  private monitor: DebiasMonitor | undefined;
  /** Whether this fit round's task asked the sites for a control variate (SCAFFOLD). */
  private asksControl = false;
  /** This fit round's updates, clipped in when it closes. */
  private held: HeldUpdates | undefined;

  constructor(
    private readonly o: AdmissionOptions,
    private readonly bounds: ResultBounds,
    private readonly agreed: RunSetup,
  ) {}

  /** The model the run trains (its size bounds every update) and its debiasing monitor, once the setup is agreed. */
  trains(modelSize: number, monitor: DebiasMonitor | undefined): void {
    this.modelSize = modelSize;
    this.monitor = monitor;
  }

  maxPayloadBytes(c: RoundCollector): number {
    return this.o.secure?.maxResultPayload(c.kind, c.stage, this.bounds.resultMetaBytes) ?? maxResultPayload(c.kind, this.modelSize, this.bounds.resultMetaBytes);
  }

  /** A fit round opens with its task's `config` from `global`: a plain round holds its updates until it closes. */
  openFit(global: Float32Array, config: RoundConfig): void {
    this.asksControl = config.controlVariates === true;
    this.held = this.o.secure ? undefined : new HeldUpdates(global, this.bounds);
  }

  /** The round's held updates (plain rounds), clipped to the round's bound and added to the aggregation, for `answered` sites. */
  closeFit(r: number, aggregation: Aggregation, answered: string[]): void {
    for (const x of this.held?.applyTo(aggregation, answered) ?? []) this.o.log.warn('update clipped', { round: r, site: x.site, norm: x.norm, bound: x.bound });
    this.held = undefined;
  }

  /** Lets go of updates still held (a round aborted or failed). */
  release(): void {
    this.held?.release();
    this.held = undefined;
  }

  admit(site: string, c: RoundCollector, meta: ResultMeta, replay: Replay, release: () => void): void {
    const o = this.o;
    // Everything a site reports is checked before any of it is kept.
    this.checkFigures(site, c, meta);
    // A secure result carries no counts of its own: they are bounded inside the sum (the layout's bounds).
    const secure = o.secure?.owns(c.kind, c.stage) === true;
    if (!secure) checkResultCounts(meta, { site, kind: c.kind, stage: c.stage, ...this.agreed.rowsOf(site), schema: o.schema }, this.bounds);
    if (c.kind === 'fit' && !o.secure) {
      checkFitResult(meta, this.modelSize, this.asksControl);
      this.monitor?.checkHealth(site, meta);
    }
    if (secure) o.secure!.deliver(site, c.kind, c.stage, meta, replay);
    // A secure statistics round tells no site's row count: its later counts are bounded inside the sums instead.
    if (c.kind === 'stats' && (c.stage ?? 1) === 1 && !secure) this.agreed.recordRows(site, meta.numExamples);
    // Held, not added: its clip bound depends on the whole round's updates (update-clip.ts).
    if (c.kind === 'fit' && !o.secure) this.held!.hold(site, meta.numExamples, replay, release);
    else release();
    // "Rounds done" counts training rounds: statistics rounds and the final evaluation are not rounds of the run.
    // A secure round's are counted when it is summed (round-loop.ts): a key advertisement is not an update.
    if (c.kind === 'fit' && !o.secure) o.directory.recordCompleted(site, c.round, meta.numExamples);
  }

  /** A result's metrics, evaluations and calibration, in range and kept to their known fields (they go into every round's record). */
  private checkFigures(site: string, c: RoundCollector, meta: ResultMeta): void {
    const dropped = checkReportedFigures(meta, { site, kind: c.kind, maxExamplesPerSite: this.bounds.maxExamplesPerSite });
    if (dropped.length > 0) this.o.log.warn('unknown fields dropped from a result', { site, round: c.round, kind: c.kind, fields: dropped.slice(0, 10), count: dropped.length });
  }
}
