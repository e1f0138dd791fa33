import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
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
    assert.equal(truth.mode, 'latent-severity');
    assert.deepEqual(truth.knobs, {
      sites: 3, rows: 25, seed: 9, 'spurious-strength': 1, 'spurious-flip': true,
      'missing-bias': 1.2, 'missing-held-out': false, 'site-shift': 0.5, alpha: 2, 'outcome-offset': 0, noise: 1, 'labs-severity': 1,
      'imaging-rate': 0.5, agreement: 1, readings: 1, 'reading-type': 'numeric', 'label-driven': false,
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
  const header = lines[0].split(',');
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

/** sha256 over every file but truth.json (which records every knob, so it grows with them). */
function digestWithoutTruth(files: Map<string, string>): string {
  const h = createHash('sha256');
  for (const [name, text] of files) if (name !== 'truth.json') h.update(`${name}\0${text}\0`);
  return h.digest('hex');
}

test('default knobs reproduce the files of the original generator byte for byte', () => {
  // Digests taken from the generator before the cohort-family knobs existed
  // (commit ae05b3f): the new knobs' draws must not disturb the original stream.
  const pinned: [Partial<SynthOptions>, string][] = [
    [{ rows: 200 }, 'cb7ed44c591a50c5be00ac5a7e11790a8b5f80d36cad6baf40e2703676ac07b0'],
    [{ rows: 150, seed: 7, sites: 3 }, '95c5884aed98b9f55a1dedf422ce7a8b268e167d0d5dbc427775b00cdbeaafd0'],
    [{ rows: 150, seed: 3, spuriousFlip: false, missingBias: 0 }, '1e31fa0e764fc3c23f62ddfca9e1c2e802d631a18bbeae4b08b333bc2b804deb'],
    [
      { rows: 100, seed: 11, spuriousStrength: 2.5, siteShift: 1.5, alpha: 0.5, noise: 2, labsSeverity: -1 },
      '215fbebfe6a97384af508596307820f2c778669d93af2df1bf3ed9b617cceab0',
    ],
  ];
  for (const [over, digest] of pinned) {
    assert.equal(digestWithoutTruth(render({ ...defaultSynthOptions(), ...over })), digest, JSON.stringify(over));
  }
});

test('--readings 2 and --reading-type categorical show in the header, schema and truth', () => {
  const files = render(opts({ readings: 2, readingType: 'categorical' }));
  const header = files.get('site1.csv')!.split('\n')[0];
  assert.equal(header, 'age,sex,lab1,lab2,lab3,vital1,vital2,reading,reading2,y');
  const schema = JSON.parse(files.get('schema.json')!);
  assert.deepEqual(Object.keys(schema.modalities), ['demographics', 'labs', 'vitals', 'imaging', 'device']);
  assert.deepEqual(schema.modalities.device, ['reading2']);
  assert.deepEqual(schema.categorical, ['sex', 'reading', 'reading2']);
  const truth = JSON.parse(files.get('truth.json')!);
  assert.deepEqual(truth.spuriousFeatures, ['reading', 'reading2']);
  assert.equal(truth.knobs['reading-type'], 'categorical');
  assert.equal(truth.knobs.readings, 2);
  for (const line of files.get('site4.csv')!.trimEnd().split('\n').slice(1)) {
    const cells = line.split(',');
    assert.equal(cells.length, 10);
    for (const c of cells.slice(7, 9)) assert.ok(['high', 'low', 'NA'].includes(c), `bad reading "${c}"`);
  }
});

test('--label-driven true: truth lists the readings as causal and no spurious feature', () => {
  const truth = JSON.parse(render(opts({ labelDriven: true, readings: 2 })).get('truth.json')!);
  assert.equal(truth.mode, 'label-driven');
  assert.deepEqual(truth.spuriousFeatures, []);
  assert.deepEqual(truth.causalFeatures, ['age', 'sex', 'lab1', 'lab2', 'lab3', 'vital1', 'vital2', 'reading', 'reading2']);
  assert.equal(truth.knobs['label-driven'], true);
});

test('writeCohort over a larger cohort removes its extra site files (and nothing it did not write)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synth-'));
  try {
    await writeCohort(dir, opts({ sites: 5, rows: 25 }));
    await writeFile(join(dir, 'notes.txt'), 'mine\n');
    const { removed } = await writeCohort(dir, opts({ sites: 3, rows: 25 }));
    assert.deepEqual(removed.map((p) => basename(p)), ['site4.csv', 'site5.csv']);
    assert.deepEqual((await readdir(dir)).sort(), ['notes.txt', 'schema.json', 'site1.csv', 'site2.csv', 'site3.csv', 'truth.json']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
