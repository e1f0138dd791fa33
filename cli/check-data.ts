import { loadSchema } from '../shared/data/schema.ts';
import { loadSiteTable } from '../shared/data/table.ts';
import { CONSTANT_COLUMN_MIN_ROWS, describeLabel, singleClassNote } from '../shared/data/site-notes.ts';
import { fileNotes } from '../shared/data/file-notes.ts';
import { checkTrainingRows, MIN_TRAINING_ROWS, trainingRowCount } from '../shared/data/training-rows.ts';
import { DEFAULT_TEST_FRACTION, TEST_FRACTION, numberFlag, text } from '../shared/config/fields.ts';
import { formatTable } from '../shared/report/table.ts';
import { parseFlags } from '../shared/config/flags.ts';

export const CHECK_DATA_HELP = `usage: fedcausal check-data --schema SCHEMA.json --data FILE.csv
        [--test-fraction F] [--min-training-rows N]

Validates a site's data file against the schema and prints its missingness-pattern
table (one row per pattern: which modalities are present, rows, positives), without
training. Exits 2 naming the file, row (its line in the file, header counted) and
column at fault on bad input: a value that is not a plain decimal number, a label
or category the schema does not allow, a value outside its declared range or far
outside the column's spread, a header missing a schema column, or fewer than
${MIN_TRAINING_ROWS} rows to train on once the held-out share is taken out (what
site start refuses). Rows of one class only are allowed (the site trains) and reported
with a warning line naming what such a site does not compute; so is a column holding one
value in every row where it is observed (${CONSTANT_COLUMN_MIN_ROWS} rows or more: an export default or a
placeholder), which then carries nothing at this site; and a numeric column holding one
value in many rows far from all its others (-999, 9999: an undeclared missing-value code,
read as a value until the schema's missingCodes name it). A one-class file whose label
values all read as that class under the schema's threshold is said to have, perhaps,
another label coding.

  --test-fraction F       the site's testFraction (site.yaml; default ${DEFAULT_TEST_FRACTION})
  --min-training-rows N   the site's minTrainingRows (site.yaml; default ${MIN_TRAINING_ROWS})
`;

export function checkData(argv: string[], out: (s: string) => void): number {
  const v = parseFlags(argv, {
    schema: text(),
    data: text(),
    'test-fraction': numberFlag(TEST_FRACTION).default(DEFAULT_TEST_FRACTION),
    'min-training-rows': numberFlag({ min: 1, max: 1e9, int: true }).default(MIN_TRAINING_ROWS),
  });
  if (v === 'help') {
    out(CHECK_DATA_HELP);
    return 0;
  }
  const schema = loadSchema(v.schema);
  const t = loadSiteTable(schema, v.data);
  // Site start's check, in its words: rows to train on once the held-out share is taken out.
  const fraction = v['test-fraction'];
  const training = trainingRowCount(t.labels, fraction);
  const min = v['min-training-rows'];
  checkTrainingRows({ file: t.file, fileRows: t.labels.length, trainingRows: training, testFraction: fraction, minTrainingRows: min, setting: 'site.yaml: minTrainingRows' });
  const counts = new Map<string, [number, number]>();
  t.patterns.forEach((p, i) => {
    const c = counts.get(p) ?? [0, 0];
    c[t.labels[i] ? 1 : 0]++;
    counts.set(p, c);
  });
  const names = schema.modalities.map((m) => m.name);
  const rows = [...counts]
    .sort((a, b) => b[1][0] + b[1][1] - (a[1][0] + a[1][1]))
    .map(([p, [n0, n1]]) => {
      const missing = names.filter((_, k) => p[k] === '0');
      return [p, missing.length ? missing.join(' + ') : '(none)', n0 + n1, ((n0 + n1) / t.labels.length).toFixed(3), n1];
    });
  out(`${v.data}: ${t.labels.length} rows, ${counts.size} missingness patterns, ${t.labels.reduce((a, b) => a + b, 0)} positive\n`);
  out(`training rows: ${training} (test fraction ${fraction}); a site needs at least ${min} (site.yaml: minTrainingRows)\n`);
  out(`modalities (pattern order): ${names.join(', ')}\n`);
  // The same words the site agent says at start; check-data reads the whole file as training rows.
  const oneClass = singleClassNote(v.data, t.labels, { label: describeLabel(schema), coding: { values: t.labelValues, label: schema.label } });
  if (oneClass) out(`warning: ${oneClass}\n`);
  for (const note of fileNotes(v.data, t, schema.categorical)) out(`warning: ${note.text}\n`);
  const labelValues = t.labelValues;
  // Words are refused unless listed, so there is nothing to declare.
  if (!schema.label.values && !schema.label.tokens && labelValues) {
    const found = [...labelValues].sort((a, b) => a[0] - b[0]).map(([v, n]) => `${v} (${n})`).join(', ');
    out(`label values found: ${found}; the outcome is ${describeLabel(schema)}. Declare label.values in the schema to refuse any other value\n`);
  }
  out('\n');
  out(formatTable(['pattern', 'missing modalities', 'rows', 'share', 'positives'], rows) + '\n');
  return 0;
}
