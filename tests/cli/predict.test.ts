// `fedcausal predict` as a hospital runs it, on models `simulate --save-models` saved as a
// deployed site saves them: the scores equal the federation's own (simulate --predictions) for
// the same rows, new patients need no label, and a bad model or file is refused in one line.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../e2e/helpers/cli.ts';
import { BIN } from '../e2e/helpers/federation.ts';
import { spawnSync } from 'node:child_process';
import { bundleText, loadModelBundle } from '../../shared/model/bundle.ts';
import { HEART_FILES, HEART_SCHEMA } from '../e2e/helpers/federation.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fedcausal-predict-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const csv = (path: string) => readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => l.split(','));

/** A federation of three hospitals whose va rows are a fixed holdout file, its models saved. */
async function federation(model: string, extra: string[] = []): Promise<{ models: string; predictions: string }> {
  const out = join(dir, model);
  const r = await runCli([
    'simulate', '--schema', HEART_SCHEMA, '--model', model, '--rounds', '3', '--seed', '2',
    '--site', `cleveland=${HEART_FILES.cleveland!}`, '--site', `hungary=${HEART_FILES.hungary!}`, '--site', `va=${HEART_FILES.va!}`,
    '--holdout', `va=${HEART_FILES.va!}`, '--out', join(out, 'results.json'), '--predictions', join(out, 'predictions.csv'), '--save-models', join(out, 'models'), ...extra,
  ], 120_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`model of va: ${join(out, 'models', 'va.model.json')}`));
  return { models: join(out, 'models'), predictions: join(out, 'predictions.csv') };
}

for (const model of ['debiased', 'logreg'])
  test(`${model}: predict scores the holdout rows exactly as the federation's final evaluation did`, { timeout: 180_000 }, async () => {
    const f = await federation(model);
    const scores = join(dir, `${model}-va.csv`);
    const r = await runCli(['predict', '--model', join(f.models, 'va.model.json'), '--data', HEART_FILES.va!, '--out', scores]);
    assert.equal(r.code, 0, r.stderr);
    const [head, ...rows] = csv(scores);
    assert.deepEqual(head, ['row', 'score', 'calibrated', 'label']);
    const federated = csv(f.predictions).slice(1).filter((p) => p[0] === 'va');
    assert.equal(rows.length, federated.length);
    rows.forEach((p, i) => {
      assert.deepEqual([p[0], p[3], p[1]], federated[i]!.slice(1), `row ${i}: row, label and score as the federation scored it`);
      assert.ok(Number(p[2]) > 0 && Number(p[2]) < 1);
    });
    // Recalibration keeps the order (its slope is never negative).
    const order = (k: number) => rows.map((p, i) => [Number(p[k]), i] as const).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
    assert.deepEqual(order(2), order(1));
    assert.match(r.stderr, /scored 200 rows with .*va\.model\.json: federation "simulation", \w+ model after 3 training rounds, saved by site "va"/);
    assert.match(r.stderr, /on the 200 labelled rows \(149 positive\): AUROC 0\.\d{3}, ECE 0\.\d{3}, ECE calibrated 0\.\d{3}/);
  });

test('new patients: no label column, a record number kept, output on stdout; a model without recalibration has no calibrated column', { timeout: 180_000 }, async () => {
  const f = await federation('baseline');
  const rows = readFileSync(HEART_FILES.cleveland!, 'utf8').trimEnd().split('\n').slice(0, 3);
  const file = join(dir, 'new.csv');
  writeFileSync(file, ['mrn,age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal', ...rows.map((l, i) => `A-${i},${l.split(',').slice(0, 13).join(',')}`)].join('\r\n') + '\r\n');
  const model = join(f.models, 'cleveland.model.json');
  const r = await runCli(['predict', '--model', model, '--data', file, '--id', 'mrn']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n').map((l) => l.split(','));
  assert.deepEqual(lines[0], ['row', 'mrn', 'score', 'calibrated']);
  assert.deepEqual(lines.slice(1).map((l) => l.slice(0, 2)), [['0', 'A-0'], ['1', 'A-1'], ['2', 'A-2']]);
  assert.doesNotMatch(r.stderr, /as a formula/);
  // Record numbers a spreadsheet would take for formulas: copied as written, and said (a negative number is no formula).
  const formulas = join(dir, 'formulas.csv');
  writeFileSync(formulas, ['mrn,age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal', ...['=HYPERLINK("x")', '-12', '@sum', '-x'].map((id, i) => `${id},${rows[i % rows.length]!.split(',').slice(0, 13).join(',')}`)].join('\n') + '\n');
  const f2 = await runCli(['predict', '--model', model, '--data', formulas, '--id', 'mrn']);
  assert.equal(f2.code, 0, f2.stderr);
  assert.match(f2.stderr, /formulas\.csv: 3 rows \(lines 2, 4, 5\) hold a "mrn" value beginning with =, \+, - or @, copied as written: a spreadsheet opening the scores may read it as a formula/);
  assert.match(f2.stdout, /^0,"=HYPERLINK\(""x""\)",/m);
  // The same rows with their labels score the same.
  const r2 = await runCli(['predict', '--model', model, '--data', HEART_FILES.cleveland!]);
  const all = r2.stdout.trimEnd().split('\n').slice(1, 4).map((l) => l.split(','));
  assert.deepEqual(lines.slice(1).map((l) => l[2]), all.map((l) => l[1]));

  // A site's file says how its recalibration did on its held-out rows; where it made them worse, predict warns.
  const saved = loadModelBundle(model);
  assert.ok(saved.calibration?.heldOut && saved.calibration.heldOut.rows > 0, JSON.stringify(saved.calibration));
  assert.match(r.stderr, new RegExp(`own recalibration \\(fitted on its \\d+ training rows, ${saved.calibration.positives} positive; on its ${saved.calibration.heldOut.rows} held-out rows ECE \\d\\.\\d{3} before, \\d\\.\\d{3} after\\)`));
  assert.ok(saved.calibration.positives! >= 10 && saved.calibration.rows - saved.calibration.positives! >= 10, 'cleveland: enough of each class');
  assert.doesNotMatch(r.stderr, /too few for a fitted risk/);
  // A fit on a handful of one class (a 60-row site's on 2 positives tripled the ECE elsewhere): said.
  const thin = join(dir, 'thin.model.json');
  writeFileSync(thin, bundleText({ ...saved, calibration: { ...saved.calibration, rows: 42, positives: 2 } }));
  assert.match((await runCli(['predict', '--model', thin, '--data', file])).stderr, /warning: the site's recalibration was fitted on 2 positive of its 42 training rows \(fewer than 10\): too few for a fitted risk to be trusted/);
  writeFileSync(thin, bundleText({ ...saved, calibration: { ...saved.calibration, rows: 42, positives: 39 } }));
  assert.match((await runCli(['predict', '--model', thin, '--data', file])).stderr, /fitted on 3 negative of its 42 training rows/);
  const worse = join(dir, 'worse.model.json');
  writeFileSync(worse, bundleText({ ...saved, calibration: { ...saved.calibration, heldOut: { rows: 60, eceBefore: 0.079, eceAfter: 0.097 } } }));
  const rw = await runCli(['predict', '--model', worse, '--data', file]);
  assert.equal(rw.code, 0, rw.stderr);
  assert.match(rw.stderr, /warning: the site's recalibration raised the calibration error on its own 60 held-out rows \(ECE 0\.079 before, 0\.097 after\): the calibrated column is not shown to be the better risk/);
  // Held-out rows of one class: their ECE says little, and the line says so.
  const oneClass = join(dir, 'one-class.model.json');
  writeFileSync(oneClass, bundleText({ ...saved, calibration: { ...saved.calibration, heldOut: { rows: 35, positives: 35, eceBefore: 0.262, eceAfter: 0.017 } } }));
  assert.match((await runCli(['predict', '--model', oneClass, '--data', file])).stderr, /on its 35 held-out rows ECE 0\.262 before, 0\.017 after, rows of one class: it says little\)/);
  // The site's own file: warned of exactly when its held-out ECE rose.
  const h = saved.calibration.heldOut;
  assert.equal(r.stderr.includes('raised the calibration error'), h.eceAfter > h.eceBefore, `${h.eceBefore} -> ${h.eceAfter}: ${r.stderr}`);

  // The coordinator's copy: the same weights, no site and no recalibration.
  const { site: _, calibration: __, ...bare } = saved;
  const coordinatorLike = join(dir, 'coordinator.model.json');
  writeFileSync(coordinatorLike, bundleText(bare));
  const r3 = await runCli(['predict', '--model', coordinatorLike, '--data', file, '--id', 'mrn']);
  assert.equal(r3.code, 0, r3.stderr);
  assert.deepEqual(r3.stdout.trimEnd().split('\n').map((l) => l.split(',').slice(0, 3)), [['row', 'mrn', 'score'], ...lines.slice(1).map((l) => l.slice(0, 3))]);
  assert.match(r3.stderr, /saved by the coordinator.*\nno calibrated column/);

  // The same file edited by hand is refused.
  writeFileSync(coordinatorLike, readFileSync(coordinatorLike, 'utf8').replace('"temper":1', '"temper":0.5'));
  const r4 = await runCli(['predict', '--model', coordinatorLike, '--data', file]);
  assert.equal(r4.code, 2);
  assert.match(r4.stderr, /coordinator\.model\.json: the model file does not match its checksum/);
});

test('rows unlike the federation\'s are scored and named by line; an empty row is left unscored; --out never replaces an input and is its owner\'s alone', { timeout: 180_000 }, async () => {
  const f = await federation('logreg');
  const model = join(f.models, 'hungary.model.json');
  const [a, b] = readFileSync(HEART_FILES.va!, 'utf8').split('\n');
  const odd = join(dir, 'odd.csv');
  // Line 2: a chest-pain code the federation never saw and a cholesterol in another unit (x 100); line 3: an export's empty row.
  const fields = a!.split(',');
  fields[2] = '9';
  fields[4] = String(Number(fields[4]) * 100);
  writeFileSync(odd, [b, fields.join(','), ',,,,,,,,,,,,,', b].join('\n') + '\n');
  const out = join(dir, 'odd-scores.csv');
  const r = await runCli(['predict', '--model', model, '--data', odd, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const rows = csv(out);
  assert.deepEqual(rows.map((l) => l.length), [4, 4, 4, 4, 4]);
  assert.deepEqual(rows[3]!.slice(0, 3), ['2', '', ''], 'the empty row has no score');
  assert.match(r.stderr, /odd\.csv: 1 row \(line 3\) holds no value in any feature .*: left unscored/);
  assert.match(r.stderr, /odd\.csv: 1 row \(line 2\) holds a value of "cp" the federation's vocabulary lacks \("9"; it knows "1", "2", "3", "4"\)/);
  assert.match(r.stderr, /odd\.csv: 1 row \(line 2\) holds a value of "chol" more than 6 SDs from the federation's training values/);
  assert.doesNotMatch(r.stderr, /missingness pattern 0000000/, 'the empty row is said once');
  // An empty row with a label is no patient either: left out of the labelled rows' figures (an audit's mutant counted it).
  const labelledEmpty = join(dir, 'labelled-empty.csv');
  writeFileSync(labelledEmpty, [a, b, ',,,,,,,,,,,,,1'].join('\n') + '\n');
  const le = await runCli(['predict', '--model', model, '--data', labelledEmpty]);
  assert.equal(le.code, 0, le.stderr);
  assert.match(le.stderr, /on the 2 labelled rows \(1 positive\)/);
  assert.match(r.stderr, /model after 3 training rounds, saved by site "hungary"/);
  assert.equal(statSync(out).mode & 0o777, 0o600);

  // Cholesterol in mmol/L: each value within 6 SDs, the column as a whole far off.
  const mmol = join(dir, 'mmol.csv');
  writeFileSync(mmol, readFileSync(HEART_FILES.hungary!, 'utf8').trimEnd().split('\n').map((l) => l.split(',').map((v, j) => (j === 4 && v !== '?' ? String(Number(v) / 38.67) : v)).join(',')).join('\n') + '\n');
  const shifted = await runCli(['predict', '--model', model, '--data', mmol, '--out', '-']);
  assert.equal(shifted.code, 0, shifted.stderr);
  assert.match(shifted.stdout, /^row,score,calibrated,label\n/, '--out - is standard output');
  assert.match(shifted.stderr, /mmol\.csv: the values of "chol" sit far from the federation's \(median 6\.\d+ in \d+ rows; the federation's mean 2\d\d/);
  // Scored in parts: the same warning, the median the parts' median.
  const inParts = await runCli(['predict', '--model', model, '--data', mmol, '--batch-rows', '60']);
  assert.equal(inParts.stdout, shifted.stdout);
  assert.match(inParts.stderr, /mmol\.csv: the values of "chol" sit far from the federation's \(median about 6\.\d+, the median of its parts in \d+ rows; the federation's mean 2\d\d/);

  // Through a link, the file it names is replaced and the link kept.
  const real = join(dir, 'real-scores.csv');
  const link = join(dir, 'link-scores.csv');
  writeFileSync(real, 'old\n');
  symlinkSync(real, link);
  assert.equal((await runCli(['predict', '--model', model, '--data', odd, '--out', link])).code, 0);
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.match(readFileSync(real, 'utf8'), /^row,score,calibrated,label\n/);

  // A dangling link: the file it names is written, the link kept.
  const dangling = join(dir, 'dangling.csv');
  symlinkSync(join(dir, 'not-yet.csv'), dangling);
  assert.equal((await runCli(['predict', '--model', model, '--data', odd, '--out', dangling])).code, 0);
  assert.ok(lstatSync(dangling).isSymbolicLink());
  assert.match(readFileSync(join(dir, 'not-yet.csv'), 'utf8'), /^row,score/);
  // A folder, an empty name: refused before any scoring.
  for (const [out, pattern] of [[dir, /is a folder; give a file name/], ['', /--out: must be a non-empty string/]] as const) {
    const r2 = await runCli(['predict', '--model', model, '--data', odd, '--out', out]);
    assert.equal(r2.code, 2, r2.stderr);
    assert.match(r2.stderr, pattern);
  }
  // A day's few patients with cholesterol in mmol/L: named though each is within 6 SDs.
  const few = join(dir, 'few.csv');
  writeFileSync(few, readFileSync(mmol, 'utf8').split('\n').slice(0, 5).join('\n') + '\n');
  assert.match((await runCli(['predict', '--model', model, '--data', few])).stderr, /the values of "chol" sit far from the federation's \(median \d\.\d+ in [3-5] rows/);
  // ST depression (oldpeak) in tenths: its median (0) where it was, its spread ten times the federation's.
  const tenths = join(dir, 'tenths.csv');
  writeFileSync(tenths, readFileSync(HEART_FILES.hungary!, 'utf8').trimEnd().split('\n').map((l) => l.split(',').map((v, j) => (j === 9 && v !== '?' ? String(Number(v) * 10) : v)).join(',')).join('\n') + '\n');
  const wide = await runCli(['predict', '--model', model, '--data', tenths, '--batch-rows', '60']);
  assert.match(wide.stderr, /tenths\.csv: the values of "oldpeak" spread \d+(\.\d+)? times as wide as the federation's \(SD \d+(\.\d+)? in \d+ rows; the federation's \d\.\d+, mean \d\.\d+\): another unit\?/);
  assert.doesNotMatch(wide.stderr, /"oldpeak" sit far/, 'its median did not move');
  assert.doesNotMatch((await runCli(['predict', '--model', model, '--data', HEART_FILES.hungary!])).stderr, /spread/, "a training site's own file: no spread note");
  // Standard input as --data: the file it comes from is no --out either.
  const piped = spawnSync(process.execPath, [BIN, 'predict', '--model', model, '--data', '-', '--out', join(dir, 'piped.csv')], { input: readFileSync(odd), encoding: 'utf8' });
  assert.equal(piped.status, 0, piped.stderr);
  assert.equal(readFileSync(join(dir, 'piped.csv'), 'utf8'), readFileSync(out, 'utf8'), 'standard input scores as the file does');
  const fromFile = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" predict --model "${model}" --data - --out "${few}" < "${few}"`], { encoding: 'utf8' });
  assert.equal(fromFile.status, 2, fromFile.stderr);
  assert.match(fromFile.stderr, /is the --data file/);

  for (const [flag, path] of [['--model', model], ['--data', odd]] as const) {
    const before = readFileSync(path, 'utf8');
    const same = await runCli(['predict', '--model', model, '--data', odd, '--out', path]);
    assert.equal(same.code, 2);
    assert.match(same.stderr, new RegExp(`--out .*: is the ${flag} file; the scores would replace it`));
    assert.equal(readFileSync(path, 'utf8'), before);
  }
});

test('a file scored in parts (--batch-rows) gives the scores, notes and figures of the file scored whole, with a header or without; an error in a later part writes no --out file and says standard output is cut short', { timeout: 180_000 }, async () => {
  // A reading treated as a shortcut, so the debiased model's own inference path is the one split into parts.
  const config = join(dir, 'suspect.yaml');
  writeFileSync(config, 'debiasing: { suspect: [oldpeak] }\n');
  const f = await federation('debiased', ['--model-config', config]);
  const model = join(f.models, 'va.model.json');
  assert.equal((loadModelBundle(model).model.raw as { debiasing: { active: boolean } }).debiasing.active, true);
  const progress = /^scored \d+ rows \(.*\)\n/gm;
  const headed = join(dir, 'va-headed.csv');
  // With a header in its own order and a record number: each part is read by the header's names.
  const va = readFileSync(HEART_FILES.va!, 'utf8').trimEnd().split('\n');
  writeFileSync(headed, ['mrn,num,age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal', ...va.map((l, i) => { const v = l.split(','); return [`V-${i}`, v.at(-1), ...v.slice(0, -1)].join(','); })].join('\n') + '\n');
  for (const file of [HEART_FILES.va!, headed]) {
    const id = file === headed ? ['--id', 'mrn'] : [];
    const whole = await runCli(['predict', '--model', model, '--data', file, ...id]);
    assert.equal(whole.code, 0, whole.stderr);
    assert.doesNotMatch(whole.stderr, progress, 'a file of one part says no progress');
    const parts = await runCli(['predict', '--model', model, '--data', file, '--batch-rows', '7', ...id]);
    assert.equal(parts.code, 0, parts.stderr);
    assert.equal(parts.stdout, whole.stdout, `${file}: the same scores, rows numbered on`);
    assert.equal(parts.stdout.split('\n').filter((l) => l.startsWith('row,')).length, 1, 'one header line');
    assert.equal(parts.stderr.replace(progress, ''), whole.stderr, 'the same summary, notes and figures');
    const said = parts.stderr.match(progress)!;
    assert.ok(said.length >= 20, said.join(''));
    assert.equal(said.at(-1), `scored 200 rows (${file} to line ${file === headed ? 201 : 200})\n`);
  }

  // The flagged reading is dropped from the model's inputs: its values move no score, and nothing is said of them.
  const tenfold = join(dir, 'va-tenfold.csv');
  writeFileSync(tenfold, va.map((l) => l.split(',').map((v, j) => (j === 9 && v !== '?' ? String(Number(v) * 10 + 50) : v)).join(',')).join('\n') + '\n');
  const unread = await runCli(['predict', '--model', model, '--data', tenfold]);
  assert.equal(unread.code, 0, unread.stderr);
  assert.equal(unread.stdout, (await runCli(['predict', '--model', model, '--data', HEART_FILES.va!])).stdout, 'the same scores');
  assert.doesNotMatch(unread.stderr, /oldpeak/);

  // Line 150 of 201 is bad: refused whole with --out (no file, no partial left), and on standard output the rows before are said to be cut short.
  const lines = readFileSync(headed, 'utf8').split('\n');
  lines[149] = lines[149]!.replace(/^([^,]*,[^,]*,)[^,]*/, '$1abc');
  const bad = join(dir, 'bad-later.csv');
  writeFileSync(bad, lines.join('\n'));
  const out = join(dir, 'bad-later-scores.csv');
  const refused = await runCli(['predict', '--model', model, '--data', bad, '--batch-rows', '20', '--out', out]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /bad-later\.csv:150: column "age" must be a number/);
  assert.doesNotMatch(refused.stderr, /standard output/);
  assert.ok(!existsSync(out), 'no scores file');
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.partial')), [], 'no partial file left');
  const cut = await runCli(['predict', '--model', model, '--data', bad, '--batch-rows', '20']);
  assert.equal(cut.code, 2, cut.stderr);
  assert.match(cut.stderr, /bad-later\.csv:150: column "age" must be a number.*\(standard output holds the scores of the 139 rows before this part: incomplete; with --out FILE an error writes no file\)/);
  assert.equal(cut.stdout.trimEnd().split('\n').length, 140, 'the header and 139 rows (the first part of 20 records holds the header)');
});

test('bad input is refused with exit 2 and one line naming the file', { timeout: 60_000 }, async () => {
  const results = join(dir, 'results.json');
  writeFileSync(results, JSON.stringify({ model: 'debiased', sites: {} }));
  const cut = join(dir, 'cut.model.json');
  writeFileSync(cut, '{"format":"fedcausal-model","formatVersion":1,"weights":');
  const cases: [string[], RegExp][] = [
    [['predict', '--model', results, '--data', HEART_FILES.va!], /results\.json: not a fedcausal model file \(its "format" is absent/],
    [['predict', '--model', cut, '--data', HEART_FILES.va!], /cut\.model\.json: not a fedcausal model file: it is not valid JSON/],
    [['predict', '--model', join(dir, 'none.model.json'), '--data', HEART_FILES.va!], /none\.model\.json: cannot read model file \(ENOENT/],
    [['predict', '--data', HEART_FILES.va!], /--model/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
});
