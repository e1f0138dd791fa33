// Shared by the readiness tests: the four heart-disease hospitals (read in place),
// their sums, a federation summary built from them, and sites made by editing a file.
import { readFileSync } from 'node:fs';
import { summaryOfSites } from '../../../coordinator/readiness.ts';
import { loadSchema } from '../../../shared/data/schema.ts';
import { loadSiteTable, parseSiteTable } from '../../../shared/data/table.ts';
import { siteSums, type SiteSums } from '../../../shared/readiness/check.ts';
import type { FederationSummary } from '../../../shared/readiness/summary.ts';

export const HEART = new URL('../../../../shared/data/heart-disease/', import.meta.url).pathname;
export const HEART_SITES: Record<string, string> = {
  cleveland: 'processed.cleveland.data',
  hungary: 'processed.hungarian.data',
  switzerland: 'processed.switzerland.data',
  'va-long_beach': 'processed.va.data',
};
export const schema = loadSchema(`${HEART}schema.json`);
export const COLUMNS = schema.columns!;

export function heartSums(): Record<string, SiteSums> {
  return Object.fromEntries(Object.entries(HEART_SITES).map(([name, file]) => [name, siteSums(schema, loadSiteTable(schema, HEART + file))]));
}

/** The summary the coordinator would publish after the statistics rounds over these sites. */
export function summaryOf(sites: SiteSums[]): FederationSummary {
  return summaryOfSites('heart', schema, sites);
}

/** A heart file's rows as cells (no header), each row edited by `edit(row, index)`; returns CSV text. */
export function editedCsv(site: string, edit: (row: Record<string, string>, i: number) => void): string {
  const lines = readFileSync(HEART + HEART_SITES[site]!, 'utf8').split('\n').filter((l) => l.trim());
  return lines
    .map((l, i) => {
      const cells = l.split(',');
      const row = Object.fromEntries(COLUMNS.map((c, j) => [c, cells[j]!]));
      edit(row, i);
      return COLUMNS.map((c) => row[c]).join(',');
    })
    .join('\n') + '\n';
}

export function sumsOfCsv(text: string, name = 'constructed.csv'): SiteSums {
  return siteSums(schema, parseSiteTable(schema, text, name));
}
