/**
 * What a site reports about a model (its training metrics, held-out evaluations, calibration
 * sums and own recalibration, a secure run's report), checked when the result arrives: each
 * figure a number within what it can be, each object kept to its known fields. A refusal is
 * a ProtocolError ('malformed' for a wrong type, 'out-of-bounds' for a number out of range):
 * the endpoint fails that site for the round and the run goes on. Unchecked, an outside attack
 * put an AUROC of 57 in the round log and the results, a 3.5 MB field into every round's
 * record in the state file, and a mean score of 5 in the final evaluation, which ended the
 * whole run with no results when the calibration was fitted after the last round.
 */
import { ProtocolError } from '../shared/errors.ts';
import type { CalibrationSums } from '../shared/metrics/calibration.ts';
import { validateCalibrationSums } from '../shared/metrics/calibration-check.ts';
import { shareWithinRounding, validateSiteCalibration, validateSiteCalibrationRates } from '../shared/metrics/site-calibration.ts';
import type { ResultMeta } from '../shared/protocol/messages.ts';
import { isCount, isRecord, show } from './result-bounds.ts';

/** A fit result's training metrics: all a site sends (secure: trainMs alone); anything else is dropped. */
const TRAIN_METRICS = ['loss', 'steps', 'trainMs'] as const;
/** Shares in [0, 1]; NaN (null on the wire) where undefined, such as AUROC on one class. */
const RATES = ['auroc', 'accuracy', 'balancedAccuracy', 'ece'] as const;

export interface FigureContext {
  site: string;
  kind: ResultMeta['kind'];
  /** limits.maxExamplesPerSite: an evaluation's rows at most. */
  maxExamplesPerSite: number;
}

/**
 * Checks every figure `meta` reports and replaces each object with its known fields only;
 * returns the names of the fields it dropped (for a warning). Throws ProtocolError to refuse.
 */
export function checkReportedFigures(meta: ResultMeta, at: FigureContext): string[] {
  const m = meta as unknown as Record<string, unknown>; // decoded JSON from a site
  const c = new FigureCheck(at);
  // A fit round's record is made from its metrics; other kinds' carry nothing (an empty object).
  if (m.metrics !== undefined || at.kind === 'fit') m.metrics = c.metrics(m.metrics);
  if (m.evaluation !== undefined) m.evaluation = c.evaluation(m.evaluation, 'evaluation', true);
  if (m.localEvaluation !== undefined) m.localEvaluation = c.evaluation(m.localEvaluation, 'localEvaluation', true);
  if (m.calibration !== undefined) m.calibration = c.calibration(m.calibration);
  if (m.siteCalibration !== undefined) m.siteCalibration = validateSiteCalibration(m.siteCalibration, c.where('siteCalibration'));
  if (m.report !== undefined) m.report = c.report(m.report);
  return c.dropped;
}

/** One result's checks: each refusal names the site and the field; `dropped` collects the unknown fields left out. */
class FigureCheck {
  readonly dropped: string[] = [];

  constructor(private readonly at: FigureContext) {}

  where(field: string): string {
    return `${this.at.kind} from site "${this.at.site}": ${field}`;
  }

  private refuse(field: string, what: string, v: unknown, reason: 'malformed' | 'out-of-bounds'): never {
    throw new ProtocolError(`${this.where(field)} must be ${what} (got ${show(v)})`, reason);
  }

  /** Only `known` of `o`'s keys, the rest named in `dropped`. */
  private keep(o: Record<string, unknown>, name: string, known: readonly string[]): Record<string, unknown> {
    for (const k of Object.keys(o)) if (!known.includes(k)) this.dropped.push(`${name}.${k.slice(0, 40)}`);
    return Object.fromEntries(known.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
  }

  private record(raw: unknown, name: string): Record<string, unknown> {
    return isRecord(raw) ? raw : this.refuse(name, 'an object', raw, 'malformed');
  }

  /** A finite number >= 0; `optional`: also absent, or null/NaN (undefined on one class, or zero rows). */
  private nonNegative(v: unknown, field: string, optional = false): void {
    if (optional && (v === undefined || v === null || Number.isNaN(v))) return;
    if (typeof v !== 'number') this.refuse(field, 'a number', v, 'malformed');
    if (!Number.isFinite(v) || v < 0) this.refuse(field, 'a finite number >= 0', v, 'out-of-bounds');
  }

  /** A share in [0, 1] (clamped within float rounding), or null/NaN where undefined. */
  private rate(v: unknown, field: string): unknown {
    if (v === null || Number.isNaN(v)) return v;
    const what = 'a number in [0, 1], or null where undefined';
    if (typeof v !== 'number') return this.refuse(field, what, v, 'malformed');
    return shareWithinRounding(v) ?? this.refuse(field, what, v, 'out-of-bounds');
  }

  /** A fit result's training metrics; an honest site never sends a non-finite loss (it reports a failure instead: site-agent/agent.ts). */
  metrics(raw: unknown): Record<string, unknown> {
    const metrics = this.keep(this.record(raw, 'metrics'), 'metrics', TRAIN_METRICS);
    for (const [k, v] of Object.entries(metrics)) this.nonNegative(v, `metrics.${k}`);
    return metrics;
  }

  /** A held-out evaluation: its row count (where it carries one), its rates, and its log-loss where given. */
  evaluation(raw: unknown, name: string, withN: boolean): Record<string, unknown> {
    const e = this.keep(this.record(raw, name), name, withN ? ['n', ...RATES, 'loss'] : [...RATES, 'loss']);
    if (withN && !isCount(e.n, this.at.maxExamplesPerSite)) this.refuse(`${name}.n`, `an integer from 0 to ${this.at.maxExamplesPerSite}`, e.n, 'out-of-bounds');
    for (const k of RATES) e[k] = this.rate(e[k], `${name}.${k}`);
    this.nonNegative(e.loss, `${name}.loss`, true);
    return e;
  }

  /** The final evaluation's calibration sums (shared/metrics/calibration.ts), over at most the row cap. */
  calibration(raw: unknown): CalibrationSums {
    const sums = validateCalibrationSums(raw, this.where('calibration'));
    if (sums.n > this.at.maxExamplesPerSite) this.refuse('calibration.n', `an integer from 0 to ${this.at.maxExamplesPerSite}`, sums.n, 'out-of-bounds');
    return sums;
  }

  /** A secure final evaluation's own report: rates without row counts, rounded by the site. */
  report(raw: unknown): Record<string, unknown> {
    const r = this.keep(this.record(raw, 'report'), 'report', ['evaluation', 'localEvaluation', 'siteCalibration']);
    if (r.evaluation !== undefined) r.evaluation = this.evaluation(r.evaluation, 'report.evaluation', false);
    if (r.localEvaluation !== undefined) r.localEvaluation = this.evaluation(r.localEvaluation, 'report.localEvaluation', false);
    if (r.siteCalibration !== undefined) r.siteCalibration = validateSiteCalibrationRates(r.siteCalibration, this.where('report.siteCalibration'));
    return r;
  }
}
