/**
 * The final evaluation as every live surface reports it (/api/status `final`, `fedcausal
 * status`, the dashboard, /metrics, the coordinator's log, the past-runs table): the model
 * after the last training round, scored on each site's held-out rows. The per-round figures
 * describe the model a round started from (a site scores what it receives before training),
 * so this is the only figure of the final model until results.json is read.
 */
import type { SiteEvaluation } from '../protocol/messages.ts';

export interface FinalEvaluation {
  /** Training rounds behind the final model. */
  trainingRounds: number;
  /** The federation's final AUROC: finalAuroc() over the training sites; absent where it cannot be formed. */
  auroc?: number;
  /** Each training site's figures on its held-out rows (a secure run: the rates each site reported, without row counts). */
  sites: Record<string, SiteEvaluation>;
  /** Each test-only site's figures on its rows. */
  testSites: Record<string, SiteEvaluation>;
  /** Sites asked for a final evaluation that sent none (gone, failed): the AUROC leaves them out. */
  missing?: string[];
  /** Decimals the sites' own figures were rounded to (a secure run: each reports rates, rounded); absent: exact. */
  siteDecimals?: number;
}

/** What the final AUROC is made of, said beside it. */
export const FINAL_AUROC_MEANING = "the training sites' AUROCs weighted by their held-out rows";

/**
 * The training sites' AUROCs as one figure, weighted by their held-out rows (as a secure
 * run pools them: its pooled figure where given). A site without an AUROC (one class
 * held out) is left out; without row counts and a pooled figure there is none.
 */
export function finalAuroc(
  sites: Readonly<Record<string, { auroc?: number | null; n?: number }>>,
  pooled?: { auroc?: number },
): number | undefined {
  if (typeof pooled?.auroc === 'number' && Number.isFinite(pooled.auroc)) return pooled.auroc;
  let sum = 0;
  let rows = 0;
  for (const s of Object.values(sites)) {
    if (typeof s.auroc !== 'number' || !Number.isFinite(s.auroc)) continue;
    if (typeof s.n !== 'number' || !(s.n > 0)) return undefined;
    sum += s.auroc * s.n;
    rows += s.n;
  }
  return rows > 0 ? sum / rows : undefined;
}

/** The summary of a finished run's final evaluation, from its outcome. */
export function finalEvaluationOf(o: {
  trainingRounds: number;
  sites: Record<string, SiteEvaluation>;
  testSites: Record<string, SiteEvaluation>;
  pooledEvaluation?: { training?: { auroc?: number } };
  /** Every site asked for a final evaluation. */
  asked: readonly string[];
  siteDecimals?: number;
}): FinalEvaluation {
  const auroc = finalAuroc(o.sites, o.pooledEvaluation?.training);
  const missing = o.asked.filter((s) => !o.sites[s] && !o.testSites[s]);
  return {
    trainingRounds: o.trainingRounds,
    ...(auroc !== undefined ? { auroc } : {}),
    sites: o.sites,
    testSites: o.testSites,
    ...(missing.length ? { missing } : {}),
    ...(o.siteDecimals !== undefined ? { siteDecimals: o.siteDecimals } : {}),
  };
}

/** A figure as the surfaces print it: `decimals` places (3 by default), `n/a` where there is none (JSON turns NaN into null). */
export function figure(v: number | null | undefined, decimals = 3): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(decimals) : 'n/a';
}

/** The final AUROC in words, with what it is made of and whom it leaves out: the one sentence status, watch, simulate and the dashboard print. */
export function finalInWords(f: FinalEvaluation): string {
  const leftOut = f.missing?.length ? `; ${f.missing.join(', ')} sent no final evaluation and ${f.missing.length === 1 ? 'is' : 'are'} not in it` : '';
  return `the model after ${f.trainingRounds} round${f.trainingRounds === 1 ? '' : 's'}: AUROC ${figure(f.auroc)} (${FINAL_AUROC_MEANING}${leftOut})`;
}

/** One site's final AUROC as the surfaces print it: its reported decimals, and why it has none. */
export function siteAurocText(e: SiteEvaluation, decimals?: number): string {
  return typeof e.auroc === 'number' && Number.isFinite(e.auroc) ? figure(e.auroc, decimals) : 'n/a (its held-out rows hold one class)';
}

/** The final evaluation as the coordinator's `final evaluation` log line gives it. */
export function finalLogFields(f: FinalEvaluation): Record<string, unknown> {
  return {
    trainingRounds: f.trainingRounds,
    auroc: f.auroc ?? null,
    sites: siteFigures(f.sites),
    testSites: siteFigures(f.testSites),
    ...(f.missing ? { missing: f.missing } : {}),
  };
}

/** Each site's AUROC, accuracy and ECE (and held-out rows where known), for a log line. */
export function siteFigures(sites: Readonly<Record<string, SiteEvaluation>>): Record<string, { auroc: number | null; accuracy: number | null; ece: number | null; n?: number }> {
  const num = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return Object.fromEntries(
    Object.entries(sites).map(([site, e]) => [site, { auroc: num(e.auroc), accuracy: num(e.accuracy), ece: num(e.ece), ...(e.n !== undefined ? { n: e.n } : {}) }]),
  );
}
