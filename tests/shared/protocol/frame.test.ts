import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError } from '../../../shared/errors.ts';
import { FrameReader, decodeFrame, encodeFrame } from '../../../shared/protocol/frame.ts';
import { Rng } from '../../../shared/rng.ts';

test('a frame round-trips meta and weights', () => {
  const w = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i));
  const { meta, weights } = decodeFrame(encodeFrame({ a: 1, b: 'x' }, w));
  assert.deepEqual(meta, { a: 1, b: 'x' });
  assert.deepEqual(weights, w);
});

test('read in chunks of any size, weights arrive in order with offsets', () => {
  const w = Float32Array.from({ length: 777 }, (_, i) => i * 0.5);
  const bytes = encodeFrame({ round: 3 }, w);
  const rng = new Rng(5);
  for (let trial = 0; trial < 20; trial++) {
    const got = new Float32Array(w.length);
    let meta: unknown;
    let expectOffset = 0;
    const r = new FrameReader(
      (m) => (meta = m),
      (offset, values) => {
        assert.equal(offset, expectOffset);
        got.set(values, offset);
        expectOffset += values.length;
      },
    );
    for (let i = 0; i < bytes.length; ) {
      const n = 1 + rng.int(50);
      r.push(bytes.subarray(i, i + n));
      i += n;
    }
    assert.equal(r.finish(), w.length);
    assert.deepEqual(meta, { round: 3 });
    assert.deepEqual(got, w);
  }
});

test('a frame cut inside a float or before its meta is malformed', () => {
  const bytes = encodeFrame({ x: 1 }, new Float32Array([1, 2]));
  const r = new FrameReader(() => {}, () => {});
  r.push(bytes.subarray(0, bytes.length - 1));
  assert.throws(() => r.finish(), (e: unknown) => e instanceof ProtocolError && e.reason === 'malformed');
  const r2 = new FrameReader(() => {});
  r2.push(bytes.subarray(0, 3));
  assert.throws(() => r2.finish(), /before its meta/);
});

test('meta that is not JSON is malformed', () => {
  const bytes = new Uint8Array([3, 0, 0, 0, 0x7b, 0x7b, 0x7b]);
  assert.throws(() => new FrameReader(() => {}).push(bytes), (e: unknown) => e instanceof ProtocolError && e.reason === 'malformed');
});
