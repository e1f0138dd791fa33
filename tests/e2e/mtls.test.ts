// The federation PKI on a provisioned federation: who may connect to the coordinator's
// gRPC port, and whether a recorded join is worth anything. Only the coordinator runs;
// the attacker holds whatever the test gives it (the public ca.pem always, a site's kit
// where it says so).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { sealPayload } from '../../shared/crypto/envelope.ts';
import { decodeKey, encodeKey, generateIdentity, readIdentityFile } from '../../shared/crypto/keys.ts';
import { encodeFrame } from '../../shared/protocol/frame.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol/messages.ts';
import { createFederationCa, loadFederationCa } from '../../shared/pki/ca.ts';
import { PEER_REFUSED_MESSAGE } from '../../shared/pki/check-peer.ts';
import { loadCrl, revoke } from '../../shared/pki/crl.ts';
import type { TlsFiles } from '../../shared/pki/grpc-credentials.ts';
import { issueSiteCertificate } from '../../shared/pki/issue.ts';
import { loadSiteTls } from '../../shared/pki/kit-tls.ts';
import { parseCertificate } from '../../shared/pki/x509.ts';
import { challengeOf, statusName, subscribeWith, type CallOutcome, type GrpcTarget } from './helpers/grpc-client.ts';
import { withFederation, type TestFederation } from './helpers/federation.ts';

const SITES = ['cleveland', 'hungary'];

function expect(got: CallOutcome, want: grpc.status, what: string, detail?: RegExp): void {
  assert.equal(statusName(got.code), statusName(want), `${what}: got ${statusName(got.code)} (${got.details})`);
  if (detail) assert.match(got.details, detail, `${what}: details`);
}

/** A join as the site agent makes it: signed with `signer`, encrypted to the coordinator unless `plain`, carrying `nonce`. */
function joinOf(fed: TestFederation, site: string, signer: Uint8Array, nonce: Uint8Array | undefined, plain = false) {
  const box = decodeKey(fed.manifest().coordinator.boxPublicKey, 32, 'coordinator box key');
  const meta = { protocolVersion: PROTOCOL_VERSION, site, ...(nonce ? { nonce: Buffer.from(nonce).toString('base64') } : {}) };
  return sealPayload({ federation: 'e2e', round: 0, site, kind: 'join' }, encodeFrame(meta), {
    signingSecretKey: signer,
    ...(plain ? {} : { recipientBoxPublicKey: box }),
  });
}

async function nonceFor(to: GrpcTarget): Promise<Uint8Array> {
  const c = await challengeOf(to);
  expect(c, grpc.status.OK, 'challenge');
  return c.nonce!;
}

test('mTLS: only a current certificate of this federation, bound to the signer, may join; a recorded join is worthless', { timeout: 180_000 }, async () => {
  await withFederation({ sites: SITES, rounds: 1, hardTimeoutMs: 170_000 }, async (fed) => {
    let coordinator = await fed.startCoordinator();
    const caDir = join(fed.kits.outDir, 'ca');
    const ca = await loadFederationCa({ certPem: readFileSync(join(caDir, 'ca.pem'), 'utf8'), keyPem: readFileSync(join(caDir, 'ca.key.pem'), 'utf8') });
    const caPem = readFileSync(join(caDir, 'ca.pem'), 'utf8');
    const cleveland = readIdentityFile(join(fed.siteKit('cleveland'), 'identity.json'));
    const clevelandKey = encodeKey(cleveland.signing.publicKey);
    const kitTls = loadSiteTls(fed.siteYaml('cleveland'));
    const as = (tls: TlsFiles) => ({ address: fed.grpcAddress, tls });
    const issued = async (opts: { signingPublicKey?: string; now?: Date; validityDays?: number } = {}): Promise<TlsFiles> => {
      const c = await issueSiteCertificate(ca, { site: 'cleveland', signingPublicKey: opts.signingPublicKey ?? clevelandKey, ...opts });
      return { caPem, certPem: c.certPem, keyPem: c.keyPem! };
    };

    // The handshake refuses: no certificate, a self-signed one, another federation's (same name, other CA), an expired one.
    expect(await challengeOf(fed.grpcAddress), grpc.status.UNAVAILABLE, 'no certificate');
    const selfSigned = await createFederationCa({ federation: 'e2e' });
    expect(await challengeOf(as({ caPem, certPem: selfSigned.certPem, keyPem: selfSigned.keyPem })), grpc.status.UNAVAILABLE, 'self-signed');
    const foreign = await issueSiteCertificate(selfSigned, { site: 'cleveland', signingPublicKey: clevelandKey });
    expect(await challengeOf(as({ caPem, certPem: foreign.certPem, keyPem: foreign.keyPem! })), grpc.status.UNAVAILABLE, "another federation's");
    const expired = await issued({ now: new Date(Date.now() - 3 * 86_400_000), validityDays: 1 });
    expect(await challengeOf(as(expired)), grpc.status.UNAVAILABLE, 'expired');

    // A valid certificate bound to another Ed25519 key: the join signed with cleveland's real key is refused
    // (the same join over cleveland's own certificate is accepted, below).
    const otherKey = await issued({ signingPublicKey: encodeKey(generateIdentity().signing.publicKey) });
    const mismatched = await subscribeWith(as(otherKey), joinOf(fed, 'cleveland', cleveland.signing.secretKey, await nonceFor(as(otherKey))));
    expect(mismatched, grpc.status.UNAUTHENTICATED, 'certificate bound to another key', new RegExp(`^${PEER_REFUSED_MESSAGE}$`));

    // Signed but not encrypted: refused.
    const plain = await subscribeWith(as(kitTls), joinOf(fed, 'cleveland', cleveland.signing.secretKey, await nonceFor(as(kitTls)), true));
    expect(plain, grpc.status.INVALID_ARGUMENT, 'unencrypted join', /not encrypted/);
    // No nonce: refused.
    expect(await subscribeWith(as(kitTls), joinOf(fed, 'cleveland', cleveland.signing.secretKey, undefined)), grpc.status.ALREADY_EXISTS, 'join without nonce', /no challenge nonce/);

    // A revoked certificate: accepted until the CRL names it, refused from the next connection on.
    const revoked = await issued();
    expect(await challengeOf(as(revoked)), grpc.status.OK, 'before revocation');
    const crlPath = join(fed.kits.coordinatorKit, 'tls', 'crl.pem');
    const next = await revoke(ca, await loadCrl(readFileSync(crlPath, 'utf8'), ca.certificate), [{ serialNumber: parseCertificate(revoked.certPem).serialNumber }]);
    writeFileSync(crlPath, next.crlPem);
    expect(await challengeOf(as(revoked)), grpc.status.UNAUTHENTICATED, 'revoked', new RegExp(`^${PEER_REFUSED_MESSAGE}$`));

    // The genuine join, recorded off the wire: accepted once, refused when replayed, and still after a restart.
    const recorded = joinOf(fed, 'cleveland', cleveland.signing.secretKey, await nonceFor(as(kitTls)));
    expect(await subscribeWith(as(kitTls), recorded), grpc.status.OK, 'genuine join');
    expect(await subscribeWith(as(kitTls), recorded), grpc.status.ALREADY_EXISTS, 'replay before restart');
    coordinator.kill('SIGKILL');
    await coordinator.exitCode(10_000);
    coordinator = await fed.startCoordinator();
    const replay = await subscribeWith(as(kitTls), recorded);
    expect(replay, grpc.status.ALREADY_EXISTS, 'replay after restart');
    assert.ok(coordinator.logs.some((l) => l.message === 'message refused'), 'the replay is logged');
    assert.ok(!coordinator.logs.some((l) => l.message === 'site joined'), 'nobody joined after the restart');
    // A fresh challenge still works: the site itself is not locked out.
    expect(await subscribeWith(as(kitTls), joinOf(fed, 'cleveland', cleveland.signing.secretKey, await nonceFor(as(kitTls)))), grpc.status.OK, 'fresh join after restart');
  });
});

test('a site whose certificate the coordinator refuses says so plainly and exits 1', { timeout: 120_000 }, async () => {
  await withFederation({ sites: SITES, rounds: 1, hardTimeoutMs: 110_000 }, async (fed) => {
    await fed.startCoordinator();
    // Another federation's certificate in cleveland's kit (a kit mixed up between two provisionings).
    const other = await createFederationCa({ federation: 'e2e' });
    const cert = await issueSiteCertificate(other, { site: 'cleveland', signingPublicKey: encodeKey(generateIdentity().signing.publicKey) });
    writeFileSync(join(fed.siteKit('cleveland'), 'tls', 'client.pem'), cert.certPem, { mode: 0o600 });
    writeFileSync(join(fed.siteKit('cleveland'), 'tls', 'client.key.pem'), cert.keyPem!, { mode: 0o600 });
    fed.editYaml(fed.siteYaml('cleveland'), (c) => ({ ...c, connectTimeoutSeconds: 3 }));
    const site = fed.startSite('cleveland');
    assert.equal(await site.exitCode(60_000), 1, site.tail());
    // Either wording: a handshake refused in words, or a socket dropped during it (which a coordinator at its connection limit does too).
    const hint = /the coordinator refused this site's certificate, or its own could not be verified \(TLS handshake failed\)|the coordinator closed the connection during the TLS handshake: it refused this site's certificate, or it was at its connection limit/;
    assert.ok(site.logs.some((l) => hint.test(String(l.message))), `the site log says what happened:\n${site.tail()}`);
    assert.ok(!site.logs.some((l) => l.message === 'coordinator not reachable yet, retrying'), 'not reported as a coordinator that is down');
    assert.ok(!site.logs.some((l) => /does not trust the coordinator/.test(String(l.message))), 'this site trusts the coordinator: not its fault');
  });
});

test("a site whose tls/ca.pem is another provisioning's names its own distrust of the coordinator, in its log and last line (exit 1)", { timeout: 120_000 }, async () => {
  await withFederation({ sites: SITES, rounds: 1, hardTimeoutMs: 110_000 }, async (fed) => {
    await fed.startCoordinator();
    writeFileSync(join(fed.siteKit('cleveland'), 'tls', 'ca.pem'), (await createFederationCa({ federation: 'e2e' })).certPem, { mode: 0o600 });
    fed.editYaml(fed.siteYaml('cleveland'), (c) => ({ ...c, connectTimeoutSeconds: 3 }));
    const site = fed.startSite('cleveland');
    assert.equal(await site.exitCode(60_000), 1, site.tail());
    const distrust = /this site does not trust the coordinator's certificate \(this site's own check of it failed\): this kit's tls\/ca\.pem is not the CA that issued it/;
    assert.ok(site.logs.some((l) => distrust.test(String(l.message))), `the site log says so:\n${site.tail()}`);
    assert.ok(!site.logs.some((l) => /refused this site's certificate/.test(String(l.message))), 'the coordinator refused nothing');
    assert.match(site.otherStderr.join('\n'), new RegExp(`no TLS handshake with the coordinator at \\S+ within connectTimeoutSeconds \\(3 s; .*\\): ${distrust.source}`));
  });
});

test("another site's identity.json or tls/ files: the site names the file and exits 2 (no restart loop)", { timeout: 120_000 }, async () => {
  await withFederation({ sites: SITES, rounds: 1, hardTimeoutMs: 110_000 }, async (fed) => {
    await fed.startCoordinator();
    // hungary's identity.json in cleveland's kit; cleveland's tls/ files in hungary's: each join is refused
    // with the coordinator's one answer, and each site tells which of its files is at fault.
    copyFileSync(join(fed.siteKit('hungary'), 'identity.json'), join(fed.siteKit('cleveland'), 'identity.json'));
    for (const f of ['client.pem', 'client.key.pem']) copyFileSync(join(fed.siteKit('cleveland'), 'tls', f), join(fed.siteKit('hungary'), 'tls', f));
    const cleveland = fed.startSite('cleveland');
    const hungary = fed.startSite('hungary');
    assert.equal(await cleveland.exitCode(60_000), 2, cleveland.tail());
    assert.equal(await hungary.exitCode(60_000), 2, hungary.tail());
    const said = (p: typeof cleveland) => p.otherStderr.join('\n');
    assert.match(said(cleveland), new RegExp(`the coordinator refused this site \\(16 UNAUTHENTICATED: ${PEER_REFUSED_MESSAGE}\\); \\S*identity\\.json holds the keys of site "hungary", not of "cleveland"`));
    assert.match(said(hungary), /\S*tls\/client\.pem is the certificate of site "cleveland", not of "hungary"/);
  });
});
