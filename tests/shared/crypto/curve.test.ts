// curve.ts gives tweetnacl's results on tweetnacl's keys, through node:crypto.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import nacl from 'tweetnacl';
import { ed25519Sign, ed25519Verify, x25519 } from '../../../shared/crypto/curve.ts';

test('Ed25519: the same signature as tweetnacl, each verifies the other, a changed byte does not verify', () => {
  for (let i = 0; i < 5; i++) {
    const k = nacl.sign.keyPair();
    const m = new Uint8Array(randomBytes(40 + i));
    const sig = ed25519Sign(m, k.secretKey);
    assert.deepEqual(sig, nacl.sign.detached(m, k.secretKey), 'Ed25519 is deterministic');
    assert.ok(ed25519Verify(m, nacl.sign.detached(m, k.secretKey), k.publicKey));
    assert.ok(nacl.sign.detached.verify(m, sig, k.publicKey));
    const bad = Uint8Array.from(sig);
    bad[i] = bad[i]! ^ 1;
    assert.equal(ed25519Verify(m, bad, k.publicKey), false);
    assert.equal(ed25519Verify(m, sig, nacl.sign.keyPair().publicKey), false, 'another key');
    assert.equal(ed25519Verify(m, sig.subarray(0, 63), k.publicKey), false, 'a short signature');
  }
});

test('X25519: the same agreement as tweetnacl; a low-order public key gives all zeros', () => {
  const a = nacl.box.keyPair();
  const b = nacl.box.keyPair();
  assert.deepEqual(x25519(a.secretKey, b.publicKey), nacl.scalarMult(a.secretKey, b.publicKey));
  assert.deepEqual(x25519(a.secretKey, b.publicKey), x25519(b.secretKey, a.publicKey));
  assert.deepEqual(x25519(a.secretKey, new Uint8Array(32)), new Uint8Array(32));
});
