/** A site's answers to the coordinator's tasks: statistics, training rounds and evaluations, on its own rows. */
import type { Identity } from '../shared/crypto/keys.ts';
import { encodeTable, type EncodedData } from '../shared/data/encode.ts';
import type { FeatureSpace } from '../shared/data/feature-space.ts';
import { countPatternLabels, type PatternLabelCounts } from '../shared/data/patterns.ts';
import type { Schema } from '../shared/data/schema.ts';
import { computeFeatureStats } from '../shared/data/stats.ts';
import { siteMoments } from '../shared/data/class-moments.ts';
import { calibrationSums } from '../shared/metrics/calibration.ts';
import { siteCalibrationReport } from '../shared/metrics/site-calibration.ts';
import { balanceFeatures, cellKeys, countCells, validateOutcomeBalance } from '../shared/data/outcome-balance.ts';
import { heldOutNote, singleClassNote, singleClassOf } from '../shared/data/site-notes.ts';
import { foreignCategoryNotes, spaceVocabularies } from '../shared/data/foreign-categories.ts';
import { dpFromTaskConfig, noisyPatternCounts, privatizeUpdate } from '../shared/privacy/dp.ts';
import { keyedBytes } from '../shared/privacy/gaussian.ts';
import { ProtocolError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { EvalMetrics, ResultMeta, TaskMeta } from '../shared/protocol/messages.ts';
import { isVocabularyStage, STATS_STAGE } from '../shared/protocol/task-meta.ts';
import type { LocalData } from './local-data.ts';
import { inProcessRunner, type ModelRunner, type RunnerFactory } from './runner-api.ts';
import type { RunnerContext } from './model-runner.ts';
import { checkScopeSurvivors, evaluationLayout, evaluationValues, siteReport } from '../shared/secagg/eval-parts.ts';
import { SecureAggregationSite } from './secure-aggregation.ts';
import { SecureStatsStages } from './secure-stats.ts';
import type { BundleInput } from '../shared/model/bundle.ts';
import { releaseDigest } from '../shared/privacy/task-privacy.ts';

/** Why a local training result must not be sent (a non-finite loss, weight or control variate), or undefined. */
function unsoundTraining(loss: number, weights: Float32Array, controlVariate: Float32Array | undefined): string | undefined {
  if (!Number.isFinite(loss)) return `training loss is ${loss}`;
  if (weights.some((v) => !Number.isFinite(v))) return 'the trained weights hold a non-finite value';
  if (controlVariate?.some((v) => !Number.isFinite(v))) return 'the control variate holds a non-finite value';
  return undefined;
}

/** A model task's parts, set up once for a training round or an evaluation. */
interface ModelRound {
  task: TaskMeta;
  weights: Float32Array;
  runner: ModelRunner;
  enc: { train: EncodedData; test: EncodedData };
  ctx: RunnerContext;
  /** The global model on this site's held-out rows, before any training. */
  evaluation: EvalMetrics;
  base: Omit<ResultMeta, 'federation'> & { numExamples: number };
  /** releaseDigest(task, weights) where the caller has it already (the agent, for its ledger). */
  digest?: string | undefined;
}

/** What a site's tasks need: its rows, its model's settings, its keys for secure sums. */
export interface SiteTasksOptions {
  site: string;
  federation: string;
  schema: Schema;
  data: LocalData;
  identity: Identity;
  seed: number;
  log: Logger;
  /** Called with held-out scores at the final evaluation (simulate --predictions); stays on the site. */
  onPredictions?: (p: { site: string; rows: number[]; labels: Uint8Array; scores: Float32Array }) => void;
  /** A stop request (SIGTERM): local training ends between batches instead of running to the end. */
  signal?: AbortSignal;
  /**
   * How often local training yields to the event loop (ms). Over gRPC the default keeps
   * keepalive answered; in-process simulation passes Infinity so the order in which
   * sites finish (and so the aggregate's summation order) never depends on the clock.
   */
  trainYieldEveryMs?: number;
  /** Where the model runs: by default in this thread; a deployed site uses a worker thread (worker-runner.ts). */
  runner?: RunnerFactory;
  /**
   * Whether the agent warns, once it has the federation's vocabulary, of a categorical
   * column its values mostly miss (default true). simulate says it at start instead, for a
   * test site against the training sites' values; a training site's own coding, which the
   * vocabulary holds once it is common, is the coordinator's readiness check.
   */
  vocabularyNotes?: boolean;
}

/**
 * Answers each task with this site's sums, counts, metrics and weights; never a record. Holds
 * the model (one runner for every reconnection) and the encoded rows between tasks.
 */
export class SiteTasks {
  private runner: ModelRunner | undefined;
  private encoded: { key: string; train: EncodedData; test: EncodedData } | undefined;
  private readonly secure: SecureAggregationSite;
  private readonly secureStats: SecureStatsStages;
  /** The model of the final evaluation, with what its scores depend on. */
  private finalModel: BundleInput | undefined;

  constructor(private readonly opts: SiteTasksOptions) {
    this.secure = new SecureAggregationSite(opts.site, opts.identity.signing, opts.log);
    this.secureStats = new SecureStatsStages(this.secure, opts.schema, opts.data, (space) => this.encode(space));
    // Training rows of one class train; what they cannot give is said once, at start.
    const note = singleClassNote(`site "${opts.site}"`, opts.data.train.labels, {
      heldOut: opts.data.test.labels,
      coding: { values: opts.data.labelValues, label: opts.schema.label },
    });
    if (note) opts.log.warn(note);
    // One class in the held-out rows is said by the note above, or for a test-only site (no
    // training rows: simulate's) by simulate's start warnings.
    const few = heldOutNote(`site "${opts.site}"`, opts.data.test.labels, note !== undefined || opts.data.train.labels.length === 0);
    if (few) opts.log.warn(few);
  }

  /** The model this site scored at its final evaluation, with what its scores depend on; undefined before one. */
  finalEvaluationModel(): BundleInput | undefined {
    return this.finalModel;
  }

  /** Releases the model (a worker thread, perhaps). */
  close(): void {
    this.runner?.dispose();
    this.runner = undefined;
  }

  /** Encodes the site's rows once per feature space (every task carries a fresh copy of the same one). */
  private encode(space: FeatureSpace) {
    const key = JSON.stringify(space);
    if (this.encoded?.key !== key) {
      const { train, test } = this.opts.data;
      // The vocabulary arrives with the first feature space: said once, with the file's rows.
      if (!this.encoded && this.opts.vocabularyNotes !== false) {
        const known = spaceVocabularies(space);
        const who = `site "${this.opts.site}"`;
        const rows = { features: train.features, values: [...train.values, ...test.values] };
        for (const note of foreignCategoryNotes(who, rows, known, "the federation's vocabulary")) this.opts.log.warn(note);
      }
      this.encoded = { key, train: encodeTable(train, space), test: encodeTable(test, space) };
    }
    return this.encoded;
  }

  /** A statistics stage answered with this site's own sums (no secure aggregation). */
  private plainStats(task: TaskMeta, base: ResultMeta): { meta: ResultMeta } {
    const { data, schema } = this.opts;
    // The vocabulary stages exist only as secure sums.
    if (isVocabularyStage(task.stage))
      throw new ProtocolError(`a stats task of stage ${task.stage} must be a secure sum (it carries no secagg session)`, 'malformed');
    if (task.stage === STATS_STAGE.moments) {
      const enc = this.encode(task.featureSpace!);
      const m = siteMoments(enc.train);
      return { meta: { ...base, classMoments: m.pooled, classMomentsWithinSite: m.withinSite } };
    }
    if (task.stage === STATS_STAGE.cells) {
      const enc = this.encode(task.featureSpace!);
      const keys = cellKeys(enc.train, balanceFeatures(task.featureSpace!, task.balanceFeatures ?? []));
      return { meta: { ...base, cellCounts: countCells(keys, enc.train.y) } };
    }
    return {
      meta: {
        ...base,
        featureStats: computeFeatureStats(schema, data.train),
        patternCounts: countPatternLabels(data.train.patterns, data.train.labels),
      },
    };
  }

  /** One task answered: a statistics stage, a secure-sum phase, a training round or an evaluation. */
  /** `digest`: releaseDigest(task, weights), where the caller computed it already (DP tasks). */
  async handle(task: TaskMeta, weights: Float32Array, digest?: string): Promise<{ meta: ResultMeta; weights?: Float32Array }> {
    const { data, log } = this.opts;
    const base = { round: task.round, kind: task.kind, numExamples: data.train.values.length, metrics: {}, weights: 0 };
    if (task.kind === 'secagg') return this.secure.answer(task, { ...base, numExamples: 0 });
    if (task.kind === 'stats') return task.secagg ? this.secureStats.answer(task, base) : this.plainStats(task, base);
    const space = task.featureSpace!;
    const enc = this.encode(space);
    this.runner ??= await (this.opts.runner ?? inProcessRunner)(task.model!, space, this.opts.seed, log, { signal: this.opts.signal, yieldEveryMs: this.opts.trainYieldEveryMs });
    const runner = this.runner;
    await runner.setWeights(weights);
    const temper = typeof task.config.temper === 'number' ? task.config.temper : 1;
    const balance = task.balance === undefined ? undefined : validateOutcomeBalance(task.balance, `round ${task.round} task: balance`);
    const ctx = { round: task.round, prior: task.prior!, balance, temper };
    const evaluation = await runner.evaluate(enc.test, ctx);
    const round = { task, weights, runner, enc, ctx, evaluation, base, digest };
    return task.kind === 'fit' ? this.fit(round) : this.evaluate(round);
  }

  /**
   * What a training round releases: with DP (privacy.dp) the update clipped and noised and the
   * counts noised, else both as they are. The noise is fixed by this site's key and the whole task
   * (releaseDigest): the same task asked again (the coordinator restarted mid-round) gets the same
   * release, which tells nothing new (fresh noise could be averaged away); a task that differs in
   * anything gets other noise, so two releases never share it. Hashed only with DP on (the whole
   * model, every round): `given` where the agent made it already, for its ledger.
   */
  private release(task: TaskMeta, global: Float32Array, trained: Float32Array, counts: PatternLabelCounts, given: string | undefined): { sent: Float32Array; patternCounts: PatternLabelCounts } {
    const dp = dpFromTaskConfig(task.config);
    if (!dp) return { sent: trained, patternCounts: counts };
    const digest = given ?? releaseDigest(task, global);
    const noiseFor = (what: string) => keyedBytes(this.opts.identity.signing.secretKey, `dp|${this.opts.federation}|${what}|${digest}`);
    return {
      sent: privatizeUpdate(global, trained, dp, noiseFor('update')).weights,
      patternCounts: noisyPatternCounts(counts, task.prior!.patterns.map((p) => p.pattern), dp.noiseMultiplier, this.opts.data.train.labels.length, noiseFor('counts')),
    };
  }

  /** A training round: train on this site's rows from `weights`, and send the update (or a failure when it diverged). */
  private async fit({ task, weights, runner, enc, ctx, evaluation, base, digest: given }: ModelRound): Promise<{ meta: ResultMeta; weights?: Float32Array }> {
    const { data, log } = this.opts;
    const scaffold = task.config.controlVariates === true;
    // The control variate is an un-noised gradient of this site's rows, sent as it is: no place in a DP or secure round.
    if (scaffold && (dpFromTaskConfig(task.config) || task.secagg))
      throw new ProtocolError(`round ${task.round}: the task asks for a control variate (SCAFFOLD) in a ${task.secagg ? 'secure' : 'differentially private'} round; this site sends none`, 'malformed');
    const t0 = performance.now();
    const trainConfig = scaffold && task.controlVariate ? { ...task.config, controlVariate: Float32Array.from(task.controlVariate) } : task.config;
    const summary = await runner.train(enc.train, ctx, trainConfig, weights);
    const trainMs = performance.now() - t0;
    log.info('round trained', { round: task.round, loss: summary.loss, auroc: evaluation.auroc, trainMs: Math.round(trainMs) });
    const w = await runner.getWeights();
    const unsound = unsoundTraining(summary.loss, w, summary.controlVariate);
    if (unsound) {
      // Never send NaN: report the failure; the coordinator fails this site for the round at once.
      log.error('local training diverged; reporting a failure instead of an update', { round: task.round, reason: unsound });
      // A secure round's row count stays in the sum: a failure must not carry it in the clear either.
      return { meta: { ...base, ...(task.secagg ? { numExamples: 0 } : {}), error: unsound } };
    }
    const health = await runner.health(enc.train, ctx);
    // Each round's counts, so the coordinator can report how the prior drifts as sites come and go.
    const { sent, patternCounts } = this.release(task, weights, w, countPatternLabels(data.train.patterns, data.train.labels), given);
    // Secure: only a key advertisement goes back now; the (privatized) update, health and counts go masked in a later phase.
    if (task.secagg) return this.secure.fitResult(task, base, sent, base.numExamples, { loss: summary.loss, steps: summary.steps, trainMs }, evaluation, { health, patternCounts });
    return {
      meta: {
        ...base,
        metrics: { loss: summary.loss, steps: summary.steps, trainMs },
        evaluation,
        patternCounts,
        ...(health ? { health } : {}),
        ...(summary.controlVariate ? { controlVariate: Array.from(summary.controlVariate) } : {}),
        weights: sent.length,
      },
      weights: sent,
    };
  }

  private keepFinalModel(
    task: TaskMeta,
    weights: Float32Array,
    ctx: RunnerContext,
    calibration: { a: number; b: number; rows: number; eceBefore: number; eceAfter: number } | undefined,
    heldOut: { rows: number; positives: number },
    trainPositives: number,
  ): void {
    const { federation, site, schema } = this.opts;
    this.finalModel = {
      federation,
      site,
      round: task.round,
      schema,
      model: task.model!,
      featureSpace: task.featureSpace!,
      prior: ctx.prior,
      ...(ctx.balance ? { balance: ctx.balance } : {}),
      temper: ctx.temper ?? 1,
      // With how it did on the held-out rows: predict says where it made the scores worse there (an outside try).
      ...(calibration
        ? { calibration: { a: calibration.a, b: calibration.b, rows: calibration.rows, positives: trainPositives, heldOut: { ...heldOut, eceBefore: calibration.eceBefore, eceAfter: calibration.eceAfter } } }
        : {}),
      weights: Float32Array.from(weights),
    };
  }

  /** A local-only model trained and scored here for comparison, where the task asks for one and this site's rows can train it. */
  private async localOnly(task: TaskMeta, runner: ModelRunner, enc: ModelRound['enc'], ctx: RunnerContext): Promise<EvalMetrics | undefined> {
    // A local-only model of one class has nothing to rank with: absent, as the start warning said.
    if (!task.config.localBaseline || enc.train.n === 0 || singleClassOf(this.opts.data.train.labels) !== undefined) return undefined;
    const t0 = performance.now();
    const local = await runner.trainAlone(enc, ctx, Number(task.config.rounds ?? 1));
    this.opts.log.info('local-only model evaluated', { auroc: local.auroc, trainMs: Math.round(performance.now() - t0) });
    return local;
  }

  /** The final evaluation (and an evaluate task before it): the global model scored on this site's held-out rows, with a local-only model beside it where asked. */
  private async evaluate({ task, weights, runner, enc, ctx, evaluation, base }: ModelRound): Promise<{ meta: ResultMeta }> {
    const { data } = this.opts;
    const localEvaluation = await this.localOnly(task, runner, enc, ctx);
    // The final evaluation also sends calibration sums over the held-out rows (never the scores).
    const scores = task.config.final && enc.test.n > 0 ? await runner.predict(enc.test, ctx) : undefined;
    if (scores && this.opts.onPredictions)
      this.opts.onPredictions({ site: this.opts.site, rows: data.testRows, labels: data.test.labels, scores });
    const calibration = scores ? calibrationSums(data.test.labels, scores) : undefined;
    // This site's own recalibration: fitted on its training rows, scored on its held-out rows (never the same rows).
    const siteCalibration =
      scores && enc.train.n > 0 ? siteCalibrationReport({ labels: data.train.labels, scores: await runner.predict(enc.train, ctx) }, { labels: data.test.labels, scores }) : undefined;
    if (task.config.final) {
      const positives = (labels: Uint8Array) => labels.reduce((s, y) => s + y, 0);
      this.keepFinalModel(task, weights, ctx, siteCalibration, { rows: enc.test.n, positives: positives(data.test.labels) }, positives(data.train.labels));
      // The final model's own figures here: a round's "round trained" line scores the model that round started from.
      const e = evaluation;
      this.opts.log.info('final evaluation', { trainingRounds: task.round - 1, n: e.n, auroc: e.auroc, accuracy: e.accuracy, ece: e.ece, ...(siteCalibration ? { eceAfterOwnRecalibration: siteCalibration.eceAfter } : {}) });
    }
    // Secure: the site's report (rates) in the clear, its held-out count, metrics and calibration sums only in the sum.
    if (task.secagg)
      return this.secure.input(task, base, (t, maxSites) => {
        const tests = t.testSites ?? [];
        const scope = tests.includes(this.opts.site) ? 'test' : 'training';
        const scopeSites = Object.keys(t.roster).filter((s) => tests.includes(s) === (scope === 'test')).length;
        return {
          layout: evaluationLayout(t.config, maxSites),
          values: evaluationValues(evaluation, calibration, scope, scopeSites, t.config.maxExamples),
          meta: { report: siteReport(evaluation, localEvaluation, siteCalibration, t.config.reportDecimals) },
          checkSurvivors: (survivors) => checkScopeSurvivors(Object.keys(t.roster), tests, survivors),
        };
      });
    return { meta: { ...base, evaluation, ...(localEvaluation ? { localEvaluation } : {}), ...(calibration ? { calibration } : {}), ...(siteCalibration ? { siteCalibration } : {}) } };
  }
}
