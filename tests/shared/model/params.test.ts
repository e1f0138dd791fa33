import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { loadBackend } from '../../../shared/model/backend.ts';
import { ParamSet } from '../../../shared/model/params.ts';
import { Rng } from '../../../shared/rng.ts';

before(async () => void (await loadBackend('wasm').catch(() => loadBackend('cpu'))));

test('structural zeros: masked entries start at zero, stay zero through setFlat, and are marked untrainable', () => {
  const p = new ParamSet();
  p.add('a', [2, 2], 'glorot', new Rng(1), Float32Array.from([1, 0, 0, 1]));
  p.add('b', [2], 'zeros', new Rng(1));
  const w = p.getFlat();
  assert.equal(w[1], 0);
  assert.equal(w[2], 0);
  assert.notEqual(w[0], 0);
  assert.deepEqual(Array.from(p.trainableMask()!), [1, 0, 0, 1, 1, 1]);
  p.setFlat(Float32Array.from([1, 2, 3, 4, 5, 6]));
  assert.deepEqual(Array.from(p.getFlat()), [1, 0, 0, 4, 5, 6]);
  assert.throws(() => p.add('c', [3], 'zeros', new Rng(1), new Float32Array(2)), /mask of "c" has 2 entries, the parameter 3/);
  p.dispose();
  const plain = new ParamSet();
  plain.add('a', [2], 'zeros', new Rng(1));
  assert.equal(plain.trainableMask(), undefined);
  plain.dispose();
});

test('setFlat keeps no tensor behind: a site sets the weights every round, and each copy used to stay alive', async () => {
  const tf = await import('@tensorflow/tfjs');
  const p = new ParamSet();
  p.add('a', [2, 2], 'glorot', new Rng(1), Float32Array.from([1, 0, 0, 1]));
  p.add('b', [2], 'zeros', new Rng(1));
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) p.setFlat(Float32Array.from([i, 2, 3, 4, 5, 6]));
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(Array.from(p.getFlat()), [4, 0, 0, 4, 5, 6]);
  p.dispose();
});
