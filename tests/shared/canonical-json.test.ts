import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson } from '../../shared/canonical-json.ts';
import { canonicalHeaderBytes, type SealedHeader } from '../../shared/crypto/header.ts';

test('keys sorted at every level, no whitespace, undefined members left out, arrays kept in order', () => {
  const v = { b: [3, { z: 1, a: null }], a: 'x', c: undefined, d: { y: true, x: 'é"\n' } };
  assert.equal(canonicalJson(v), '{"a":"x","b":[3,{"a":null,"z":1}],"d":{"x":"é\\"\\n","y":true}}');
  // Key order in the source does not matter; the text is what JSON.parse reads back.
  assert.equal(canonicalJson({ d: v.d, a: 'x', b: v.b }), canonicalJson(v));
  assert.deepEqual(JSON.parse(canonicalJson(v)), JSON.parse(JSON.stringify(v)));
  assert.equal(canonicalJson([]), '[]');
  assert.equal(canonicalJson({}), '{}');
  assert.equal(canonicalJson('s'), '"s"');
});

test('envelope header bytes are exactly the signed form they have always been', () => {
  const header: SealedHeader = {
    version: 1,
    site: 'site-a',
    federation: 'fed-1',
    round: 3,
    kind: 'fit-result',
    messageId: '0123456789abcdef0123456789abcdef',
    createdAt: 1700000000000,
    payloadLength: 200,
    chunkSize: 64,
    chunkCount: 4,
    payloadSha256: 'ab'.repeat(32),
    encrypted: false,
  };
  // Written out by hand: a change here breaks every signature a deployed peer checks.
  const expected =
    '{"chunkCount":4,"chunkSize":64,"createdAt":1700000000000,"encrypted":false,"federation":"fed-1","kind":"fit-result",' +
    `"messageId":"0123456789abcdef0123456789abcdef","payloadLength":200,"payloadSha256":"${'ab'.repeat(32)}","round":3,"site":"site-a","version":1}`;
  assert.equal(Buffer.from(canonicalHeaderBytes(header)).toString('utf8'), expected);
  assert.equal(Buffer.from(canonicalHeaderBytes({ ...header, ephemeralPublicKey: undefined })).toString('utf8'), expected);
});
