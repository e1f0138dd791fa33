// What simulate says of each site's data before training, logged under the site's name and
// returned for the results' warnings: the same words check-data and the site agent say.
import type { Schema } from '../shared/data/schema.ts';
import type { SiteTable } from '../shared/data/table.ts';
import { describeLabel, heldOutNote, singleClassNote, testSiteClassNote } from '../shared/data/site-notes.ts';
import { fileNotes } from '../shared/data/file-notes.ts';
import { foreignCategoryNotes, othersVocabularies } from '../shared/data/foreign-categories.ts';
import type { Logger } from '../shared/logger.ts';
import type { LocalData } from '../site-agent/local-data.ts';
import { summaryOfSites } from '../coordinator/readiness.ts';
import { checkReadiness, siteSums } from '../shared/readiness/check.ts';

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
  const oneClass = s.testOnly ? testSiteClassNote(who, table.labels, { label: describeLabel(schema) }) : undefined;
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
  // A test site's one class is said at start (startWarnings); one class in training and held-out rows alike, by oneClass.
  const few = heldOutNote(`site "${s.name}"`, data.test.labels, s.testOnly || oneClass !== undefined);
  return [oneClass, few].filter((w) => w !== undefined);
}

/**
 * A test site's numeric columns far from the training sites' (another unit, most often): what
 * `fedcausal site check` says against the federation's summary, from the training rows as the
 * statistics round sums them. The model reads the site's values on the training sites'
 * scale, so its figures there say little (an outside try: glucose in mmol/L at the held-out
 * site, mg/dL at the training ones, scored without a word, 0.04 AUROC lower).
 */
function scaleNotes(who: string, rows: SiteTable, training: readonly SiteTable[], schema: Schema): string[] {
  const summary = summaryOfSites('simulation', schema, training.map((t) => siteSums(schema, t)));
  // One note a column: its mean and its SD can both be far off.
  const byColumn = new Map<string, string[]>();
  for (const r of checkReadiness(siteSums(schema, rows), summary).reasons)
    if (r.severity === 'blocking' && (r.kind === 'shifted-mean' || r.kind === 'sd-ratio')) byColumn.set(r.subject!, [...(byColumn.get(r.subject!) ?? []), r.message.replace('federation', "the training sites'")]);
  return [...byColumn.values()].map((m) => `${who}: ${m.join('; ')}; the model reads its values on the training sites' scale, so its figures there say little until they match`);
}

/**
 * Per test site, its categorical columns coded another way than the training sites'
 * (foreignCategoryNotes against the values they hold) and its numeric columns far from
 * theirs (scaleNotes), logged under its name and returned for the results. A training site
 * is compared with the others by the coordinator, from the sums of the statistics round
 * (coordinator/readiness.ts), as in a deployment.
 */
export function codingWarnings(locals: readonly { name: string; path: string; testOnly: boolean; table: SiteTable; data: { train: SiteTable; test: SiteTable } }[], schema: Schema, log: Logger, minCategoryCount: number): string[] {
  const notes: string[] = [];
  for (const s of locals.filter((l) => l.testOnly)) {
    const others = locals.filter((o) => o !== s && !o.testOnly).map((o) => o.data.train);
    if (others.length === 0) continue;
    const who = `test site "${s.name}" (${s.path})`;
    // Values rarer than the federation's own vocabulary allows are counted, not named: the results file travels.
    const known = othersVocabularies(schema, others, minCategoryCount);
    const naming = { minNamed: minCategoryCount, namedKnown: known.named };
    for (const note of [...foreignCategoryNotes(who, s.table, known.values, "the other training sites' values", naming), ...scaleNotes(who, s.table, others, schema)]) {
      log.child({ site: s.name }).warn(note);
      notes.push(note);
    }
  }
  return notes;
}
