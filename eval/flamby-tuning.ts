/**
 * Section 2's strategy tuning: FedAdam, FedYogi and FedProx rows whose one setting
 * (server learning rate, proximal mu) is picked on split seeds the report never shows,
 * and the pick of the best federated row by the same rule (pure functions).
 */
import type { MeanAndSpread } from '../shared/metrics/classification.ts';
import { LOGREG, type EvalSettings, type ModelSpec } from './settings.ts';
import { markdownTable } from '../shared/report/table.ts';
import { fmtMeanStd, pickByAccuracy, spread } from './summary.ts';

/** A federated row under another strategy; its one setting is picked on the tuning seeds (FLAMBY_TUNING_SEEDS). */
export interface TunedSpec extends ModelSpec {
  strategy: 'fedadam' | 'fedyogi' | 'fedprox';
  option: 'serverLearningRate' | 'proximalMu';
  /** The values tried, the library default among them (FedAdam/FedYogi eta 0.1 as in Flower; FedProx mu 0.01). */
  grid: readonly number[];
}

export const TUNED: readonly TunedSpec[] = [
  { id: 'fedadam-logreg', label: 'FedAdam logistic regression', model: 'logreg', strategy: 'fedadam', option: 'serverLearningRate', grid: [0.03, 0.1, 0.3] },
  { id: 'fedadam-baseline', label: 'FedAdam baseline (backbone, no debiasing)', model: 'baseline', strategy: 'fedadam', option: 'serverLearningRate', grid: [0.03, 0.1, 0.3] },
  { id: 'fedyogi-logreg', label: 'FedYogi logistic regression', model: 'logreg', strategy: 'fedyogi', option: 'serverLearningRate', grid: [0.03, 0.1, 0.3] },
  { id: 'fedprox-logreg', label: 'FedProx logistic regression', model: 'logreg', strategy: 'fedprox', option: 'proximalMu', grid: [0.01, 0.1, 1] },
];

export const OPTION_NAME: Record<TunedSpec['option'], string> = { serverLearningRate: 'server lr', proximalMu: 'mu' };

/**
 * Split seeds for choosing the strategies' settings and the best federated row: new
 * splits of the same rows, disjoint from every seed the report shows (the first only
 * in a quick run). Twenty, not five: the candidates differ by one or two of the 254
 * test rows, and FLamby's procedure leaves Switzerland's train part with one class on
 * about a third of its splits (flambySplit), so five draws can hold none of them.
 */
export const FLAMBY_TUNING_SEED_COUNT = 20;
export const FLAMBY_TUNING_SEEDS: readonly number[] = Array.from({ length: FLAMBY_TUNING_SEED_COUNT }, (_, i) => 101 + i);

export function flambyTuningSeeds(s: Pick<EvalSettings, 'quick' | 'seeds'>): number[] {
  const seeds = s.quick ? FLAMBY_TUNING_SEEDS.slice(0, 1) : [...FLAMBY_TUNING_SEEDS];
  const shared = seeds.filter((x) => s.seeds.includes(x));
  if (shared.length) throw new Error(`FLamby tuning seeds ${shared.join(', ')} are also reported seeds; they must be disjoint`);
  return seeds;
}

/** What was tried on the tuning seeds, and what was picked (mean pooled-test accuracy, ties to AUROC). */
export interface FlambyTuning {
  seeds: number[];
  /** Each setting of each tuned row, and each FedAvg row, over the tuning seeds. */
  tried: { config: string; option?: string; value?: number; accuracy: MeanAndSpread; auroc: MeanAndSpread; picked: boolean }[];
  runs: { config: string; value?: number; seed: number; accuracy: number; auroc: number }[];
  /** The federated row (tuned rows at their picked setting) with the highest tuning accuracy: the one the target is checked on. */
  best: string;
}

/** "FedAdam baseline (backbone, no debiasing; server lr 0.1, ...)": the setting joins a label's own parenthesis. */
export function tunedLabel(label: string, setting: string): string {
  return label.endsWith(')') ? `${label.slice(0, -1)}; ${setting})` : `${label} (${setting})`;
}

/** The setting the tuning picked for a tuned row. */
export function pickedValue(tu: FlambyTuning, config: string): number {
  const p = tu.tried.find((x) => x.config === config && x.picked);
  if (p?.value === undefined) throw new Error(`FLamby tuning picked no setting for ${config} (no finite accuracy on the tuning seeds)`);
  return p.value;
}

/**
 * The picks from the tuning runs (pure): per tuned row, the setting with the highest
 * mean accuracy over the tuning seeds (pickByAccuracy); then, among the FedAvg rows
 * and the tuned rows at their picks, the best federated row by the same rule.
 */
export function tuningOutcome(seeds: readonly number[], runs: FlambyTuning['runs']): FlambyTuning {
  const keys: { config: string; value?: number }[] = [];
  for (const r of runs) if (!keys.some((k) => k.config === r.config && k.value === r.value)) keys.push({ config: r.config, value: r.value });
  const tried: FlambyTuning['tried'] = keys.map((k) => {
    const mine = runs.filter((r) => r.config === k.config && r.value === k.value);
    const t = TUNED.find((x) => x.id === k.config);
    return {
      config: k.config,
      ...(t && k.value !== undefined ? { option: t.option, value: k.value } : {}),
      accuracy: spread(mine.map((r) => r.accuracy)),
      auroc: spread(mine.map((r) => r.auroc)),
      picked: false,
    };
  });
  const score = (x: FlambyTuning['tried'][number]) => ({ x, accuracy: x.accuracy.mean, auroc: x.auroc.mean });
  const finalists: FlambyTuning['tried'] = [];
  for (const config of [...new Set(keys.map((k) => k.config))]) {
    const mine = tried.filter((x) => x.config === config);
    const pick = pickByAccuracy(mine.map(score))?.x;
    if (!pick) continue;
    if (pick.value !== undefined) pick.picked = true;
    finalists.push(pick);
  }
  const best = pickByAccuracy(finalists.map(score))?.x.config ?? LOGREG.id;
  return { seeds: [...seeds], tried, runs: [...runs], best };
}

/** "101 to 120" for a run of consecutive seeds, else the list. */
export function seedRun(seeds: readonly number[]): string {
  const consecutive = seeds.length > 2 && seeds.every((x, i) => i === 0 || x === seeds[i - 1]! + 1);
  return consecutive ? `${seeds[0]} to ${seeds[seeds.length - 1]}` : seeds.join(', ');
}

/**
 * How the pick rule came to be, said beside it: two of its parts changed after FLamby's
 * fixed split had been scored, and a reader judging the verdict needs to know that.
 */
export function ruleHistory(bestLabel: string): string {
  return (
    `How this rule came to be: the pick (the highest mean tuning accuracy among every federated row) was fixed before ` +
    `FLamby's own split was first scored, then on 5 tuning splits stratified in every centre; it picked FedProx (mu 0.1), ` +
    `0.787 on FLamby's split. After that split had been scored (SCAFFOLD 0.802 there), two parts changed (2026-11-27): the ` +
    `random splits follow FLamby's procedure (Switzerland, one negative among 46 rows, is not stratified, so its train part ` +
    `holds one class on about a third of the splits, as on FLamby's split), and there are ${FLAMBY_TUNING_SEED_COUNT} tuning splits, since the ` +
    `finalists differ by one or two test rows. Both changes were made knowing the fixed split's numbers, so the verdicts ` +
    `below are reported with that caveat; the row they pick, whatever it turned out to be, is the one judged: ${bestLabel}.`
  );
}

/** The tuning table of section 2; `name` labels a config id, `bestLabel` is the picked row's label. */
export function renderFlambyTuning(t: FlambyTuning, name: (id: string) => string, bestLabel: string, strategyName?: (id: string) => string | undefined): string {
  const seeds = t.seeds.length > 1 ? `seeds ${seedRun(t.seeds)}` : `seed ${t.seeds.join(', ')}`;
  const out = [
    '### Strategy settings, chosen on separate split seeds',
    '',
    `FedAdam and FedYogi have a server learning rate, FedProx a proximal mu. Each value below was run on new FLamby ` +
      `splits (split ${seeds}: the same rows and preparation, never a split the report shows), and the one with the ` +
      `highest mean accuracy on the pooled test rows was kept (a tie goes to the higher AUROC). The same splits pick ` +
      `the best federated row for the targets below, among the rows without a setting (FedAvg, SCAFFOLD) and the tuned rows at their picks: ` +
      `**${bestLabel}**. Local training is the section's ` +
      `(Adam, learning rate 0.01, batch 32, the same rounds x epochs); only the strategy's own setting is tried.`,
    '',
  ];
  if (t.seeds.length === FLAMBY_TUNING_SEED_COUNT) out.push(ruleHistory(bestLabel), '');
  out.push(
    markdownTable(
      ['model', 'setting', 'accuracy (tuning splits)', 'AUROC (tuning splits)', 'picked'],
      t.tried.map((x) => [
        name(x.config),
        x.option ? `${OPTION_NAME[x.option as TunedSpec['option']]} ${x.value}` : (strategyName?.(x.config) ?? 'FedAvg'),
        fmtMeanStd(x.accuracy),
        fmtMeanStd(x.auroc),
        x.picked ? 'yes' : '',
      ]),
    ),
  );
  return out.join('\n');
}
