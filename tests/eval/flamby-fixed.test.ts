import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadSchema } from '../../shared/data/schema.ts';
import { FLAMBY_DROPPED, FLAMBY_TEST_ROWS } from '../../eval/flamby.ts';
import { bothClasses, FEDERATED_TRAINERS, fixedRowSplit, SCAFFOLD_ID, fixedSplitSummary, POOLED_TRAINERS, readFlambySplit, renderFixedSplit } from '../../eval/flamby-fixed.ts';
import { dropFeatures, readRawSchema } from '../../eval/schemas.ts';
import { DEFAULT_HEART_DIR, HEART_SITES } from '../../eval/settings.ts';
import { completeRows, readRawSiteFile } from '../../eval/splits.ts';

describe('fixedRowSplit', () => {
  const centre = { kept: [0, 2, 3, 5, 7], test: [3, 7], stratified: true };
  it("maps FLamby's file-row indices to positions among our kept rows", () => {
    assert.deepEqual(fixedRowSplit('x', [0, 2, 3, 5, 7], centre), { train: [0, 1, 3], test: [2, 4] });
  });
  it('refuses a different set of kept rows', () => {
    assert.throws(() => fixedRowSplit('x', [0, 2, 3, 5], centre), /x: the rows kept \(4\) are not FLamby's \(5\)/);
    assert.throws(() => fixedRowSplit('x', [0, 2, 3, 6, 7], centre), /preparations differ/);
  });
  it('refuses a test row outside the kept rows', () => {
    assert.throws(() => fixedRowSplit('x', [0, 2, 3, 5, 7], { ...centre, test: [4] }), /FLamby test row 4 is not among the kept rows/);
  });
});

describe('eval/flamby-split.json against the heart-disease files', () => {
  const split = readFlambySplit();
  const schemaPath = join(DEFAULT_HEART_DIR, 'schema.json');
  const raw = readRawSchema(schemaPath);
  const kept = Object.values(dropFeatures(raw, FLAMBY_DROPPED).modalities).flat();
  const colIdx = kept.map((f) => raw.columns!.indexOf(f));
  for (const h of HEART_SITES) {
    it(`${h.name}: our preparation keeps FLamby's rows; the test rows are FLamby's count, stratified where FLamby stratifies`, () => {
      const file = readRawSiteFile(loadSchema(schemaPath), join(DEFAULT_HEART_DIR, h.file));
      const ours = completeRows(file, colIdx, new Set(raw.missingValues));
      const centre = split.centres[h.name]!;
      const rows = fixedRowSplit(h.name, ours, centre); // throws if the kept rows differ
      assert.equal(rows.test.length, FLAMBY_TEST_ROWS[h.name]);
      assert.equal(rows.train.length + rows.test.length, ours.length);
      if (centre.stratified) {
        // Stratified: each class's test share is the split's, to within one row.
        for (const c of [0, 1]) {
          const all = ours.filter((i) => file.labels[i] === c).length;
          const test = rows.test.filter((j) => file.labels[ours[j]!] === c).length;
          assert.ok(Math.abs(test - (all * rows.test.length) / ours.length) <= 1, `${h.name} class ${c}: ${test} of ${all}`);
        }
      }
    });
  }
});

describe('bothClasses', () => {
  it('says whether the chosen rows hold both labels', () => {
    const y = [1, 1, 0, 1];
    assert.equal(bothClasses(y, [0, 2]), true);
    assert.equal(bothClasses(y, [0, 1, 3]), false);
    assert.equal(bothClasses(y, []), false);
  });
});

describe('fixedSplitSummary', () => {
  const runs = [
    { config: 'logreg', seed: 1, accuracy: 0.78, auroc: 0.87 },
    { config: 'logreg', seed: 2, accuracy: 0.8, auroc: 0.88 },
    { config: 'fedprox-logreg', seed: 1, accuracy: 0.8, auroc: 0.87 },
    { config: 'fedprox-logreg', seed: 2, accuracy: 0.79, auroc: 0.87 },
  ];
  it('judges the row picked elsewhere, not the highest row here', () => {
    const s = fixedSplitSummary(runs, 'fedprox-logreg', 0.795);
    assert.ok(Math.abs(s.target.accuracy.mean - 0.795) < 1e-12);
    assert.equal(s.target.verdict, 'met');
    assert.equal(fixedSplitSummary(runs, 'logreg', 0.8).target.verdict, 'missed');
    assert.equal(s.summary.logreg!.accuracy.n, 2);
  });
});

describe('renderFixedSplit', () => {
  const counts = [
    { site: 'a', nTrain: 100, nTest: 50, stratified: true, trains: true, oneClass: false },
    { site: 'b', nTrain: 30, nTest: 16, stratified: false, trains: true, oneClass: true },
  ];
  const runs = ['fedprox-logreg', 'pooled-logreg', POOLED_TRAINERS.id].flatMap((config, k) =>
    [1, 2].map((seed) => ({ config, seed, accuracy: 0.78 + 0.01 * k, auroc: 0.87 })),
  );
  const d = { source: 's', generatedWith: 'g', counts, runs, ...fixedSplitSummary(runs, 'fedprox-logreg', 0.795) };
  it('says a one-class site trains, with every train row counted, and what its rows are worth to pooled training', () => {
    const md = renderFixedSplit(d, (id) => id, []);
    assert.match(md, /b's 30 train rows hold one class only .* fedcausal trains on them/);
    assert.match(md, /Every federated row trains on all 2 hospitals \(130 train rows\)/);
    assert.doesNotMatch(md, /test-only site/);
    assert.match(md, /without the one-class sites' train rows, 0\.800: those rows are worth -0\.010/);
    assert.match(md, /0\.780 ± 0\.000 vs 0\.795, difference -0\.015 .*\*\*missed\*\*/);
  });
  it('splits the gap to pooled training between federation and the one-class sites when both trainer rows ran', () => {
    const acc: Record<string, number> = { logreg: 0.787, 'pooled-logreg': 0.799, [FEDERATED_TRAINERS.id]: 0.783, [POOLED_TRAINERS.id]: 0.776 };
    const more = Object.entries(acc).flatMap(([config, accuracy]) => [1, 2].map((seed) => ({ config, seed, accuracy, auroc: 0.87 })));
    const both = { ...d, runs: more, ...fixedSplitSummary(more, 'logreg', 0.795) };
    const md = renderFixedSplit(both, (id) => id, []);
    assert.match(md, /without the one-class sites reaches 0\.783, \+0\.007 from pooled training on the same rows \(federation alone\); adding the one-class sites' rows moves it by \+0\.004 \(FedAvg, 0\.787\) where it moves pooled training by \+0\.023/);
    assert.match(md, /Federation alone is not behind; the one-class sites are/);
    // Federation behind pooled on the same rows: the render says so instead.
    const behind = more.map((r) => (r.config === FEDERATED_TRAINERS.id ? { ...r, accuracy: 0.76 } : r));
    assert.match(renderFixedSplit({ ...d, runs: behind, ...fixedSplitSummary(behind, 'logreg', 0.795) }, (id) => id, []), /federation alone accounts for part of the gap/);
    // SCAFFOLD's row, when it ran, is set against the target and the judged row.
    const withScaffold = [...more, ...[1, 2].map((seed) => ({ config: SCAFFOLD_ID, seed, accuracy: 0.802, auroc: 0.88 }))];
    const sc = renderFixedSplit({ ...d, runs: withScaffold, ...fixedSplitSummary(withScaffold, 'logreg', 0.795) }, (id) => id, []);
    assert.match(sc, /SCAFFOLD .* reaches 0\.802 ± 0\.000 here \(\+0\.007 from FLamby's pooled number, \+0\.003 from pooled training on the same rows\), but it is not the row picked on the tuning splits \(table above\), so the target is judged on logreg/);
    assert.match(renderFixedSplit({ ...d, runs: withScaffold, ...fixedSplitSummary(withScaffold, SCAFFOLD_ID, 0.795) }, (id) => id, []), /it is the row picked on the tuning splits\./);
    // Without the federated trainers row (results stored before it ran), no such bullet.
    assert.doesNotMatch(renderFixedSplit(d, (id) => id, []), /Where that gap comes from/);
  });
  it('keeps the wording of results stored when such a site could not train', () => {
    const old = { ...d, counts: counts.map((c) => (c.oneClass ? { ...c, trains: false, oneClass: undefined } : c)) };
    assert.match(renderFixedSplit(old, (id) => id, []), /that site takes part as a test-only site/);
  });
});
