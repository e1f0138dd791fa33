/**
 * The /api/status document as the page reads it. Type-only imports of the coordinator's own
 * status types: esbuild drops them, so no server code reaches the bundle.
 */
export type { FederationStatus, SiteStatus, RoundSummary } from '../../../../shared/federation/status.ts';
export type { CurrentRound, SiteDetail, SiteCurvePoint, PastRun, FederationEvent } from '../../../../shared/federation/dashboard-status.ts';

/** The debiasing report's fields the page shows (INTERFACES.md, results file `debiasing`). */
export interface DebiasingReport {
  mode?: string;
  decision?: string;
  weighting?: string;
  share?: number;
  reason?: string;
  flagged?: { feature: string; labelCorr?: number; withinClassCorr?: number; source?: string }[];
  health?: {
    round: number;
    weightedAssociation?: Record<string, number>;
    reliance?: Record<string, number>;
    conflictingShare?: number;
    effectiveSampleSize?: number;
    priorDrift?: number;
    tempered?: boolean;
    temper?: number;
  }[];
}
