// A coordinator and three hospital site agents as separate processes on loopback
// complete a small federation: the whole path a deployment takes (provisioned kits,
// gRPC, signed and encrypted messages, the run report), end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResultsFile } from '../../cli/results.ts';
import { statSync } from 'node:fs';
import { HEART_FILES, withFederation } from './helpers/federation.ts';
import { runCli } from './helpers/cli.ts';
import { loadModelBundle } from '../../shared/model/bundle.ts';

const SITES = ['cleveland', 'hungary', 'va'];
const ROUNDS = 3;

test('coordinator and three sites complete the rounds and write the results', { timeout: 90_000 }, async () => {
  await withFederation({ sites: SITES, rounds: ROUNDS, hardTimeoutMs: 80_000 }, async (fed) => {
    const coordinator = await fed.startCoordinator();
    const sites = SITES.map((s) => fed.startSite(s));

    // While it runs, the HTTP side answers as INTERFACES.md says.
    assert.equal(await fed.getText('/healthz'), 'ok');
    const status = await fed.status();
    assert.equal(typeof status.round, 'number');
    assert.equal(typeof status.state, 'string');
    assert.deepEqual(status.sites.map((s) => s.name).sort(), [...SITES].sort());

    assert.equal(await coordinator.exitCode(60_000), 0, 'coordinator exit code');
    for (const s of sites) assert.equal(await s.exitCode(10_000), 0, `${s.name} exit code`);

    const r = fed.results<ResultsFile>(coordinator);
    assert.equal(r.model, 'baseline');
    assert.equal(r.rounds, ROUNDS);
    assert.deepEqual(Object.keys(r.sites).sort(), [...SITES].sort());
    for (const [name, m] of Object.entries(r.sites)) {
      assert.ok(m.auroc >= 0 && m.auroc <= 1, `${name} auroc ${m.auroc} in [0, 1]`);
      assert.ok(m.n! > 0, `${name} has held-out rows`);
    }
    assert.equal(r.history.length, ROUNDS);
    assert.deepEqual(
      r.history.map((h) => [h.round, h.participants, h.failures, h.accepted]),
      Array.from({ length: ROUNDS }, (_, i) => [i + 1, 3, 0, true]),
    );
    const psum = r.prior.reduce((a, p) => a + p.p, 0);
    assert.ok(Math.abs(psum - 1) < 1e-9, `prior sums to ${psum}`);

    // Each site saved the federation's final model, the coordinator's weights with its own recalibration, and predict scores with it.
    const runModel = /model: (\S+) \(score rows with/.exec(coordinator.stdout)?.[1];
    assert.ok(runModel, `the coordinator names its model.json: ${coordinator.stdout}`);
    const global = loadModelBundle(runModel);
    assert.equal(statSync(runModel).mode & 0o777, 0o600, "the coordinator's copy is kept like the sites'");
    assert.equal(global.site, undefined);
    assert.equal(global.calibration, undefined);
    for (const [i, s] of sites.entries()) {
      const saved = s.logs.find((l) => l.message === 'model saved');
      assert.ok(saved && typeof saved.file === 'string', `${s.name} logged where its model went`);
      const own = loadModelBundle(saved.file as string);
      assert.equal(own.site, SITES[i]);
      assert.deepEqual(own.weights, global.weights, `${s.name} holds the federation's final weights`);
      assert.ok(own.calibration, `${s.name} saved its recalibration`);
      assert.equal(statSync(saved.file as string).mode & 0o777, 0o600);
    }
    const scored = await runCli(['predict', '--model', sites[0]!.logs.find((l) => l.message === 'model saved')!.file as string, '--data', HEART_FILES.cleveland!]);
    assert.equal(scored.code, 0, scored.stderr);
    assert.match(scored.stdout, /^row,score,calibrated,label\n0,0\.\d+,0\.\d+,[01]\n/);

    // Every site trained each round and ended cleanly when the coordinator said so.
    for (const s of sites) {
      const trained = s.logs.filter((l) => l.message === 'round trained').map((l) => l.round);
      assert.deepEqual(trained, [1, 2, 3], `${s.name} trained rounds`);
      assert.ok(s.logs.some((l) => l.message.startsWith('federation ended')), `${s.name} saw the end of the federation`);
    }
    assert.equal(coordinator.logs.filter((l) => l.message === 'message refused').length, 0, 'no message was refused');
    // Without secure aggregation the operator is told at start what this coordinator reads.
    assert.equal(coordinator.logs.filter((l) => l.level === 'warn' && l.message === "secure aggregation is off: this coordinator reads each site's model update and statistics").length, 1);
    // This test's coordinator.yaml has no linger: the operator is told at start what that costs.
    assert.equal(coordinator.logs.filter((l) => l.level === 'warn' && l.setting === 'listen.httpLingerSeconds' && /go away 0s after the run ends/.test(l.message)).length, 1);
  });
});
