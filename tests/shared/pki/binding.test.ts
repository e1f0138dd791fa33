import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSiteBindingUri, peerMatchesSigner, siteBindingUri } from '../../../shared/pki/binding.ts';
import { newSigningKey } from './fixtures.ts';

test('a binding URI round trips the site name and its Ed25519 key in manifest form (base64)', () => {
  const key = newSigningKey();
  const uri = siteBindingUri('hospital-a', key);
  assert.match(uri, /^urn:fedcausal:site:hospital-a:ed25519:[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(parseSiteBindingUri(uri), { site: 'hospital-a', signingPublicKey: key });
});

test('malformed binding URIs parse to nothing', () => {
  const key = newSigningKey();
  const good = siteBindingUri('hospital-a', key);
  const b64url = good.split(':').pop()!;
  for (const bad of [
    '',
    'urn:fedcausal:site:hospital-a',
    `urn:fedcausal:site:Hospital-A:ed25519:${b64url}`, // not a site name
    `urn:fedcausal:site:hospital-a:ed25519:${b64url.slice(1)}`, // 31 bytes
    `urn:fedcausal:site:hospital-a:ed25519:${b64url}AA`, // 33 bytes
    `urn:fedcausal:site:hospital-a:ed25519:${b64url}=`, // padding
    `urn:fedcausal:site:hospital-a:x25519:${b64url}`,
    `${good}:extra`,
  ])
    assert.equal(parseSiteBindingUri(bad), undefined, bad);
});

test('siteBindingUri refuses a bad site name or a key that is not 32 bytes', () => {
  assert.throws(() => siteBindingUri('Bad Name', newSigningKey()), /site name must match/);
  assert.throws(() => siteBindingUri('hospital-a', Buffer.alloc(31).toString('base64')), /decodes to 31 bytes/);
});

test('peerMatchesSigner: same site and key only', () => {
  const key = newSigningKey();
  const peer = { site: 'hospital-a', ed25519PublicKey: key };
  assert.equal(peerMatchesSigner(peer, { site: 'hospital-a', signingPublicKey: key }), true);
  assert.equal(peerMatchesSigner(peer, { site: 'hospital-a', signingPublicKey: newSigningKey() }), false);
  assert.equal(peerMatchesSigner(peer, { site: 'hospital-b', signingPublicKey: key }), false);
  assert.equal(peerMatchesSigner(peer, { site: 'hospital-a', signingPublicKey: '' }), false);
});
