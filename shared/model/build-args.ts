import type { FeatureSpace } from '../data/feature-space.ts';
import type { ModelConfig } from './config.ts';

/** What the factory hands a variant's builder (its own module, so variants need not import the factory). */
export interface ModelBuildArgs {
  space: FeatureSpace;
  config: ModelConfig;
  /** The raw model section, for variants with settings of their own (debiasing). */
  raw: Record<string, unknown>;
  seed: number;
}
