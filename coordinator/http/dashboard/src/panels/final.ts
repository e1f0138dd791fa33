/**
 * The final evaluation: the model after the last round on each site's held-out rows, once it
 * is in. The rounds' figures score the model each round started from; this is the only
 * figure of the final model before results.json is read (an outside try found it nowhere live).
 * A site that sent none is listed as such (the federation's figure leaves it out), a secure
 * run's per-site figures keep the decimals the sites rounded them to.
 */
import { byId, emptyRow, fmt, row, td } from '../dom.ts';
import type { FederationStatus } from '../types.ts';
import { finalInWords, siteAurocText, type FinalEvaluation } from '../../../../../shared/federation/final-evaluation.ts';

type SiteFigures = FinalEvaluation['sites'][string];

function siteRow(site: string, scope: string, e: SiteFigures, decimals: number | undefined): HTMLTableRowElement {
  const oneClass = !(typeof e.auroc === 'number' && Number.isFinite(e.auroc));
  return row([
    td(site),
    td(scope),
    td(fmt(e.n, 0), 'num'),
    td(siteAurocText(e, decimals), 'num'),
    td(fmt(e.accuracy, decimals), 'num', oneClass ? 'its held-out rows hold one class: the share of that class scored right, not an accuracy over both' : undefined),
    td(fmt(e.ece, decimals), 'num'),
  ]);
}

/**
 * Why a site asked for the final evaluation sent none, where the status knows: its failure at the
 * final evaluation, else why it took no part in the run (a site that never connected read only
 * "sent no final evaluation").
 */
export function missingText(s: Pick<FederationStatus, 'rounds' | 'sites' | 'siteDetails'>, site: string): string {
  const failure = s.siteDetails?.[site]?.lastFailure;
  const why = failure && failure.round > s.rounds ? failure.reason : s.sites.find((x) => x.name === site)?.leftOut;
  return `sent no final evaluation${why ? ` (${why})` : ''}: not in the figure above`;
}

export function renderFinal(s: FederationStatus): void {
  const f = s.final;
  const words = f ? finalInWords(f) : '';
  byId('final-words').textContent = f
    ? `${words.charAt(0).toUpperCase()}${words.slice(1)}.${f.siteDecimals !== undefined ? ` Each site's figures as it reported them, to ${f.siteDecimals} decimals (secure aggregation).` : ''}`
    : 'Not in yet: the final model is scored at every site after the last round.';
  const rows = f
    ? [
        ...Object.entries(f.sites).map(([site, e]) => siteRow(site, 'training', e, f.siteDecimals)),
        ...Object.entries(f.testSites).map(([site, e]) => siteRow(site, 'test only', e, f.siteDecimals)),
        ...(f.missing ?? []).map((site) => row([td(site), td('–'), td(missingText(s, site), 'err')])),
      ]
    : [];
  byId('final').replaceChildren(...(rows.length ? rows : [emptyRow(f ? 'no site evaluated' : 'no final evaluation yet', 6)]));
}
