// The compiled package, laid out as `npm install ./fedcausal-X.tgz` leaves it (package.json,
// bin/, dist/, proto/, no TypeScript sources): the bin runs dist/ with no compiler, and a
// real federation (the demo: coordinator and four site processes, model worker threads)
// runs end to end from the compiled code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HEART, REPO } from './helpers/federation.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol/messages.ts';
import { FEDCAUSAL_BUILD } from '../../shared/version.ts';

const run = promisify(execFile);

test('the installed layout runs compiled code: --version, --help, and a real federation', { timeout: 600_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'fedcausal-installed-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const pkg = join(root, 'fedcausal');
  // The same compile `npm run build` (and so `npm pack`) runs, into the stand-in install.
  await run(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], { cwd: REPO });
  await run(process.execPath, ['--import', 'tsx', join(REPO, 'shared', 'build-info.ts'), join(pkg, 'dist')], { cwd: REPO });
  for (const part of ['package.json', 'bin', 'proto']) cpSync(join(REPO, part), join(pkg, part), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(pkg, 'node_modules'));
  assert.equal(existsSync(join(pkg, 'cli')), false, 'no TypeScript sources in the install');
  const bin = join(pkg, 'bin', 'fedcausal.js');
  const env: NodeJS.ProcessEnv = { ...process.env, FEDCAUSAL_LOG: 'json', FEDCAUSAL_HEART_DATA: HEART };
  delete env.NODE_OPTIONS; // no tsx loader inherited from the test runner

  const version = await run(process.execPath, [bin, '--version'], { env, cwd: root });
  const expected = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  // The commit comes from dist/build-info.json: the install has no .git.
  assert.equal(version.stdout.trim(), `fedcausal ${expected} (build ${FEDCAUSAL_BUILD}, protocol ${PROTOCOL_VERSION})`);
  const help = await run(process.execPath, [bin, '--help'], { env, cwd: root });
  assert.match(help.stdout, /usage: fedcausal/);

  const demo = await run(process.execPath, [bin, 'demo', '--rounds', '2', '--run-dir', join(root, 'run')], { env, cwd: root, timeout: 480_000, maxBuffer: 64 * 1024 * 1024 });
  const resultsPath = /^results: (.*)$/m.exec(demo.stdout)?.[1];
  assert.ok(resultsPath, `the demo names its results file:\n${demo.stdout.slice(-2000)}`);
  const results = JSON.parse(readFileSync(resultsPath, 'utf8')) as { rounds: number; sites: Record<string, { auroc: number }> };
  assert.equal(results.rounds, 2, demo.stdout.slice(-2000));
  assert.equal(Object.keys(results.sites).length, 4);
  for (const [site, m] of Object.entries(results.sites)) assert.ok(m.auroc > 0.5, `${site}: AUROC ${m.auroc}`);

  // A hospital's saved model scores its rows with the compiled code too.
  const model = /^score rows with one: npx fedcausal predict --model (\S+) --data FILE\.csv$/m.exec(demo.stdout)?.[1];
  assert.ok(model, `the demo names a saved model:\n${demo.stdout.slice(-2000)}`);
  const scored = await run(process.execPath, [bin, 'predict', '--model', model, '--data', join(HEART, 'processed.cleveland.data')], { env, cwd: root, maxBuffer: 16 * 1024 * 1024 });
  assert.match(scored.stdout, /^row,score,calibrated,label\n0,0\.\d+,0\.\d+,0\n/);
});
