import type { EncodedData } from '../shared/data/encode.ts';
import type { FeatureSpace } from '../shared/data/feature-space.ts';
import type { PatternPrior } from '../shared/data/patterns.ts';
import type { Logger } from '../shared/logger.ts';
import { classificationReport } from '../shared/metrics/classification.ts';
import { backendFromEnv, loadBackend } from '../shared/model/backend.ts';
import type { ModelConfig } from '../shared/model/config.ts';
import { createModel, trainingConfig } from '../shared/model/factory.ts';
import type { FedModel, RoundContext } from '../shared/model/model.ts';
import { predictAll, trainLocal } from '../shared/model/trainer.ts';
import type { ModelSpecMsg, EvalMetrics } from '../shared/protocol/messages.ts';
import { Rng } from '../shared/rng.ts';

/**
 * The site's model: one instance kept across rounds (so per-row state such as the
 * dual branch's running losses persists), loaded with each round's global weights.
 */
export class SiteModelRunner {
  private readonly rng: Rng;
  private attachedRows = -1;
  private constructor(
    private readonly spec: ModelSpecMsg,
    private readonly space: FeatureSpace,
    private readonly model: FedModel,
    private readonly config: ModelConfig,
    private readonly seed: number,
    private readonly log: Logger,
  ) {
    this.rng = new Rng(seed ^ 0x5eed);
  }

  static async create(spec: ModelSpecMsg, space: FeatureSpace, siteSeed: number, log: Logger): Promise<SiteModelRunner> {
    await loadBackend(backendFromEnv(process.env), log);
    const model = createModel(spec.kind, space, spec.raw, spec.seed);
    return new SiteModelRunner(spec, space, model, trainingConfig(spec.kind, spec.raw), siteSeed, log);
  }

  setWeights(w: Float32Array): void {
    this.model.params.setFlat(w);
  }
  getWeights(): Float32Array {
    return this.model.params.getFlat();
  }

  private ctx(c: { round: number; prior: PatternPrior }): RoundContext {
    return { round: c.round, prior: c.prior, epoch: 0, globalEpoch: Math.max(0, c.round - 1) * this.config.localEpochs };
  }

  train(data: EncodedData, c: { round: number; prior: PatternPrior }, config: Record<string, unknown>, anchor: Float32Array) {
    // Once per training set: per-row state (the dual branch's running losses) must carry across rounds.
    if (this.attachedRows !== data.n) {
      this.model.attachTrainingSet?.(data.n);
      this.attachedRows = data.n;
    }
    const mu = typeof config.proximalMu === 'number' ? config.proximalMu : 0;
    const summary = trainLocal(this.model, data, c, {
      config: this.config,
      rng: this.rng,
      proximalMu: mu,
      anchor,
      // From the round, not a local counter: a site that rejoins keeps the federation's schedule.
      globalEpochOffset: (c.round - 1) * this.config.localEpochs,
      onProgress: (p) => this.log.debug('local epoch', { round: c.round, ...p }),
    });
    return summary;
  }

  predict(data: EncodedData, c: { round: number; prior: PatternPrior }): Float32Array {
    return data.n === 0 ? new Float32Array(0) : predictAll(this.model, data, this.ctx(c));
  }

  evaluate(data: EncodedData, c: { round: number; prior: PatternPrior }): EvalMetrics {
    return classificationReport(data.y, this.predict(data, c));
  }

  /** A model of the same kind trained on this site's rows only, for the same number of epochs as the federation. */
  async trainAlone(
    enc: { train: EncodedData; test: EncodedData },
    c: { round: number; prior: PatternPrior },
    rounds: number,
  ): Promise<EvalMetrics> {
    const alone = await SiteModelRunner.create(this.spec, this.space, this.seed, this.log);
    try {
      for (let r = 1; r <= rounds; r++) alone.train(enc.train, { ...c, round: r }, {}, alone.getWeights());
      return alone.evaluate(enc.test, c);
    } finally {
      alone.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}
