/**
 * Section 3: heart disease, leave one site out. Three hospitals train on all their
 * rows; the fourth is a --test-site, scored whole. The training sites get their own
 * file as --holdout only so that simulate trains on every row (their in-sample
 * scores are discarded).
 */
import { join } from 'node:path';
import type { MeanAndSpread } from '../shared/metrics/classification.ts';
import { markdownTable } from '../shared/report/table.ts';
import { sectionSettings, specList, toRecord, type EvalContext, type RunRecord, type SectionSettings } from './context.ts';
import { simOptions, type SimOutcome } from './jobs.ts';
import { decisionTally } from './markdown.ts';
import { BASELINE, candidateSpecs, DEBIASED_AUTO, DEBIASED_ON, HEART_SITES, modelSettings, type ModelSpec } from './settings.ts';
import { atLeast, fmtMeanStd, spread, type Verdict } from './summary.ts';

const SHIPPED: readonly ModelSpec[] = [BASELINE, DEBIASED_AUTO, DEBIASED_ON];
/** METHOD.md / the issue: debiased (auto) mean held-out AUROC within 0.01 of the baseline, or above. */
export const LOSO_TOLERANCE = 0.01;

export interface LosoRun extends RunRecord {
  fold: string;
}

export interface LosoData {
  settings: SectionSettings;
  folds: string[];
  configs: ReturnType<typeof specList>;
  runs: LosoRun[];
  /** config -> fold (and 'mean': the four folds' mean taken per seed) -> held-out AUROC over seeds. */
  auroc: Record<string, Record<string, MeanAndSpread>>;
  target: { baseline: number; debiased: number; difference: number; tolerance: number; verdict: Verdict };
}

export async function runLoso(ctx: EvalContext): Promise<LosoData> {
  const s = ctx.settings;
  // The candidate's auto form decides as auto does (its settings act only inside the dual branch),
  // so only its forced-on form runs here: what the candidate would cost where auto is wrong.
  const configs = ctx.candidate ? [...SHIPPED, candidateSpecs(ctx.candidate).on] : SHIPPED;
  const schemaPath = join(ctx.heartDir, 'schema.json');
  const sites = HEART_SITES.map((h) => ({ name: h.name, path: join(ctx.heartDir, h.file) }));
  const outcomes: SimOutcome[] = [];
  const pending: Promise<LosoRun>[] = [];
  for (const seed of s.seeds)
    for (const held of sites) {
      const train = sites.filter((x) => x !== held);
      for (const spec of configs)
        pending.push(
          ctx.runner
            .run({
              label: `s3 loso ${held.name} ${spec.id} seed ${seed}`,
              options: simOptions({
                schema: schemaPath,
                rounds: s.rounds,
                seed,
                strategy: s.strategy,
                model: spec.model,
                modelSettings: modelSettings(spec, s),
                sites: train,
                holdouts: train,
                testSites: [held],
              }),
            })
            .then((out) => {
              outcomes.push(out);
              return { ...toRecord(spec.id, seed, out, [held.name]), fold: held.name };
            }),
        );
    }
  const runs = await Promise.all(pending);
  const folds = sites.map((x) => x.name);
  const auroc: LosoData['auroc'] = {};
  for (const c of configs) {
    auroc[c.id] = {};
    const mine = runs.filter((r) => r.config === c.id);
    for (const f of folds) auroc[c.id]![f] = spread(mine.filter((r) => r.fold === f).map((r) => r.sites[f]!.auroc));
    auroc[c.id]!.mean = spread(
      s.seeds.map((seed) => {
        const per = mine.filter((r) => r.seed === seed);
        return per.reduce((a, r) => a + r.sites[r.fold]!.auroc, 0) / per.length;
      }),
    );
  }
  const b = auroc[BASELINE.id]!.mean!.mean;
  const d = auroc[DEBIASED_AUTO.id]!.mean!.mean;
  return {
    settings: sectionSettings(s, outcomes),
    folds,
    configs: specList(configs),
    runs,
    auroc,
    target: { baseline: b, debiased: d, difference: d - b, tolerance: LOSO_TOLERANCE, verdict: atLeast(d, b, LOSO_TOLERANCE) },
  };
}

export function renderLoso(d: LosoData): string {
  const out: string[] = [];
  out.push(
    'Train on three hospitals (all their rows), test on the fourth (its whole file, as a `--test-site` that takes no ' +
      'part in training or in the pattern prior). Held-out AUROC, mean ± std over seeds; "mean" is the mean over the ' +
      'four folds, taken per seed.',
    '',
  );
  out.push(
    markdownTable(
      ['model', ...d.folds.map((f) => `held out: ${f}`), 'mean'],
      d.configs.map((c) => [c.label, ...[...d.folds, 'mean'].map((f) => fmtMeanStd(d.auroc[c.id]![f]!))]),
    ),
  );
  const t = d.target;
  out.push(
    `**Target** (debiased auto within ${t.tolerance} of the baseline, or above): ${t.debiased.toFixed(3)} vs ` +
      `${t.baseline.toFixed(3)}, difference ${t.difference >= 0 ? '+' : ''}${t.difference.toFixed(3)}: **${t.verdict}**.`,
    '',
  );
  const rows = d.folds.map((f) => {
    const ds = d.runs.filter((r) => r.config === DEBIASED_AUTO.id && r.fold === f).map((r) => r.debiasing);
    const flagged = [...new Set(ds.flatMap((x) => x?.flagged.map((g) => g.feature) ?? []))];
    return [f, decisionTally(ds), flagged.length ? flagged.join(', ') : 'none'];
  });
  out.push('What auto decided on each fold\'s three training sites (over seeds):', '');
  out.push(markdownTable(['held-out site', 'dual branch', 'features flagged'], rows));
  return out.join('\n');
}
