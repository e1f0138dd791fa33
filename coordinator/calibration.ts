import {
  eceAt,
  fitCalibration,
  identityCell,
  leaveOneOutFits,
  mergeCalibrationSums,
  validateCalibrationSums,
  type CalibrationSums,
} from '../shared/metrics/calibration.ts';

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
  sites: Record<string, { eceBefore: number; eceAfter: number; a: number; b: number }>;
  testSites: Record<string, { eceBefore: number; eceAfter: number; a: number; b: number }>;
}

/**
 * Federated recalibration at the final evaluation, from the sites' calibration sums
 * (never rows): the one place they are merged. Sites that sent none are left out.
 */
export function calibrateFromSums(training: Map<string, unknown>, testOnly: Map<string, unknown>): CalibrationReport | undefined {
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
  return {
    a: global.a,
    b: global.b,
    fittedOn: [...train.keys()],
    sites: Object.fromEntries([...train].map(([s, sums]) => [s, row(sums, loo.get(s)!.fit)])),
    testSites: Object.fromEntries([...test].map(([s, sums]) => [s, row(sums, global)])),
  };
}
