import {
  eceAt,
  fitCalibration,
  identityCell,
  leaveOneOutFits,
  mergeCalibrationSums,
  type CalibrationSums,
} from '../shared/metrics/calibration.ts';
import { validateCalibrationSums } from '../shared/metrics/calibration-check.ts';
import { validateSiteCalibration, type SiteCalibrationReport } from '../shared/metrics/site-calibration.ts';

/** What the results file says about calibration (INTERFACES.md results, `calibration`). */
export interface CalibrationReport {
  /** p' = sigmoid(a logit(p) + b), fitted on every training site's held-out rows: what a deployment applies. */
  a: number;
  b: number;
  fittedOn: string[];
  /**
   * Per site, ECE of the raw scores and of the recalibrated ones. A training site's
   * "after" uses the parameters fitted on the OTHER training sites' rows (so no site is
   * scored with parameters it helped fit); a test-only site's uses the global fit.
   */
  sites: Record<string, { eceBefore: number; eceAfter: number; a: number; b: number; own?: SiteCalibrationReport }>;
  testSites: Record<string, { eceBefore: number; eceAfter: number; a: number; b: number }>;
  /**
   * Present when training sites sent their own recalibration: what each site fits on its
   * OWN training rows and applies to its own scores (p' = sigmoid(a logit(p) + b), per site,
   * in `sites[NAME].own` with ECE of its held-out rows before and after).
   */
  siteMethod?: string;
  /**
   * A securely aggregated run (docs/secagg.md): no site's sums are known, so instead of the
   * rows per site, ECE before and after over the training sites' and the test sites' pooled
   * held-out rows, and each training site's own recalibration as it reported it.
   */
  pooled?: { training: { eceBefore: number; eceAfter: number }; test?: { eceBefore: number; eceAfter: number } };
  ownBySite?: Record<string, Pick<SiteCalibrationReport, 'a' | 'b' | 'eceBefore' | 'eceAfter'>>;
}

export const SITE_METHOD = "Platt scaling per site: p' = sigmoid(a logit(p) + b), (a, b) fitted by maximum likelihood (Platt's targets) on the site's own training rows; absent for a site whose training rows hold one class";

/**
 * Federated recalibration at the final evaluation, from the sites' calibration sums
 * (never rows): the one place they are merged. Sites that sent none are left out.
 */
export function calibrateFromSums(
  training: Map<string, unknown>,
  testOnly: Map<string, unknown>,
  own: Map<string, unknown> = new Map(),
): CalibrationReport | undefined {
  const check = (m: Map<string, unknown>) =>
    new Map([...m].map(([site, raw]) => [site, validateCalibrationSums(raw, `calibration sums from site "${site}"`)] as [string, CalibrationSums]));
  const train = check(training);
  const test = check(testOnly);
  if (train.size === 0) return undefined;
  const global = fitCalibration(mergeCalibrationSums([...train.values()]));
  const identity = identityCell();
  const loo = leaveOneOutFits(train);
  const row = (sums: CalibrationSums, fit: { cell: number; a: number; b: number }) => ({
    eceBefore: eceAt(sums, identity),
    eceAfter: eceAt(sums, fit.cell),
    a: fit.a,
    b: fit.b,
  });
  const ownOf = new Map([...own].filter(([s]) => train.has(s)).map(([s, raw]) => [s, validateSiteCalibration(raw, `own calibration from site "${s}"`)]));
  return {
    a: global.a,
    b: global.b,
    fittedOn: [...train.keys()],
    sites: Object.fromEntries([...train].map(([s, sums]) => [s, { ...row(sums, loo.get(s)!.fit), ...(ownOf.has(s) ? { own: ownOf.get(s)! } : {}) }])),
    testSites: Object.fromEntries([...test].map(([s, sums]) => [s, row(sums, global)])),
    ...(ownOf.size > 0 ? { siteMethod: SITE_METHOD } : {}),
  };
}

/**
 * The recalibration of a securely aggregated run: fitted on the training sites' summed
 * calibration sums (what the plain run fits on, merged), with ECE before and after over
 * the pooled held-out rows of the training sites (in-sample here: the leave-one-site-out
 * rows need each site's sums) and of the test-only sites.
 */
export function calibrateFromSummed(
  training: CalibrationSums | undefined,
  test: CalibrationSums | undefined,
  fittedOn: string[],
  own: Record<string, Pick<SiteCalibrationReport, 'a' | 'b' | 'eceBefore' | 'eceAfter'>>,
): CalibrationReport | undefined {
  if (!training) return undefined;
  const fit = fitCalibration(validateCalibrationSums(training, 'summed calibration sums of the training sites'));
  const identity = identityCell();
  const ece = (s: CalibrationSums) => ({ eceBefore: eceAt(s, identity), eceAfter: eceAt(s, fit.cell) });
  return {
    a: fit.a,
    b: fit.b,
    fittedOn,
    sites: {},
    testSites: {},
    pooled: { training: ece(training), ...(test ? { test: ece(validateCalibrationSums(test, 'summed calibration sums of the test sites')) } : {}) },
    ...(Object.keys(own).length > 0 ? { siteMethod: SITE_METHOD, ownBySite: own } : {}),
  };
}
