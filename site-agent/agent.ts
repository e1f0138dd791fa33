import { PayloadOpener, PayloadSealer, verifyHeader } from '../shared/crypto/envelope.ts';
import type { Identity } from '../shared/crypto/keys.ts';
import { ReplayGuard } from '../shared/crypto/replay-guard.ts';
import { encodeTable, type EncodedData } from '../shared/data/encode.ts';
import type { FeatureSpace } from '../shared/data/feature-space.ts';
import { countPatternLabels } from '../shared/data/patterns.ts';
import type { Schema } from '../shared/data/schema.ts';
import { computeFeatureStats } from '../shared/data/stats.ts';
import { siteMoments } from '../shared/data/class-moments.ts';
import { calibrationSums } from '../shared/metrics/calibration.ts';
import { siteCalibrationReport } from '../shared/metrics/site-calibration.ts';
import { balanceFeatures, cellKeys, countCells, validateOutcomeBalance } from '../shared/data/outcome-balance.ts';
import { crashPoint } from '../shared/crash-points.ts';
import { heldOutNote, singleClassNote, singleClassOf } from '../shared/data/site-notes.ts';
import { foreignCategoryNotes, spaceVocabularies } from '../shared/data/foreign-categories.ts';
import { dpFromTaskConfig, noisyPatternCounts, privatizeUpdate } from '../shared/privacy/dp.ts';
import { ProtocolError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { checkShape } from '../shared/protocol/check.ts';
import { FrameReader, encodeFrame } from '../shared/protocol/frame.ts';
import { PROTOCOL_VERSION, resultKind, type EvalMetrics, type ResultMeta, type TaskMeta } from '../shared/protocol/messages.ts';
import { isVocabularyStage, STATS_STAGE, TaskMetaSchema } from '../shared/protocol/task-meta.ts';
import { ResultNotDelivered, type SiteTransport, type WireMessage } from '../shared/transport/types.ts';
import type { LocalData } from './local-data.ts';
import { inProcessRunner, type ModelRunner, type RunnerFactory } from './runner-api.ts';
import type { RunnerContext } from './model-runner.ts';
import { FEDCAUSAL_BUILD_VERSION } from '../shared/version.ts';
import { SECAGG_PHASE, SECAGG_PHASES, secaggStage } from '../shared/secagg/wire.ts';
import { checkScopeSurvivors, EVALUATION_SUM, evaluationLayout, evaluationValues, siteReport } from '../shared/secagg/eval-parts.ts';
import { SecureAggregationSite } from './secure-aggregation.ts';
import { SecureStatsStages } from './secure-stats.ts';
import type { BundleInput } from '../shared/model/bundle.ts';


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
}

/** The coordinator ended the federation as failed or incomplete. */
export class FederationEndedBadly extends Error {
  override readonly name = 'FederationEndedBadly';
}

/** Task header kinds: one of each per round at most (the replay guard holds the coordinator to that). */
/** Secure sums: a fit round's phases (1-4), each statistics stage's (10 x stage + phase) and the final evaluation's (90 + phase). */
const SECAGG_STAGES = [0, ...Object.values(STATS_STAGE), EVALUATION_SUM].flatMap((sum) => SECAGG_PHASES.map((p) => secaggStage(sum, SECAGG_PHASE[p])));
const TASK_KINDS = [...Object.values(STATS_STAGE).map((s) => `task-stats-${s}`), 'task-fit', 'task-evaluate', 'task-end', ...SECAGG_STAGES.map((s) => `task-secagg-${s}`)];

export interface CoordinatorKeys {
  signingPublicKey: Uint8Array;
  boxPublicKey: Uint8Array;
}

export interface SiteAgentOptions {
  site: string;
  federation: string;
  schema: Schema;
  data: LocalData;
  identity: Identity;
  coordinator: CoordinatorKeys;
  /** The connection, when the agent runs once; a reconnecting caller passes a fresh one to each run(). */
  transport?: SiteTransport;
  seed: number;
  log: Logger;
  /** Called with held-out scores at the final evaluation (simulate --predictions); stays on the site. */
  onPredictions?: (p: { site: string; rows: number[]; labels: Uint8Array; scores: Float32Array }) => void;
  /** Largest task payload accepted from the coordinator. */
  maxPayloadBytes?: number;
  /**
   * Random per site process, sent in every join: it tells the coordinator that a join after
   * a broken stream comes from the same process, which may replace its own dead stream
   * (another process is refused while the site is connected).
   */
  session?: string;
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
 * A hospital's agent: joins with its enrolled key, then answers each task the
 * coordinator pushes. It sends sums, counts, metrics and weights; never a record.
 */
export class SiteAgent {
  private readonly replay = new ReplayGuard({ maxAgeMs: 10 * 60_000 });
  private runner: ModelRunner | undefined;
  /** Whether this agent got as far as a welcome (a lost connection then renews the reconnect window). */
  joined = false;
  private encoded: { key: string; train: EncodedData; test: EncodedData } | undefined;
  private readonly secure: SecureAggregationSite;
  private readonly secureStats: SecureStatsStages;
  /** The model of the final evaluation, with what its scores depend on; kept once the federation ends complete. */
  private finalModel: BundleInput | undefined;
  private completed = false;

  constructor(private readonly opts: SiteAgentOptions) {
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

  private seal(kind: string, round: number, payload: Uint8Array): WireMessage {
    const sealer = new PayloadSealer({ federation: this.opts.federation, round, site: this.opts.site, kind }, payload, {
      signingSecretKey: this.opts.identity.signing.secretKey,
      recipientBoxPublicKey: this.opts.coordinator.boxPublicKey,
    });
    return { header: sealer.header, signature: sealer.signature, chunks: sealer.chunks() };
  }

  /**
   * Runs until the coordinator ends the federation; throws when the stream breaks or closes
   * before that. Returns the end message. One agent serves every reconnection, so its model
   * state (and with it the federation's result) does not depend on how often it reconnected;
   * close() releases the model when the agent is done for good.
   */
  async run(transport: SiteTransport | undefined = this.opts.transport): Promise<string> {
    try {
      return await this.serve(transport);
    } catch (e) {
      // A lost connection keeps the model for the reconnection; anything else ends the agent.
      if ((e as { code?: number }).code !== 14) this.close();
      throw e;
    }
  }

  /**
   * The federation's final model as this site scores with it (fedcausal predict): only once the
   * federation ended complete, after a final evaluation here; undefined otherwise.
   */
  trainedModel(): BundleInput | undefined {
    return this.completed ? this.finalModel : undefined;
  }

  /** Releases the model (a worker thread, perhaps). */
  close(): void {
    this.runner?.dispose();
    this.runner = undefined;
  }

  private async serve(transport: SiteTransport | undefined): Promise<string> {
    if (!transport) throw new Error('SiteAgent.run: no transport');
    const { log } = this.opts;
    this.joined = false;
    const session = this.opts.session === undefined ? {} : { session: this.opts.session };
    // Challenge-response: the join carries the coordinator's fresh nonce, so a recorded join is worthless.
    const nonce = transport.challenge ? { nonce: Buffer.from(await transport.challenge()).toString('base64') } : {};
    const join = this.seal('join', 0, encodeFrame({ protocolVersion: PROTOCOL_VERSION, site: this.opts.site, software: FEDCAUSAL_BUILD_VERSION, ...session, ...nonce }));
    const { welcome, tasks } = await transport.subscribe(join);
    this.joined = true;
    // A restarted coordinator asks its uncommitted round again, under new message ids.
    this.replay.releaseClaims();
    log.info('joined federation', { federation: welcome.federation, welcome: welcome.message });
    for await (const msg of tasks) {
      const { meta, weights } = await this.openTask(msg);
      if (meta.kind === 'end') {
        log.info('federation ended', { reason: meta.message, outcome: meta.outcome });
        await this.acknowledgeEnd(transport, meta.round);
        // A failed or incomplete federation is a failure here too: a supervisor sees exit 1.
        if (meta.outcome && meta.outcome !== 'complete') throw new FederationEndedBadly(meta.message ?? meta.outcome);
        this.completed = true;
        this.close();
        return meta.message ?? 'ended';
      }
      crashPoint(`task-${meta.kind}${meta.stage ? `-${meta.stage}` : ''}`, meta.round);
      const result = await this.handle(meta, weights);
      try {
        const reply = await transport.submit(
          this.seal(resultKind(meta.kind, meta.stage), meta.round, encodeFrame(result.meta, result.weights)),
        );
        if (!reply.accepted) log.warn('result refused', { round: meta.round, reply: reply.message });
        crashPoint(`answered-${meta.kind}`, meta.round);
      } catch (e) {
        // A refused result (round closed meanwhile, say) costs this round only; keep serving.
        // One that never reached the coordinator is said as such: the stream's end follows.
        log.warn(e instanceof ResultNotDelivered ? 'result not delivered' : 'result refused', { round: meta.round, error: (e as Error).message });
      }
    }
    // The stream ended without the coordinator's 'end': the coordinator went away (a crash,
    // a restart). UNAVAILABLE, so the caller reconnects while its window lasts and
    // otherwise fails, never a clean exit that a supervisor would not restart.
    throw Object.assign(new Error('the coordinator closed the connection before the federation ended'), { code: 14 });
  }

  /**
   * Tells the coordinator this site heard the end: it waits, for a rejoin grace, for a site that
   * did not (one killed as the end went out), so that site hears it when it is restarted.
   * Best effort: a coordinator already gone changes nothing here.
   */
  private async acknowledgeEnd(transport: SiteTransport, round: number): Promise<void> {
    const ack = { kind: 'end', round, weights: 0, numExamples: 0, metrics: {} } satisfies ResultMeta;
    await transport.submit(this.seal(resultKind('end'), round, encodeFrame(ack))).catch((e: Error) => this.opts.log.debug('end not acknowledged', { error: e.message }));
  }

  private async openTask(msg: WireMessage): Promise<{ meta: TaskMeta; weights: Float32Array }> {
    const header = verifyHeader(msg.header, msg.signature, () => this.opts.coordinator.signingPublicKey, {
      maxPayloadBytes: this.opts.maxPayloadBytes ?? 2 ** 31,
      maxChunkSize: 16 * 1024 * 1024,
    });
    if (header.site !== this.opts.site)
      throw new ProtocolError(`task addressed to "${header.site}", this is "${this.opts.site}"`, 'malformed');
    this.replay.check(header, { federation: this.opts.federation, kinds: TASK_KINDS });
    const opener = new PayloadOpener(header, msg.header);
    let raw: unknown;
    const parts: { offset: number; values: Float32Array }[] = [];
    const reader = new FrameReader(
      (m) => (raw = m),
      (offset, values) => parts.push({ offset, values }),
    );
    let i = 0;
    for await (const c of msg.chunks) reader.push(opener.open(i++, c));
    opener.finish();
    const n = reader.finish();
    // Signed is not well formed: check the meta's shape before any of it is used.
    const meta = checkShape(TaskMetaSchema, raw, `the ${header.kind} task of round ${header.round}`);
    // Only the header's kind went through the replay guard: a meta of another kind must not
    // be answered as some other task (it fell through to an evaluation).
    const metaKind = `task-${meta.kind}${meta.stage ? `-${meta.stage}` : ''}`;
    if (metaKind !== header.kind)
      throw new ProtocolError(`task meta of kind ${JSON.stringify(meta.kind)} does not match its header kind "${header.kind}"`, 'malformed');
    const weights = new Float32Array(n);
    for (const p of parts) weights.set(p.values, p.offset);
    return { meta, weights };
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

  private async handle(task: TaskMeta, weights: Float32Array): Promise<{ meta: ResultMeta; weights?: Float32Array }> {
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
    const round = { task, weights, runner, enc, ctx, evaluation, base };
    return task.kind === 'fit' ? this.fit(round) : this.evaluate(round);
  }

  /** A training round: train on this site's rows from `weights`, and send the update (or a failure when it diverged). */
  private async fit({ task, weights, runner, enc, ctx, evaluation, base }: ModelRound): Promise<{ meta: ResultMeta; weights?: Float32Array }> {
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
    let patternCounts = countPatternLabels(data.train.patterns, data.train.labels);
    // Differential privacy (privacy.dp): the update clipped and noised, the counts noised.
    const dp = dpFromTaskConfig(task.config);
    const sent = dp ? privatizeUpdate(weights, w, dp).weights : w;
    if (dp) patternCounts = noisyPatternCounts(patternCounts, task.prior!.patterns.map((p) => p.pattern), dp.noiseMultiplier, data.train.labels.length);
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

  private keepFinalModel(task: TaskMeta, weights: Float32Array, ctx: RunnerContext, calibration: { a: number; b: number; rows: number } | undefined): void {
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
      ...(calibration ? { calibration: { a: calibration.a, b: calibration.b, rows: calibration.rows } } : {}),
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
    if (task.config.final) this.keepFinalModel(task, weights, ctx, siteCalibration);
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
