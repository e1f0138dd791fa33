import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEvalArgs, parseSections } from '../../eval/args.ts';
import { sweepPoints } from '../../eval/synthetic.ts';

describe('parseSections', () => {
  it('reads a comma list into sorted, distinct section numbers', () => {
    assert.deepEqual(parseSections('3,1, 3'), [1, 3]);
  });
  it('names what is not a section', () => {
    assert.throws(() => parseSections('1,7'), /--sections: "7" is not a section; expected some of 1, 2, 3, 4, 5, 6 \(got "1,7"\)$/);
    assert.throws(() => parseSections('1.5'), /"1.5" is not a section/);
    assert.throws(() => parseSections(','), /needs a comma-separated list/);
  });
});

describe('parseEvalArgs', () => {
  it('defaults to every section, two jobs, docs/', () => {
    const a = parseEvalArgs([]);
    assert.notEqual(a, 'help');
    if (a === 'help') return;
    assert.deepEqual(a.sections, [1, 2, 3, 4, 5, 6]);
    assert.equal(a.jobs, 2);
    assert.match(a.outDir, /docs$/);
    assert.equal(a.quick, false);
  });
  it('sends a quick run away from docs/ unless told otherwise', () => {
    const a = parseEvalArgs(['--quick']);
    assert.ok(a !== 'help' && !/\/docs$/.test(a.outDir));
  });
  it('rejects bad values with the flag named', () => {
    assert.throws(() => parseEvalArgs(['--jobs', '0']), /--jobs: must be an integer in \[1, 64\] \(got "0"\)$/);
    assert.throws(() => parseEvalArgs(['--render', '--sections', '1']), /--render runs nothing/);
    assert.throws(() => parseEvalArgs(['--bogus']), /Unknown option '--bogus'/);
    assert.throws(() => parseEvalArgs(['--only-configs', ' , ']), /--only-configs needs a comma-separated list/);
  });
  it('reads --only-configs as a list of ids, absent by default', () => {
    const a = parseEvalArgs(['--sections', '1', '--only-configs', 'baseline, debiased']);
    assert.deepEqual(a !== 'help' && a.onlyConfigs, ['baseline', 'debiased']);
    const b = parseEvalArgs([]);
    assert.ok(b !== 'help' && b.onlyConfigs === undefined);
  });
});

describe('sweepPoints', () => {
  it('starts at the default knobs and never repeats a point', () => {
    const p = sweepPoints([0.5, 1, 1.5], [0, 1.2, 2.4]);
    assert.deepEqual(
      p.map((x) => [x.spuriousStrength, x.missingBias]),
      [
        [1, 1.2],
        [0.5, 1.2],
        [1.5, 1.2],
        [1, 0],
        [1, 2.4],
      ],
    );
  });
});
