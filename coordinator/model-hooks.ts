import type { FeatureSpace } from '../shared/data/feature-space.ts';
import type { Logger } from '../shared/logger.ts';
import { backendFromEnv, loadBackend } from '../shared/model/backend.ts';
import { createModel } from '../shared/model/factory.ts';
import type { ModelSpecMsg } from '../shared/protocol/messages.ts';
import type { DebiasHooks } from './debias-monitor.ts';
import { checkCentred, mergeClassMoments, validateClassMoments } from '../shared/data/class-moments.ts';
import { balanceFeatures, balanceResidual, fitOutcomeBalance, sumCellCounts, validateCellCounts } from '../shared/data/outcome-balance.ts';
import { healthFigures, mergeHealthSums, validateHealthSums } from '../shared/data/debias-health.ts';
import { compileDebiasConfig, decideDebiasing, effectiveWeighting, usesDualBranch, withDecision } from '../shared/model/variants/debiased/index.ts';
import { healthDirection, PATTERN_SIGNAL_MIN_Z, PATTERN_SIGNAL_NOTE_AUROC } from '../shared/model/variants/debiased/config.ts';
import { patternLabelAuroc, patternLabelDependence, type PatternLabelCounts } from '../shared/data/patterns.ts';
import type { PatternSignal } from '../shared/federation/debiasing-report.ts';

/** Model-specific work the round loop delegates (creating initial weights, the debiasing steps). */
export interface ModelHooks {
  initialWeights(spec: ModelSpecMsg, space: FeatureSpace): Promise<Float32Array>;
  debias?: DebiasHooks;
}

/** The coordinator's model-specific steps: seeded initial weights, and the debiasing steps for `debiased`. */
export function modelHooks(spec: ModelSpecMsg, log: Logger): ModelHooks {
  return {
    async initialWeights(s: ModelSpecMsg, space: FeatureSpace) {
      await loadBackend(backendFromEnv(process.env), log);
      const m = createModel(s.kind, space, s.raw, s.seed);
      try {
        return m.params.getFlat();
      } finally {
        m.dispose();
      }
    },
    ...(spec.kind === 'debiased' ? { debias: debiasHooks } : {}),
  };
}

/** The pattern's label signal, with a note where balancing removes one (PATTERN_SIGNAL_NOTE_AUROC, beyond chance: PATTERN_SIGNAL_MIN_Z). */
export function patternSignal(counts: PatternLabelCounts, balanced: boolean): PatternSignal {
  const auroc = patternLabelAuroc(counts);
  const strong = balanced && auroc >= PATTERN_SIGNAL_NOTE_AUROC && patternLabelDependence(counts).z >= PATTERN_SIGNAL_MIN_Z;
  return {
    auroc,
    balanced,
    ...(strong
      ? {
          note:
            `the missingness pattern alone tells the label at AUROC ${auroc.toFixed(2)} in the training rows, and pattern-outcome balancing ` +
            `trains as if it told nothing. Where that is a hospital's ordering habit, which a hospital the model will serve may not share, ` +
            `balancing makes the model lean on it less there, which wins back part of what the habit costs there, seldom all of it (on a cohort ` +
            `family: +0.00 to +0.07 AUROC at a hospital without the habit); where tests are ordered that way at every hospital the model will serve, it costs accuracy ` +
            `(on a cohort family: -0.01 to -0.04 AUROC at a pattern AUROC of 0.57-0.65, about -0.1 at 0.8). The data cannot tell the two ` +
            `apart: compare with the same run with model.debiasing.balancing: false (simulate --model-config), and keep that where the practice is shared (docs/debiasing.md)`,
        }
      : {}),
  };
}

const debiasConfig = (spec: ModelSpecMsg) => compileDebiasConfig(spec.raw.debiasing ?? {}, 'model.debiasing');

/**
 * METHOD.md Part 3 and the outcome weights, on summed statistics only: the decision
 * from the training sites' class moments (never a held-out site), the weight table
 * from their (cell, label) counts, and each round's health figures from their sums.
 */
const debiasHooks: DebiasHooks = {
  decide(spec, space, moments, patternCounts) {
    const dim = space.columns.length;
    const pooled = moments.map((m, i) => validateClassMoments(m.pooled, dim, `class moments from site ${i + 1}`));
    const merged = mergeClassMoments(pooled);
    // Protocol 2 sends both views (a plain result without the centred one is refused on receipt); a secure entry is one sum.
    const withinSite = mergeClassMoments(
      moments.map((m, i) => {
        const where = `site-centred class moments from site ${i + 1}`;
        const c = validateClassMoments(m.withinSite, dim, where, { centred: true });
        checkCentred(c, m.summed ? undefined : pooled[i], where);
        return c;
      }),
    );
    const raw = (spec.raw.debiasing ?? {}) as Record<string, unknown>;
    const cfg = debiasConfig(spec);
    const d = decideDebiasing(merged, space, cfg.decide, { suspect: cfg.suspect, trusted: cfg.trusted }, withinSite);
    const debiasing = withDecision(raw, d);
    const resolved = compileDebiasConfig(debiasing, 'model.debiasing');
    const outcome = resolved.active && resolved.weighting === 'outcome' && d.flagged.length > 0;
    return {
      spec: { ...spec, raw: { ...spec.raw, debiasing } },
      balanceFeatures: outcome ? d.flagged.map((f) => f.feature) : [],
      report: {
        // 2: flagged features carry their source, health per round, markers; 3: the pattern's label signal;
        // 4: severityStructure, balance.residual and clippedWeight, flagged[].columnLabelCorr (CHANGELOG).
        version: 4,
        mode: cfg.mode,
        decision: resolved.active ? 'on' : 'off',
        weighting: resolved.active ? effectiveWeighting(resolved) : resolved.balancing ? 'pattern balancing only' : 'none (balancing off)',
        dualBranch: usesDualBranch(resolved),
        share: cfg.share,
        flagged: d.flagged,
        markers: d.markers,
        severityStructure: d.structure,
        reason: String(debiasing.reason),
        pattern: patternSignal(patternCounts, resolved.balancing),
      },
    };
  },
  fitBalance(spec, space, features, counts, published) {
    const cfg = debiasConfig(spec);
    const numeric = balanceFeatures(space, features).map((f) => f.kind === 'numeric');
    const summed = sumCellCounts(counts.map((c, i) => validateCellCounts(c, features.length, `cell counts from site ${i + 1}`)));
    // A pattern with a label cell under priors.minCellCount gets no level (the prior's own rule): the
    // table goes to every site, and an outside review read a 3-row pattern's +5.2 as "these three
    // patients were all positive" (and a 5-row pattern's level told its one positive from none).
    const listed = new Set(published);
    const merged = Object.fromEntries(Object.entries(summed).filter(([k]) => listed.has(k.slice(0, k.indexOf('|')))));
    const balance = fitOutcomeBalance(merged, features, numeric, cfg.maxWeight);
    const residual = balanceResidual(merged, balance, numeric);
    return { balance, report: { cells: Object.keys(merged).length, maxWeight: cfg.maxWeight, clippedShare: balance.clippedShare, clippedWeight: balance.clippedWeight ?? 0, residual } };
  },
  health(spec, sums, from) {
    const cfg = debiasConfig(spec);
    const names = cfg.flagged.map((f) => f.feature);
    const merged = mergeHealthSums(sums.map((h, i) => validateHealthSums(h, names, `health sums from ${from?.[i] ?? `site ${i + 1}`}`)));
    const direction = Object.fromEntries(cfg.flagged.map((f) => [f.feature, healthDirection(f)]));
    return { ...healthFigures(merged, direction), tolerance: cfg.reversalTolerance };
  },
  readings: (spec) => debiasConfig(spec).flagged.map((f) => f.feature),
};
