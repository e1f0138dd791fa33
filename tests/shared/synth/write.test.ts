import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURES, MODALITIES } from '../../../shared/synth/scm.ts';
import { defaultSynthOptions, type SynthOptions } from '../../../shared/synth/options.ts';
import { renderCohortFiles, synthesizeCohort, writeCohort } from '../../../shared/synth/write.ts';

const opts = (over: Partial<SynthOptions> = {}): SynthOptions => ({ ...defaultSynthOptions(), rows: 60, ...over });
const render = (o: SynthOptions) => renderCohortFiles(synthesizeCohort(o));

test('the same seed gives identical files; another seed gives different CSVs', () => {
  const a = render(opts({ seed: 5 }));
  assert.deepEqual(render(opts({ seed: 5 })), a);
  const b = render(opts({ seed: 6 }));
  for (const site of ['site1', 'site2', 'site3', 'site4']) {
    assert.notEqual(b.get(`${site}.csv`), a.get(`${site}.csv`), `${site}.csv did not change with the seed`);
  }
});

test('writeCohort writes one CSV per site, schema.json and truth.json', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synth-'));
  try {
    const { paths } = await writeCohort(join(dir, 'out'), opts({ sites: 3, rows: 25, seed: 9 }));
    assert.deepEqual((await readdir(join(dir, 'out'))).sort(), ['schema.json', 'site1.csv', 'site2.csv', 'site3.csv', 'truth.json']);
    assert.equal(paths.length, 5);
    const csv = await readFile(join(dir, 'out', 'site2.csv'), 'utf8');
    assert.equal(csv, render(opts({ sites: 3, rows: 25, seed: 9 })).get('site2.csv'));
    const schema = JSON.parse(await readFile(join(dir, 'out', 'schema.json'), 'utf8'));
    assert.deepEqual(schema, {
      label: { column: 'y', threshold: 0 },
      modalities: { demographics: ['age', 'sex'], labs: ['lab1', 'lab2', 'lab3'], vitals: ['vital1', 'vital2'], imaging: ['reading'] },
      categorical: ['sex'],
      missingValues: ['', 'NA'],
    });
    const truth = JSON.parse(await readFile(join(dir, 'out', 'truth.json'), 'utf8'));
    assert.deepEqual(truth.causalFeatures, ['age', 'sex', 'lab1', 'lab2', 'lab3', 'vital1', 'vital2']);
    assert.deepEqual(truth.spuriousFeatures, ['reading']);
    assert.equal(truth.heldOutSite, 'site3');
    assert.deepEqual(truth.trainSites, ['site1', 'site2']);
    assert.deepEqual(truth.knobs, {
      sites: 3, rows: 25, seed: 9, 'spurious-strength': 1, 'spurious-flip': true,
      'missing-bias': 1.2, 'site-shift': 0.5, alpha: 2, noise: 1, 'labs-severity': 1,
    });
    assert.deepEqual(Object.keys(truth.siteEffects), ['site1', 'site2', 'site3']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('CSV rows match the schema: header, label 0/1, categories, whole-modality NA', () => {
  const files = render(opts({ rows: 200 }));
  const lines = files.get('site1.csv')!.trimEnd().split('\n');
  assert.equal(lines[0], [...FEATURES, 'y'].join(','));
  assert.equal(lines.length, 201);
  const header = lines[0]!.split(',');
  let missing = 0;
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    assert.equal(cells.length, header.length);
    assert.ok(cells.at(-1) === '0' || cells.at(-1) === '1');
    assert.ok(['M', 'F'].includes(cells[header.indexOf('sex')]!));
    for (const feats of Object.values(MODALITIES)) {
      const na = feats.map((f) => cells[header.indexOf(f)] === 'NA');
      assert.ok(na.every((v) => v === na[0]), `partly missing modality in "${line}"`);
      if (na[0]) missing++;
    }
    for (const f of FEATURES.filter((f) => f !== 'sex')) {
      const c = cells[header.indexOf(f)]!;
      assert.ok(c === 'NA' || /^-?\d+\.\d{3}$/.test(c), `bad number "${c}" for ${f}`);
      assert.notEqual(c, '-0.000');
    }
  }
  assert.ok(missing > 0, 'no modality was ever missing');
});
