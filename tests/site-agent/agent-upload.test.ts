// What leaves the site in a fit round: with privacy.dp on, and in what chunks.
// The clipping and noise themselves are tested in tests/shared/privacy/dp.test.ts; here, that
// the agent applies them to what it sends (an audit found an agent sending the raw update passed every test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countPatternLabels } from '../../shared/data/patterns.ts';
import { UPLOAD_CHUNK_SIZE } from '../../shared/crypto/envelope.ts';
import { dpTaskConfig } from '../../shared/privacy/dp.ts';
import { data, end, fakeRunner, model, prior, serve, space, task } from './agent-harness.ts';

test('with DP on, the update sent is clipped to clipNorm around the global weights and noised, and the pattern counts are the prior\'s patterns only', async () => {
  const global = Float32Array.from([0.5, -0.25, 2]);
  const clipNorm = 0.01;
  const { submitted } = await serve(
    [task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: dpTaskConfig({ clipNorm, noiseMultiplier: 0.001, delta: 1e-5 }) }, global), end(1)],
    {},
    fakeRunner(),
  );
  const sent = submitted[0]!.weights;
  // Training moved every weight by 1 (norm 1.73): what leaves is that move clipped to 0.01, plus noise of SD 1e-5.
  const delta = Array.from(sent, (w, i) => w - global[i]!);
  const norm = Math.hypot(...delta);
  assert.ok(Math.abs(norm - clipNorm) < 1e-3, `update norm ${norm}, clipNorm ${clipNorm}`);
  for (const d of delta) assert.ok(Math.abs(d - clipNorm / Math.sqrt(3)) < 1e-3, `each weight moved ${d}`);
  assert.ok(delta.some((d) => d !== delta[0]), 'noise makes the three moves differ');
  // The site's own pattern "10" (a row without its exam) is not the prior's: its mere key would say it is there.
  assert.ok(Object.keys(countPatternLabels(data.train.patterns, data.train.labels)).length > 1, 'the site has a pattern of its own');
  assert.deepEqual(Object.keys(submitted[0]!.meta.patternCounts!), prior.patterns.map((p) => p.pattern));
});

test('with DP on, the same round asked again from the same model gets the same noised release (nothing new to average); another round or model, other noise', async () => {
  const config = dpTaskConfig({ clipNorm: 1, noiseMultiplier: 1, delta: 1e-5 });
  const send = async (round: number, global: Float32Array) =>
    (await serve([task({ kind: 'fit', round, featureSpace: space, prior, model, config }, global), end(round)], {}, fakeRunner())).submitted[0]!;
  const global = Float32Array.from([0.5, -0.25, 2]);
  // A coordinator killed mid-round asks the round again after its restart: fresh noise each time let the copies be averaged (a DPO re-review).
  const [first, again] = [await send(1, global), await send(1, global)];
  assert.deepEqual(again.weights, first.weights);
  assert.deepEqual(again.meta.patternCounts, first.meta.patternCounts);
  assert.notDeepEqual((await send(2, global)).weights, first.weights);
  assert.notDeepEqual((await send(1, Float32Array.from([0.5, -0.25, 2.5]))).weights.subarray(0, 2), first.weights.subarray(0, 2));
});

test('without DP the update is the trained weights as they are', async () => {
  const global = Float32Array.from([0.5, -0.25, 2]);
  const { submitted } = await serve([task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: {} }, global), end(1)], {}, fakeRunner());
  assert.deepEqual(submitted[0]!.weights, global.map((w) => w + 1));
});

test('results go up in chunks a slow uplink carries within the frame deadline', async () => {
  // 1 MiB chunks needed 280 kbit/s against the 30 s deadline; every update of a 2 MB model was refused over a slow link (an outside try).
  const global = new Float32Array(200_000);
  const { submitted } = await serve([task({ kind: 'fit', round: 1, featureSpace: space, prior, model, config: {} }, global), end(1)], {}, fakeRunner());
  assert.equal(submitted[0]!.chunkSize, UPLOAD_CHUNK_SIZE);
  assert.equal(UPLOAD_CHUNK_SIZE, 256 * 1024);
});
