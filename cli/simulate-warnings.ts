// What simulate says of each site's data before training, logged under the site's name and
// returned for the results' warnings: the same words check-data and the site agent say.
import type { Schema } from '../shared/data/schema.ts';
import type { SiteTable } from '../shared/data/table.ts';
import { describeLabel, fewHeldOutRowsNote, singleClassNote, testSiteClassNote } from '../shared/data/site-notes.ts';
import { fileNotes } from '../shared/data/file-notes.ts';
import { foreignCategoryNotes, othersVocabularies } from '../shared/data/foreign-categories.ts';
import type { Logger } from '../shared/logger.ts';
import type { LocalData } from '../site-agent/local-data.ts';

/**
 * What a site says at start about its file, logged under its name: check-data's warnings
 * (a column of one value, an undeclared missing-value code), and for a test site of one
 * class, the metrics it leaves undefined; all but the constant column are returned too,
 * for the results' warnings.
 */
export function startWarnings(s: { name: string; path: string; testOnly: boolean }, table: SiteTable, schema: Schema, log: Logger): string[] {
  const siteLog = log.child({ site: s.name });
  const who = `${s.testOnly ? 'test site' : 'site'} "${s.name}" (${s.path})`;
  const notes = fileNotes(who, table, schema.categorical);
  for (const note of notes) if (note.kind !== 'missing-code') siteLog.warn(note.text);
  const kept = notes.filter((n) => n.kind === 'missing-code').map((n) => n.text);
  const oneClass = s.testOnly ? testSiteClassNote(`test site "${s.name}" (${s.path})`, table.labels, { label: describeLabel(schema) }) : undefined;
  if (oneClass) kept.push(oneClass);
  for (const note of kept) siteLog.warn(note);
  return kept;
}

/**
 * What the site agent says at start of its split (training rows of one class, few
 * held-out rows of a class), for the results, beside the figures they qualify: the agent
 * logs them itself.
 */
export function splitWarnings(s: { name: string; path: string; testOnly: boolean }, data: LocalData, schema: Schema): string[] {
  const coding = { values: data.labelValues, label: schema.label };
  const oneClass = s.testOnly ? undefined : singleClassNote(`site "${s.name}" (${s.path})`, data.train.labels, { label: describeLabel(schema), heldOut: data.test.labels, coding });
  const few = fewHeldOutRowsNote(`site "${s.name}"`, data.test.labels);
  return [oneClass, few].filter((w) => w !== undefined);
}

/**
 * Per test site, its categorical columns coded another way than the training sites'
 * (foreignCategoryNotes against the values they hold), logged under its name and returned
 * for the results. A training site is compared with the others by the coordinator, from
 * the sums of the statistics round (coordinator/readiness.ts), as in a deployment.
 */
export function codingWarnings(locals: readonly { name: string; path: string; testOnly: boolean; data: { train: SiteTable; test: SiteTable } }[], schema: Schema, log: Logger): string[] {
  const notes: string[] = [];
  for (const s of locals.filter((l) => l.testOnly)) {
    const others = locals.filter((o) => o !== s && !o.testOnly).map((o) => o.data.train);
    if (others.length === 0) continue;
    const rows = { features: s.data.test.features, values: [...s.data.train.values, ...s.data.test.values] };
    const who = `${s.testOnly ? 'test site' : 'site'} "${s.name}" (${s.path})`;
    for (const note of foreignCategoryNotes(who, rows, othersVocabularies(schema, others), "the other training sites' values")) {
      log.child({ site: s.name }).warn(note);
      notes.push(note);
    }
  }
  return notes;
}
