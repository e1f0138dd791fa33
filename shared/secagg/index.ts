/** Secure aggregation (Bonawitz et al. 2017; SecAgg+ of Bell et al. 2020): the public surface. */
export { compileSecAggConfig, secAggConfigSchema, thresholdFor, type SecAggConfig, type SecAggConfigInput } from './config.ts';
export { SecAggAbort, SecAggRefusal, type SecAggRefusalReason } from './errors.ts';
export { fractionalBitsFor, quantizationErrorBound } from './fixed-point.ts';
export { modelUpdateLayout, VectorLayout, weightedUpdate, type Encoded, type PartKind, type PartSpec } from './layout.ts';
export type {
  EncryptedShare,
  KeyAdvertisement,
  MaskedInputMessage,
  RevealedShare,
  ShareKeysMessage,
  SurvivorList,
  SurvivorSignature,
  UnmaskRequest,
  UnmaskResponse,
} from './messages.ts';
export { payloadBytes } from './messages.ts';
export { RoundPlan } from './round-plan.ts';
export { SecAggSite } from './site.ts';
export { SecAggCoordinator, type SecAggResult } from './coordinator.ts';
export { runInMemoryRound, type DropPoint, type InMemoryRound, type InMemorySite } from './in-memory.ts';
