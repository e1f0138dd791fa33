// A site the coordinator refuses (UNAUTHENTICATED, one uniform message) names the file of its
// kit that is most likely wrong, or says plainly that it cannot tell; and the error exits 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { encodeKey, generateIdentity } from '../../shared/crypto/keys.ts';
import { exitCodeFor, InputError } from '../../shared/errors.ts';
import { PEER_REFUSED_MESSAGE } from '../../shared/pki/check-peer.ts';
import { REASON_METADATA_KEY } from '../../shared/transport/grpc-proto.ts';
import { certificateBinding, kitRefusal, refusalCulprit, type KitIdentity } from '../../site-agent/kit-refusal.ts';
import { makeTlsFixture } from '../shared/pki/tls-fixture.ts';

const A = generateIdentity();
const B = generateIdentity();
const key = (id: ReturnType<typeof generateIdentity>) => encodeKey(id.signing.publicKey);
const ENROLLED = [
  { name: 'hospital-a', signingPublicKey: key(A) },
  { name: 'hospital-b', signingPublicKey: key(B) },
];
const fixture = makeTlsFixture('hospital-a', key(A));

/** hospital-a's kit, with `changes` swapped in. */
async function kit(changes: Partial<KitIdentity> = {}): Promise<KitIdentity> {
  return {
    site: 'hospital-a',
    certFile: 'kit/tls/client.pem',
    certPem: (await fixture).site.certPem,
    identityFile: 'kit/identity.json',
    signingPublicKey: A.signing.publicKey,
    enrolled: ENROLLED,
    ...changes,
  };
}

/** An UNAUTHENTICATED status as grpc-js hands it to the site, with the refusal's reason in the trailers. */
function refused(reason = 'peer-refused'): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  metadata.set(REASON_METADATA_KEY, reason);
  return Object.assign(new Error(`16 UNAUTHENTICATED: ${PEER_REFUSED_MESSAGE}`), { code: grpc.status.UNAUTHENTICATED, details: PEER_REFUSED_MESSAGE, metadata });
}

const RESTORE = "install the files from this site's kit as provisioned";

test("another site's tls/client.pem: the certificate is named, with whose it is", async () => {
  const other = await (await fixture).issueSite('hospital-b', key(B));
  assert.equal(
    refusalCulprit(await kit({ certPem: other.certPem }), 'join'),
    `kit/tls/client.pem is the certificate of site "hospital-b", not of "hospital-a" (this kit's tls/ files come from another site's kit); ${RESTORE}`,
  );
});

test("another site's identity.json: identity.json is named, with whose it is", async () => {
  assert.equal(
    refusalCulprit(await kit({ signingPublicKey: B.signing.publicKey }), 'join'),
    `kit/identity.json holds the keys of site "hospital-b", not of "hospital-a" (another site's identity.json); ${RESTORE}`,
  );
  assert.equal(
    refusalCulprit(await kit({ signingPublicKey: generateIdentity().signing.publicKey }), 'join'),
    `kit/identity.json holds a signing key that manifest.json does not enroll for "hospital-a" (an identity.json from another kit or another provisioning run); ${RESTORE}`,
  );
});

test('a certificate bound to another key than identity.json and the manifest: the certificate is named', async () => {
  const stale = await (await fixture).issueSite('hospital-a', key(generateIdentity()));
  assert.equal(
    refusalCulprit(await kit({ certPem: stale.certPem }), 'join'),
    `kit/tls/client.pem is bound to another signing key than this site's identity.json and manifest.json (a certificate from an earlier provisioning of "hospital-a" or another kit); ${RESTORE}`,
  );
});

test('identity.json and the certificate agree, the manifest does not: a kit mixing old and new files', async () => {
  const rekeyed = generateIdentity();
  const cert = await (await fixture).issueSite('hospital-a', key(rekeyed));
  assert.match(
    refusalCulprit(await kit({ certPem: cert.certPem, signingPublicKey: rekeyed.signing.publicKey }), 'join'),
    /^kit\/identity\.json and kit\/tls\/client\.pem agree with each other but not with manifest\.json, which enrolls another key for "hospital-a"/,
  );
});

test('a consistent kit: says it cannot tell, and what the refused call still tells', async () => {
  const atJoin = refusalCulprit(await kit(), 'join');
  assert.match(atJoin, /^this kit's kit\/tls\/client\.pem, kit\/identity\.json and manifest\.json agree with each other, so this site cannot tell which check failed/);
  assert.match(atJoin, /the certificate passed and the join signed with identity\.json was refused/);
  const atChallenge = refusalCulprit(await kit(), 'challenge');
  assert.match(atChallenge, /the certificate itself was refused, before identity\.json was used \(this site revoked/);
  assert.match(atChallenge, /the coordinator's log names the reason/);
});

test('a join the coordinator could not decrypt: the manifest is named', async () => {
  assert.match(refusalCulprit(await kit(), 'join', 'decrypt-failed'), /^the coordinator could not decrypt this site's join: the kit's manifest\.json names another coordinator key/);
});

test('kitRefusal: an InputError (exit 2) that keeps what the coordinator said, then the culprit', async () => {
  const other = await (await fixture).issueSite('hospital-b', key(B));
  const e = kitRefusal(refused(), await kit({ certPem: other.certPem }), 'join');
  assert.ok(e instanceof InputError);
  assert.equal(exitCodeFor(e), 2);
  assert.ok(
    e.message.startsWith(`the coordinator refused this site (16 UNAUTHENTICATED: ${PEER_REFUSED_MESSAGE}); kit/tls/client.pem is the certificate of site "hospital-b"`),
    e.message,
  );
});

test('certificateBinding reads the site binding of a site certificate, and nothing from anything else', async () => {
  const f = await fixture;
  assert.deepEqual(certificateBinding(f.site.certPem), { site: 'hospital-a', signingPublicKey: key(A) });
  assert.equal(certificateBinding(f.server.files.certPem), undefined, 'the coordinator certificate has no site binding');
  assert.equal(certificateBinding('not a certificate'), undefined);
});
