/**
 * Privacy accounting for the Gaussian mechanism, by zero-concentrated differential privacy
 * (zCDP; Bun & Steinke, TCC 2016). One release of a query with L2 sensitivity Δ plus
 * N(0, σ²) noise per coordinate is ρ-zCDP with ρ = Δ² / (2σ²) (their Prop. 1.6); releases
 * compose by adding ρ (Lemma 1.7). ρ-zCDP is (α, αρ)-RDP for every α > 1, and is reported as
 * (ε, δ)-DP with the conversion of Canonne, Kamath & Steinke (NeurIPS 2020, Prop. 12):
 *   ε(δ) = min over α > 1 of  αρ + ln(1/δ)/(α−1) + ln(1 − 1/α) − ln(α)/(α−1),
 * never worse than the classic ρ + 2√(ρ ln(1/δ)) (Bun & Steinke Prop. 1.3), which is kept as
 * a check. Every site's data is used in every round (no subsampling), so there is no
 * amplification to claim.
 */

/** ρ of one Gaussian release: sensitivity Δ (L2), noise standard deviation σ. */
export function gaussianZcdp(sensitivity: number, sigma: number): number {
  if (!(sensitivity >= 0) || !Number.isFinite(sensitivity)) throw new Error(`sensitivity must be a finite number >= 0, got ${sensitivity}`);
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new Error(`sigma must be a finite number > 0, got ${sigma}`);
  return (sensitivity * sensitivity) / (2 * sigma * sigma);
}

/** The classic conversion (Bun & Steinke Prop. 1.3): ρ-zCDP implies (ρ + 2√(ρ ln 1/δ), δ)-DP. */
export function zcdpToEpsilonClassic(rho: number, delta: number): number {
  checkDelta(delta);
  return rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
}

/** The tighter conversion (Canonne, Kamath & Steinke 2020, Prop. 12), minimised over α. */
export function zcdpToEpsilon(rho: number, delta: number): number {
  checkDelta(delta);
  if (rho === 0) return 0;
  const at = (a: number) => a * rho + Math.log(1 / delta) / (a - 1) + Math.log(1 - 1 / a) - Math.log(a) / (a - 1);
  // The bound is convex in α near its minimum; a log-spaced scan then a golden-section refine.
  let best = 1 + 1e-6;
  let bestValue = at(best);
  for (let e = -5; e <= 7; e += 0.01) {
    const a = 1 + 10 ** e;
    const v = at(a);
    if (v < bestValue) [best, bestValue] = [a, v];
  }
  let lo = Math.max(1 + 1e-9, (best - 1) / 1.03 + 1);
  let hi = (best - 1) * 1.03 + 1;
  const g = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 100; i++) {
    const m1 = hi - g * (hi - lo);
    const m2 = lo + g * (hi - lo);
    if (at(m1) < at(m2)) hi = m2;
    else lo = m1;
  }
  return Math.max(0, Math.min(bestValue, at((lo + hi) / 2), zcdpToEpsilonClassic(rho, delta)));
}

function checkDelta(delta: number): void {
  if (!(delta > 0 && delta < 1)) throw new Error(`delta must be in (0, 1), got ${delta}`);
}

/** One accounted release, for the per-round report. */
export interface PrivacyCharge {
  round: number;
  /** What was released: 'counts', 'update', ... */
  what: string;
  sensitivity: number;
  sigma: number;
  rho: number;
}

/** The privacy spent so far, as the results file and the dashboard report it. */
export interface PrivacySpent {
  accountant: 'zCDP (Bun & Steinke 2016), (ε, δ) by Canonne, Kamath & Steinke 2020';
  delta: number;
  rho: number;
  epsilon: number;
  /** ε after each round (cumulative). */
  perRound: { round: number; rho: number; epsilon: number }[];
}

/** Adds up the Gaussian releases of a run; ρ composes by addition. */
export class ZcdpAccountant {
  private readonly charges: PrivacyCharge[] = [];

  constructor(private readonly delta: number) {
    checkDelta(delta);
  }

  charge(round: number, what: string, sensitivity: number, sigma: number): PrivacyCharge {
    const c = { round, what, sensitivity, sigma, rho: gaussianZcdp(sensitivity, sigma) };
    this.charges.push(c);
    return c;
  }

  spent(): PrivacySpent {
    const rounds = [...new Set(this.charges.map((c) => c.round))].sort((a, b) => a - b);
    let rho = 0;
    const perRound = rounds.map((round) => {
      for (const c of this.charges) if (c.round === round) rho += c.rho;
      return { round, rho, epsilon: zcdpToEpsilon(rho, this.delta) };
    });
    return { accountant: 'zCDP (Bun & Steinke 2016), (ε, δ) by Canonne, Kamath & Steinke 2020', delta: this.delta, rho, epsilon: zcdpToEpsilon(rho, this.delta), perRound };
  }
}
