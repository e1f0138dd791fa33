/**
 * Attack probes on SCAFFOLD (not part of the suite: findings, printed; run one at a time with
 * `node --import tsx --test tests/probes/scaffold-attack.probe.ts`).
 * 1. One hostile site (va) sends a control variate that passes checkControlVariate (finite,
 *    right length) but is large or points against the federation's gradient: meanControl
 *    clips its share to 3 x the lower median ||c_j|| (the default then; now 2), still about 3 times the honest
 *    sites' whole c, and every honest site then adds it to every Adam step (FlatAdam
 *    normalises per coordinate, so the correction sets the direction). Measured on the four
 *    heart-disease sites, 10 rounds logreg: honest mean AUROC 0.879 clean, 0.502 with all
 *    entries 1e30, 0.418 with -100 x its own gradient (fedavg with a 1e6 update: within 0.02).
 * 2. A limits.resultMetaKiB that passed the round loop's check (24 bytes a parameter) but not
 *    the result's other meta: every fit result was refused, every round (fixed: the check now
 *    counts 26 bytes a parameter plus 64 KiB, and refuses before round 1).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSimulation, type SimulateOptions } from '../../cli/simulate.ts';
import { DEFAULT_RESULT_BOUNDS } from '../../coordinator/result-bounds.ts';
import { simOptions } from '../../eval/jobs.ts';
import { silentLogger } from '../../shared/logger.ts';
import { HEART_FILES, HEART_SCHEMA } from '../e2e/helpers/federation.ts';
import { hostileTransport, type Tamper } from '../cli/hostile-site.ts';

const SITES = ['cleveland', 'hungary', 'switzerland', 'va'];
const HOSTILE = 'va';

function options(strategy: string, tamper?: Tamper, extra: Partial<SimulateOptions> = {}): SimulateOptions {
  return {
    ...simOptions({ schema: HEART_SCHEMA, sites: SITES.map((name) => ({ name, path: HEART_FILES[name]! })), model: 'logreg', rounds: 10, seed: 1, strategy, modelSettings: { localEpochs: 1 } }),
    minSitesToAccept: 3,
    ...(tamper ? { siteTransport: (site, t, keys) => (site === HOSTILE ? hostileTransport(t, keys, tamper) : t) } : {}),
    ...extra,
  };
}
const honestAuroc = (s: Record<string, { auroc: number }>) => SITES.filter((x) => x !== HOSTILE).reduce((a, x) => a + s[x]!.auroc, 0) / (SITES.length - 1);
const fit = (f: (m: any, w: Float32Array) => ReturnType<Tamper>): Tamper => (meta, weights) => (meta.kind === 'fit' ? f(meta, weights) : { meta, weights });

test('one hostile site moves every honest site through c', { timeout: 300_000 }, async () => {
  const cases: [string, string, Tamper | undefined][] = [
    ['fedavg clean', 'fedavg', undefined],
    ['fedavg, 1e6 update', 'fedavg', fit((m, w) => ({ meta: m, weights: w.map((x, i) => x + (i % 2 ? 1e6 : -1e6)) }))],
    ['scaffold clean', 'scaffold', undefined],
    ['scaffold, c entries 1e30', 'scaffold', fit((m, w) => ({ meta: { ...m, controlVariate: m.controlVariate?.map(() => 1e30) }, weights: w }))],
    ['scaffold, c = -100 x own gradient', 'scaffold', fit((m, w) => ({ meta: { ...m, controlVariate: m.controlVariate?.map((x: number) => -100 * x) }, weights: w }))],
  ];
  for (const [name, strategy, tamper] of cases) {
    const { results } = await runSimulation(options(strategy, tamper), silentLogger);
    console.log(`${name}: honest sites' mean AUROC ${honestAuroc(results.sites).toFixed(3)}, participants ${results.history.map((h) => h.participants).join('')}`);
  }
});

test('a resultMetaKiB too small for a fit result with its control variate is refused before round 1', { timeout: 120_000 }, async () => {
  // Found by this probe: the check once asked 24 bytes a parameter only (792 for logreg's 33), which passed 1000 bytes while
  // every fit result (about 1100 bytes of meta) was then refused. It now asks 26 a parameter plus 64 KiB for the rest.
  await assert.rejects(
    runSimulation(options('scaffold', undefined, { bounds: { ...DEFAULT_RESULT_BOUNDS, resultMetaBytes: 1000 } }), silentLogger),
    /strategy scaffold: a site's result needs about 65 KiB of meta .* over limits.resultMetaKiB \(0\)/,
  );
});
