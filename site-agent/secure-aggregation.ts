/**
 * A site's side of secure aggregation on the federation's tasks (docs/secagg.md): a secure
 * fit task trains as usual, but its result carries only a key advertisement; the trained
 * weights, the example count and the metrics stay here, encoded, until the MaskedInput
 * phase sends them masked. Each later phase is one 'secagg' task answered from here.
 */
import type { SigningKeyPair } from '../shared/crypto/keys.ts';
import type { HealthSums } from '../shared/data/debias-health.ts';
import type { PatternLabelCounts } from '../shared/data/patterns.ts';
import type { Logger } from '../shared/logger.ts';
import type { EvalMetrics, ResultMeta, TaskMeta } from '../shared/protocol/messages.ts';
import { debiasPartValues } from '../shared/secagg/debias-parts.ts';
import { SecAggAbort, SecAggRefusal } from '../shared/secagg/errors.ts';
import { weightedUpdate, type VectorLayout } from '../shared/secagg/layout.ts';
import { RoundPlan } from '../shared/secagg/round-plan.ts';
import { SecAggSite } from '../shared/secagg/site.ts';
import {
  advertFromWire,
  advertToWire,
  requestFromWire,
  responseToWire,
  ringAsFloat32,
  phaseOf,
  SECAGG_PHASE,
  secAggTaskSchema,
  SECURE_METRICS,
  secureFitLayout,
  secureFitTaskSchema,
  type SecureFitTask,
  shareFromWire,
  shareToWire,
  signatureToWire,
  toB64,
} from '../shared/secagg/wire.ts';

type Answer = { meta: ResultMeta; weights?: Float32Array };

interface Open {
  session: string;
  agg: SecAggSite;
  /** The encoded vector, until it is sent masked. */
  input: Uint32Array | undefined;
  /** Refuses a survivor list whose sum would expose one site's part (the final evaluation's lone-site scope). */
  checkSurvivors?: (survivors: readonly string[]) => void;
}

export class SecureAggregationSite {
  private open: Open | undefined;

  constructor(
    private readonly site: string,
    private readonly signing: SigningKeyPair,
    private readonly log: Logger,
  ) {}

  /**
   * The answer to a secure fit task once trained: the key advertisement, with no weights,
   * no example count and no per-site metrics (trainMs stays: timing is visible anyway).
   * A debiased round's health sums and pattern counts go into the same vector.
   */
  fitResult(
    task: TaskMeta,
    base: ResultMeta,
    w: Float32Array,
    numExamples: number,
    train: Record<string, number>,
    evaluation: EvalMetrics | undefined,
    debias: { health?: HealthSums; patternCounts?: PatternLabelCounts } = {},
  ): Answer {
    const metrics: Record<string, number> = train.trainMs === undefined ? {} : { trainMs: train.trainMs };
    return this.input(task, { ...base, metrics }, (t, maxSites) => ({
      layout: secureFitLayout(w.length, maxSites, t.config, t.debias),
      values: {
        ...weightedUpdate(w, numExamples, t.config),
        ...metricParts(numExamples, train, evaluation, t.config.maxExamples),
        ...(t.debias ? debiasPartValues(t.debias, debias.health, debias.patternCounts ?? {}) : {}),
      },
    }));
  }

  /**
   * The answer to any task that opens a secure sum (a fit round, a statistics stage): the
   * vector `build` lays out is encoded and kept; only the key advertisement goes back, with
   * no example count and none of the values.
   */
  input(
    task: TaskMeta,
    base: ResultMeta,
    build: (
      t: SecureFitTask,
      maxSites: number,
    ) => { layout: VectorLayout; values: Record<string, ArrayLike<number>>; meta?: Partial<ResultMeta>; checkSurvivors?: (survivors: readonly string[]) => void },
  ): Answer {
    return this.guard(base, () => {
      const parsed = secureFitTaskSchema.safeParse(task.secagg);
      if (!parsed.success) throw new SecAggRefusal(`secure ${task.kind} task: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 'malformed');
      const t = parsed.data;
      if (t.roster[this.site] !== toB64(this.signing.publicKey)) throw new SecAggRefusal(`the roster does not carry ${this.site}'s enrolled signing key`, 'bad-signature');
      const plan = new RoundPlan(t.session, new Map(Object.entries(t.roster).map(([s, k]) => [s, new Uint8Array(Buffer.from(k, 'base64'))])), t.config);
      const { layout, values, meta, checkSurvivors } = build(t, plan.sites.length);
      const { vector, clipped } = layout.encode(values);
      if (Object.values(clipped).some((n) => n > 0)) this.log.warn('secure aggregation clipped values to their bounds', { round: task.round, kind: task.kind, stage: task.stage, clipped });
      const agg = new SecAggSite(this.site, this.signing.secretKey, plan);
      this.open = { session: t.session, agg, input: vector, ...(checkSurvivors ? { checkSurvivors } : {}) };
      return { meta: { ...base, ...meta, numExamples: 0, secagg: { advert: advertToWire(agg.advertise()) } } };
    });
  }

  /** One 'secagg' task: the phase is its stage. */
  async answer(task: TaskMeta, base: ResultMeta): Promise<Answer> {
    return this.guardAsync(base, async () => {
      const parsed = secAggTaskSchema.safeParse(task.secagg);
      if (!parsed.success) throw new SecAggRefusal(`secagg task: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 'malformed');
      const t = parsed.data;
      const open = this.open;
      if (!open || open.session !== t.session) throw new SecAggRefusal(`no secure round ${t.session} is open at ${this.site}`, 'wrong-phase');
      // The phase; the tens say which sum it belongs to (0 a fit round, else the statistics stage).
      switch (phaseOf(task.stage)) {
        case SECAGG_PHASE.share: {
          const m = await open.agg.shareKeys((t.adverts ?? []).map(advertFromWire));
          return { meta: { ...base, secagg: { shares: m.shares.map(shareToWire) } } };
        }
        case SECAGG_PHASE.mask: {
          // Every site's routed shares come in one broadcast; only those addressed here are opened.
          const mine = (t.shares ?? []).map(shareFromWire).filter((e) => e.to === this.site);
          if (!open.input) throw new SecAggRefusal(`${this.site} has no input left for ${t.session}`, 'wrong-phase');
          const m = open.agg.maskInput(mine, open.input);
          open.input = undefined;
          return { meta: { ...base, weights: m.masked.length, secagg: {} }, weights: ringAsFloat32(m.masked) };
        }
        case SECAGG_PHASE.confirm:
          // Before signing: without this site's signature (and every honest site's) fewer than t sign and nothing is unmasked.
          open.checkSurvivors?.(t.survivors ?? []);
          return { meta: { ...base, secagg: { signature: signatureToWire(open.agg.confirmSurvivors({ survivors: t.survivors ?? [] })) } } };
        case SECAGG_PHASE.unmask:
          return { meta: { ...base, secagg: { response: responseToWire(await open.agg.unmask(requestFromWire(t.request))) } } };
        default:
          throw new SecAggRefusal(`unknown secure aggregation phase ${String(task.stage)}`, 'malformed');
      }
    });
  }

  /** A refusal or abort is this site's answer (an error result), logged with its reason; the federation goes on. */
  private guard(base: ResultMeta, f: () => Answer): Answer {
    try {
      return f();
    } catch (e) {
      return this.failed(base, e);
    }
  }

  private async guardAsync(base: ResultMeta, f: () => Promise<Answer>): Promise<Answer> {
    try {
      return await f();
    } catch (e) {
      return this.failed(base, e);
    }
  }

  private failed(base: ResultMeta, e: unknown): Answer {
    const reason = e instanceof SecAggRefusal ? e.reason : e instanceof SecAggAbort ? 'abort' : 'error';
    const message = (e as Error).message;
    this.log.warn('secure aggregation refused', { round: base.round, stage: base.kind, reason, error: message });
    if (!(e instanceof SecAggRefusal || e instanceof SecAggAbort)) this.open = undefined;
    return { meta: { ...base, numExamples: 0, metrics: {}, error: `secure aggregation ${reason}: ${message}` } };
  }
}

/** Each metric as (weight, weight x value), the weight capped at maxExamples; a value that is not finite adds (0, 0). */
function metricParts(numExamples: number, train: Record<string, number>, evaluation: EvalMetrics | undefined, maxExamples: number): Record<string, number[]> {
  const metricWeights: number[] = [];
  const sums: Record<string, number[]> = {};
  for (const { name } of SECURE_METRICS) {
    const [scope, key] = name.split('.') as [string, string];
    const value = scope === 'train' ? train[key] : (evaluation as unknown as Record<string, number> | undefined)?.[key];
    const weight = Math.min(scope === 'train' ? numExamples : (evaluation?.n ?? 0), maxExamples);
    const ok = typeof value === 'number' && Number.isFinite(value) && weight > 0;
    metricWeights.push(ok ? weight : 0);
    sums[name] = [ok ? weight * value : 0];
  }
  return { metricWeights, ...sums };
}
