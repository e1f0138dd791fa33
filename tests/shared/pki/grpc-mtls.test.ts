/**
 * grpc-js over TLS with the PKI's PEM files, on loopback: the handshake demands a
 * federation certificate, and the handler reads the peer certificate and runs
 * checkPeer on it (the pattern the coordinator's gRPC server is to follow).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createFederationCa } from '../../../shared/pki/ca.ts';
import { PEER_REFUSED_MESSAGE, checkPeer, type PeerTrust } from '../../../shared/pki/check-peer.ts';
import { loadCrl, revoke } from '../../../shared/pki/crl.ts';
import { mtlsChannelCredentials, mtlsServerCredentials, peerCertificateDer } from '../../../shared/pki/grpc-credentials.ts';
import { issueSiteCertificate } from '../../../shared/pki/issue.ts';
import { makeFederation, newSigningKey, type Federation } from './fixtures.ts';

/** One unary method with raw bytes both ways: enough to prove the transport, no proto needed. */
const service: grpc.ServiceDefinition = {
  WhoAmI: {
    path: '/fedcausal.test.Pki/WhoAmI',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};
const Client = grpc.makeGenericClientConstructor(service, 'Pki');

let f: Federation;
let trust: PeerTrust;
let server: grpc.Server;
let port: number;
const clients: grpc.Client[] = [];

before(async () => {
  f = await makeFederation('fed-grpc', 'hospital-a');
  trust = { caCert: f.caCert, crl: f.emptyCrl };
  server = new grpc.Server();
  server.addService(service, {
    WhoAmI: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      void checkPeer(peerCertificateDer(call), trust).then((r) =>
        r.ok ? callback(null, Buffer.from(r.site)) : callback({ code: grpc.status.UNAUTHENTICATED, details: PEER_REFUSED_MESSAGE }),
      );
    },
  });
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      '127.0.0.1:0',
      mtlsServerCredentials({ caPem: f.ca.certPem, certPem: f.server.certPem, keyPem: f.server.keyPem! }),
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  );
});

after(async () => {
  for (const c of clients) c.close();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

function call(creds: grpc.ChannelCredentials): Promise<string> {
  const client = new Client(`127.0.0.1:${port}`, creds);
  clients.push(client);
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      '/fedcausal.test.Pki/WhoAmI',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      { deadline: Date.now() + 10_000 },
      (err: grpc.ServiceError | null, res?: Buffer) => (err ? reject(err) : resolve(res!.toString())),
    ),
  );
}

test('a site with its federation certificate gets through, and the server names it from the certificate', async () => {
  const name = await call(mtlsChannelCredentials({ caPem: f.ca.certPem, certPem: f.site.certPem, keyPem: f.site.keyPem! }));
  assert.equal(name, 'hospital-a');
});

test('a client without a certificate fails at the handshake', async () => {
  const err = await call(grpc.credentials.createSsl(Buffer.from(f.ca.certPem))).then(
    () => assert.fail('the call succeeded'),
    (e: grpc.ServiceError) => e,
  );
  assert.equal(err.code, grpc.status.UNAVAILABLE, err.message);
});

test("a client with another federation's certificate (same federation and site names) fails at the handshake", async () => {
  const other = await createFederationCa({ federation: 'fed-grpc' });
  const theirs = await issueSiteCertificate(other, { site: 'hospital-a', signingPublicKey: f.siteKey });
  const err = await call(mtlsChannelCredentials({ caPem: f.ca.certPem, certPem: theirs.certPem, keyPem: theirs.keyPem! })).then(
    () => assert.fail('the call succeeded'),
    (e: grpc.ServiceError) => e,
  );
  assert.equal(err.code, grpc.status.UNAVAILABLE, err.message);
});

test('a site that does not trust the coordinator (another CA) refuses it', async () => {
  const other = await createFederationCa({ federation: 'fed-grpc' });
  const err = await call(mtlsChannelCredentials({ caPem: other.certPem, certPem: f.site.certPem, keyPem: f.site.keyPem! })).then(
    () => assert.fail('the call succeeded'),
    (e: grpc.ServiceError) => e,
  );
  assert.equal(err.code, grpc.status.UNAVAILABLE, err.message);
});

test('a revoked certificate passes TLS but checkPeer refuses it, with the uniform message; another site still connects', async () => {
  const b = await issueSiteCertificate(f.ca, { site: 'hospital-b', signingPublicKey: newSigningKey() });
  const crl = await loadCrl((await revoke(f.ca, f.emptyCrl, [{ serialNumber: f.site.serialNumber }])).crlPem, f.caCert);
  trust = { caCert: f.caCert, crl };
  try {
    const err = await call(mtlsChannelCredentials({ caPem: f.ca.certPem, certPem: f.site.certPem, keyPem: f.site.keyPem! })).then(
      () => assert.fail('the call succeeded'),
      (e: grpc.ServiceError) => e,
    );
    assert.equal(err.code, grpc.status.UNAUTHENTICATED);
    assert.equal(err.details, PEER_REFUSED_MESSAGE);
    assert.equal(await call(mtlsChannelCredentials({ caPem: f.ca.certPem, certPem: b.certPem, keyPem: b.keyPem! })), 'hospital-b');
  } finally {
    trust = { caCert: f.caCert, crl: f.emptyCrl };
  }
});
