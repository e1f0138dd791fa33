// What simulate says of a site's split: a --holdout file of one class leaves the site's AUROC
// undefined, and is said so (an outside try got nulls in the results and no word).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitWarnings } from '../../cli/simulate-warnings.ts';
import { loadSchema } from '../../shared/data/schema.ts';
import { loadSiteTable } from '../../shared/data/table.ts';
import { prepareLocalData } from '../../site-agent/local-data.ts';
import { HEART_FILES, HEART_SCHEMA } from '../e2e/helpers/federation.ts';

const schema = loadSchema(HEART_SCHEMA);
const table = loadSiteTable(schema, HEART_FILES.hungary!);

test('a training site whose --holdout rows are of one class is warned of; a mixed holdout is not', () => {
  const site = { name: 'hungary', path: HEART_FILES.hungary!, testOnly: false };
  const oneClass = { ...table, labels: table.labels.map(() => 1) };
  const data = prepareLocalData(table, { testFraction: 0.3, seed: 1, holdout: oneClass });
  assert.deepEqual(splitWarnings(site, data, schema), [
    `site "hungary": all ${table.labels.length} held-out rows are of class 1; its AUROC and balanced accuracy are undefined there (null in the results): they need rows of both classes; its accuracy and ECE are reported`,
  ]);
  assert.deepEqual(splitWarnings(site, prepareLocalData(table, { testFraction: 0.3, seed: 1, holdout: table }), schema), []);
});
