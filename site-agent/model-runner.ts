import type { EncodedData } from '../shared/data/encode.ts';
import type { FeatureSpace } from '../shared/data/feature-space.ts';
import type { PatternPrior } from '../shared/data/patterns.ts';
import { LoopYielder } from '../shared/event-loop.ts';
import type { Logger } from '../shared/logger.ts';
import { classificationReport } from '../shared/metrics/classification.ts';
import { backendFromEnv, loadBackend } from '../shared/model/backend.ts';
import type { ModelConfig } from '../shared/model/config.ts';
import { createModel, trainingConfig } from '../shared/model/factory.ts';
import type { FedModel, RoundContext } from '../shared/model/model.ts';
import { lossGradient, patternWeights, predictAll, trainLocal, type LocalTrainSummary } from '../shared/model/trainer.ts';
import { balanceFeatures, outcomeWeights, type OutcomeBalance } from '../shared/data/outcome-balance.ts';
import { healthSums, type HealthSums } from '../shared/data/debias-health.ts';
import { compileDebiasConfig, type DebiasConfig, type DebiasedModel } from '../shared/model/variants/debiased/index.ts';
import type { ModelSpecMsg, EvalMetrics } from '../shared/protocol/messages.ts';
import { Rng } from '../shared/rng.ts';

/** What a round tells the site's model besides the weights. */
export interface RunnerContext {
  round: number;
  prior: PatternPrior;
  /** The published outcome-balancing table (outcome weighting with flagged readings). */
  balance?: OutcomeBalance;
  /** The coordinator's tempering of the debiasing weights (1 = full). */
  temper?: number;
}

/** How the site's training shares its process (see LocalTrainOptions). */
export interface RunnerOptions {
  /** A stop request: training ends between batches. */
  signal?: AbortSignal;
  /** Event-loop yield interval of local training (ms); Infinity for in-process simulation. */
  yieldEveryMs?: number;
}

/**
 * The site's model: one instance kept across rounds (so per-row state such as the
 * dual branch's running losses persists), loaded with each round's global weights.
 * For a debiased model it also applies the debiasing that works on rows rather than
 * in the loss: outcome weights, or the flagged readings dropped from the inputs.
 */
export class SiteModelRunner {
  private readonly rng: Rng;
  private attachedRows = -1;
  private readonly debias: DebiasConfig | undefined;
  /** Per encoded set: the model's view of it (flagged columns dropped). */
  private readonly views = new WeakMap<EncodedData, EncodedData>();
  /** Where training stood when the last round began: a round asked again (the coordinator restarted before committing it) restarts from here. */
  private roundStart: { round: number; rng: number; model: unknown; control: Float32Array | undefined } | undefined;
  /** SCAFFOLD: this site's control variate c_i, its loss gradient at the global model of the last round it trained. */
  private ownControl: Float32Array | undefined;
  private lastWeights: { data: EncodedData; prior: PatternPrior; balance?: OutcomeBalance; temper: number; w: Float32Array } | undefined;
  private constructor(
    private readonly spec: ModelSpecMsg,
    private readonly space: FeatureSpace,
    private readonly model: FedModel,
    private readonly config: ModelConfig,
    private readonly seed: number,
    private readonly log: Logger,
    private readonly opts: RunnerOptions,
  ) {
    this.rng = new Rng(seed ^ 0x5eed);
    this.debias = spec.kind === 'debiased' ? compileDebiasConfig(spec.raw.debiasing, 'model.debiasing') : undefined;
  }

  static async create(spec: ModelSpecMsg, space: FeatureSpace, siteSeed: number, log: Logger, opts: RunnerOptions = {}): Promise<SiteModelRunner> {
    await loadBackend(backendFromEnv(process.env), log);
    const model = createModel(spec.kind, space, spec.raw, spec.seed);
    // Initialising a large model is a long stretch of its own: a turn before the caller
    // evaluates and trains, so the three never hold the loop as one (keepalive).
    const yielder = new LoopYielder(opts.yieldEveryMs);
    if (yielder.due) await yielder.yield();
    return SiteModelRunner.withModel(model, spec, space, siteSeed, log, opts);
  }

  /** A runner around a model already built from `spec`: create() builds one; a test passes one it can watch. */
  static withModel(model: FedModel, spec: ModelSpecMsg, space: FeatureSpace, siteSeed: number, log: Logger, opts: RunnerOptions = {}): SiteModelRunner {
    return new SiteModelRunner(spec, space, model, trainingConfig(spec.kind, spec.raw), siteSeed, log, opts);
  }

  setWeights(w: Float32Array): void {
    this.model.params.setFlat(w);
  }
  getWeights(): Float32Array {
    return this.model.params.getFlat();
  }

  private ctx(c: RunnerContext): RoundContext {
    return { round: c.round, prior: c.prior, epoch: 0, globalEpoch: Math.max(0, c.round - 1) * this.config.localEpochs, temper: c.temper ?? 1 };
  }

  /** The features the model does not read: flagged readings under 'drop' weighting (view()). */
  unreadFeatures(): ReadonlySet<string> {
    const d = this.debias;
    return new Set(d?.active && d.weighting === 'drop' ? d.flagged.map((f) => f.feature) : []);
  }

  /** Flagged readings the model must not see ('drop' weighting): their columns zeroed and marked unobserved. */
  private view(data: EncodedData): EncodedData {
    const d = this.debias;
    if (!d?.active || d.weighting !== 'drop' || d.flagged.length === 0) return data;
    let v = this.views.get(data);
    if (!v) {
      const names = new Set(d.flagged.map((f) => f.feature));
      const cols = this.space.columns.flatMap((c, j) => (names.has(c.feature) ? [j] : []));
      v = { ...data, x: Float32Array.from(data.x), observed: Float32Array.from(data.observed) };
      for (let i = 0; i < data.n; i++) for (const j of cols) v.x[i * data.dim + j] = v.observed[i * data.dim + j] = 0;
      this.views.set(data, v);
    }
    return v;
  }

  /**
   * The rows' sample weights: outcome weights where a table is published, else pattern
   * balancing. Kept for the round's inputs, so training and the health sums share one pass.
   */
  private rowWeights(data: EncodedData, c: RunnerContext): Float32Array {
    const temper = c.temper ?? 1;
    const last = this.lastWeights;
    if (last && last.data === data && last.prior === c.prior && last.balance === c.balance && last.temper === temper) return last.w;
    const t = c.balance;
    const w = !t || !this.debias?.active || this.debias.weighting !== 'outcome'
      ? patternWeights(this.model, data, c.prior)
      : outcomeWeights(t, data, balanceFeatures(this.space, t.features), temper);
    this.lastWeights = { data, prior: c.prior, balance: c.balance, temper, w };
    return w;
  }

  /**
   * Debiasing health sums over the training rows (debiased models only): the weights
   * the model trained with this round and its scores after training.
   */
  health(data: EncodedData, c: RunnerContext): HealthSums | undefined {
    const d = this.debias;
    if (!d || data.n === 0) return undefined;
    const base = this.rowWeights(data, c);
    const w = (this.model as DebiasedModel).rowWeights(base, data.present, c.temper ?? 1);
    const readings = d.flagged.map((f) => ({ feature: f.feature, column: f.column ?? this.space.columns.findIndex((col) => col.feature === f.feature) }));
    return healthSums(data, w, this.predict(data, c), readings);
  }

  /** One round's local training; yields to the event loop as it goes, so keepalive and a stop request are served. */
  async train(data: EncodedData, c: RunnerContext, config: Record<string, unknown>, anchor: Float32Array): Promise<LocalTrainSummary> {
    // Once per training set: per-row state (the dual branch's running losses) must carry across rounds.
    if (this.attachedRows !== data.n) {
      this.model.attachTrainingSet?.(data.n);
      this.attachedRows = data.n;
    }
    this.beginRound(c.round);
    const mu = typeof config.proximalMu === 'number' ? config.proximalMu : 0;
    const ctx = { round: c.round, prior: c.prior, temper: c.temper ?? 1 };
    // From the round, not a local counter: a site that rejoins keeps the federation's schedule.
    const globalEpochOffset = (c.round - 1) * this.config.localEpochs;
    const rowWeights = this.rowWeights(data, c);
    const drift = config.controlVariates === true ? this.driftCorrection(data, { ...ctx, epoch: 0, globalEpoch: globalEpochOffset }, rowWeights, config.controlVariate) : undefined;
    const summary = await trainLocal(this.model, this.view(data), ctx, {
      rowWeights,
      config: this.config,
      rng: this.rng,
      proximalMu: mu,
      anchor,
      ...(drift?.correction ? { correction: drift.correction } : {}),
      globalEpochOffset,
      onProgress: (p) => this.log.debug('local epoch', { round: c.round, ...p }),
      signal: this.opts.signal,
      yieldEveryMs: this.opts.yieldEveryMs,
    });
    if (drift) this.ownControl = drift.control;
    return { ...summary, ...(drift ? { controlVariate: drift.control } : {}) };
  }

  /**
   * SCAFFOLD, option I (Karimireddy et al. 2020): the site's new control variate is its loss
   * gradient at the global model it just received; the correction c - c_i pairs the
   * federation's c (the sites' mean of those gradients at the previous global model) with
   * this site's own from the same model. Without an own c_i (its first round, or a restart)
   * there is no pair: that round trains uncorrected, as FedAvg.
   */
  private driftCorrection(data: EncodedData, rc: RoundContext, rowWeights: Float32Array, global: unknown): { control: Float32Array; correction?: Float32Array } {
    // The loss may keep per-row state (the dual branch's running losses): the gradient pass must leave it as training will find it.
    const state = this.model.saveTrainingState?.();
    const control = lossGradient(this.model, this.view(data), rc, rowWeights, this.config.batchSize);
    if (state !== undefined) this.model.restoreTrainingState?.(state);
    const own = this.ownControl;
    if (!(global instanceof Float32Array) || !own || global.length !== own.length) return { control };
    return { control, correction: global.map((g, i) => g - own[i]!) };
  }

  /**
   * The same round trained twice must give the same update, so a resumed federation ends
   * with the model an uninterrupted one would have: put back the random stream and the
   * per-row state as they were when this round first began.
   */
  private beginRound(round: number): void {
    const s = this.roundStart;
    if (s && s.round === round) {
      this.rng.restore(s.rng);
      if (s.model !== undefined) this.model.restoreTrainingState?.(s.model);
      this.ownControl = s.control;
      this.log.info('round trained again from its starting state', { round });
      return;
    }
    this.roundStart = { round, rng: this.rng.save(), model: this.model.saveTrainingState?.(), control: this.ownControl };
  }

  predict(data: EncodedData, c: RunnerContext): Float32Array {
    return data.n === 0 ? new Float32Array(0) : predictAll(this.model, this.view(data), this.ctx(c));
  }

  evaluate(data: EncodedData, c: RunnerContext): EvalMetrics {
    return classificationReport(data.y, this.predict(data, c));
  }

  /** A model of the same kind trained on this site's rows only, for the same number of epochs as the federation. */
  async trainAlone(
    enc: { train: EncodedData; test: EncodedData },
    c: RunnerContext,
    rounds: number,
  ): Promise<EvalMetrics> {
    const alone = await SiteModelRunner.create(this.spec, this.space, this.seed, this.log, this.opts);
    try {
      // As long as the whole federation's training: it must yield like a round does.
      for (let r = 1; r <= rounds; r++) await alone.train(enc.train, { ...c, round: r }, {}, alone.getWeights());
      return alone.evaluate(enc.test, c);
    } finally {
      alone.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}
