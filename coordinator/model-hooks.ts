import type { FeatureSpace } from '../shared/data/feature-space.ts';
import type { Logger } from '../shared/logger.ts';
import { backendFromEnv, loadBackend } from '../shared/model/backend.ts';
import { createModel } from '../shared/model/factory.ts';
import type { ModelSpecMsg } from '../shared/protocol/messages.ts';
import type { ModelHooks } from './round-loop.ts';
import { mergeClassMoments, validateClassMoments } from '../shared/data/class-moments.ts';
import { compileDebiasConfig, decideDebiasing, effectiveWeighting, withDecision } from '../shared/model/variants/debiased/index.ts';

/** The coordinator's model-specific steps: seeded initial weights, and the debiasing decision for `debiased`. */
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
    ...(spec.kind === 'debiased' ? { decide: decideFromMoments } : {}),
  };
}

/**
 * Part 3 of METHOD.md: from the summed per-class moments of the training sites
 * (never a held-out site), decide whether a shortcut is there; the decision and
 * its reasons travel to the sites inside the model settings and into the results.
 * Computed in every mode: the bias branch reads the flagged features.
 */
function decideFromMoments(spec: ModelSpecMsg, space: FeatureSpace, moments: unknown[]) {
  const dim = space.columns.length;
  const merged = mergeClassMoments(moments.map((m, i) => validateClassMoments(m, dim, `class moments from site ${i + 1}`)));
  const raw = (spec.raw.debiasing ?? {}) as Record<string, unknown>;
  const cfg = compileDebiasConfig(raw);
  const d = decideDebiasing(merged, space, cfg.decide);
  const debiasing = withDecision(raw, d);
  const dualBranch = cfg.mode === 'auto' ? d.decision === 'on' : cfg.mode === 'on';
  return {
    spec: { ...spec, raw: { ...spec.raw, debiasing } },
    report: {
      mode: cfg.mode,
      decision: dualBranch ? 'on' : 'off',
      share: cfg.share,
      weighting: effectiveWeighting({ ...cfg, flagged: d.flagged }),
      flagged: d.flagged,
      reason: debiasing.reason,
    },
  };
}
