/**
 * What a run agrees before training (statistics-rounds.ts), or a restart restores from its
 * durable state: the setup every task carries, what /api/status shows of it (the prior, each
 * site's readiness, the debiasing decision), and each site's stage-1 row count, which bounds
 * what it may claim later. The round loop runs the exchanges; this keeps what they agreed.
 */
import type { PatternPrior } from '../shared/data/patterns.ts';
import type { DebiasingReport } from '../shared/federation/debiasing-report.ts';
import type { Participation } from './participation.ts';
import type { Readiness } from './readiness.ts';
import type { FederationSetup } from './round-outcome.ts';
import type { SavedState } from './state/store.ts';
import { agreeStatistics, type StatisticsOptions, type StatisticsSource } from './statistics-rounds.ts';

export class RunSetup {
  prior: PatternPrior | undefined;
  readiness: Readiness | undefined;
  decisionReport: DebiasingReport | undefined;
  /** Each site's stage-1 rows, the weight it may claim; `rowsKept` is false when resumed from older state, which did not keep them. */
  private readonly siteRows = new Map<string, number>();
  private rowsKept = true;

  constructor(
    private readonly o: StatisticsOptions & { secure?: { config: { minSites: number } } },
    private readonly participation: Participation,
  ) {}

  /** What bounds `site`'s counts (result-bounds.ts). */
  rowsOf(site: string): { rows: number | undefined; rowsKept: boolean } {
    return { rows: this.siteRows.get(site), rowsKept: this.rowsKept };
  }

  /** `site`'s stage-1 row count (a plain statistics round: a secure one tells no site's count). */
  recordRows(site: string, rows: number): void {
    this.siteRows.set(site, rows);
  }

  /** Runs the statistics from `source` to the agreed setup, keeping the prior, readiness and decision as each is known. */
  async agree(source: StatisticsSource): Promise<FederationSetup> {
    const setup = await agreeStatistics(this.o, source, {
      published: (prior, readiness) => ((this.prior = prior), (this.readiness = readiness)),
      decided: (report) => (this.decisionReport = report),
    });
    return { ...setup, siteRows: Object.fromEntries(this.siteRows), leftOut: this.participation.saved() };
  }

  /** Stage 1 answered by `sites` (participation.ts); too few for secure aggregation's minimum fail the run now, not at round 1. */
  counted(sites: readonly string[], failures: ReadonlyMap<string, { reason: string }>): void {
    this.participation.counted(sites, failures);
    const n = this.participation.participants.length;
    const minSites = this.o.secure?.config.minSites;
    if (minSites !== undefined && n < minSites)
      throw new Error(
        `secure aggregation needs at least ${minSites} sites in every training round (secureAggregation.minSites), ` +
          `but only ${n} training sites answered the statistics round (left out: ${Object.keys(this.participation.saved()).join(', ')})`,
      );
  }

  /** The setup a restart resumes with, and what status shows of it. */
  restore(saved: SavedState): FederationSetup {
    const s = saved.setup as unknown as FederationSetup & { decisionReport?: DebiasingReport };
    this.prior = s.prior;
    this.readiness = s.readiness;
    if (s.decisionReport) this.decisionReport = s.decisionReport;
    if (s.siteRows) for (const [site, n] of Object.entries(s.siteRows)) this.siteRows.set(site, n);
    else this.rowsKept = false;
    return { spec: s.spec, space: s.space, prior: s.prior, ...(s.balance ? { balance: s.balance } : {}) };
  }
}
