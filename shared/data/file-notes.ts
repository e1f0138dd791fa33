/**
 * Everything a site's file is warned of before training, in one list so that check-data,
 * the site agent at start and simulate say the same: a column of one value, an undeclared
 * missing-value code, a column written twice, an identifier declared as a category.
 */
import { duplicateColumnNotes, identifierColumnNotes } from './column-notes.ts';
import { missingCodeNotes } from './missing-codes.ts';
import { constantColumnNotes } from './site-notes.ts';
import type { SiteTable } from './site-table.ts';

export interface FileNote {
  /** Which check: simulate keeps the missing-value code in its results (it changes what the model reads), the rest are only said. */
  kind: 'constant' | 'missing-code' | 'duplicate' | 'identifier';
  text: string;
}

/** The file's warnings, each naming `who` (the file, or the site and its file). */
export function fileNotes(who: string, t: SiteTable, categorical: ReadonlySet<string>): FileNote[] {
  const of = (kind: FileNote['kind'], texts: string[]) => texts.map((text) => ({ kind, text }));
  return [
    ...of('constant', constantColumnNotes(who, t)),
    ...of('duplicate', duplicateColumnNotes(who, t)),
    ...of('identifier', identifierColumnNotes(who, t, categorical)),
    ...of('missing-code', missingCodeNotes(who, t, categorical)),
  ];
}
