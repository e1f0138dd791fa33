// A revocation reaches a site that is already subscribed: its next task is not sent, and its
// stream ends with the uniform refusal (it would otherwise keep receiving the global model).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startGrpcServer } from '../../coordinator/grpc-server.ts';
import { PayloadSealer } from '../../shared/crypto/envelope.ts';
import { generateIdentity } from '../../shared/crypto/keys.ts';
import { silentLogger } from '../../shared/logger.ts';
import { PEER_REFUSED_MESSAGE, type PeerTrust } from '../../shared/pki/check-peer.ts';
import { loadCrl, revoke } from '../../shared/pki/crl.ts';
import { parseCertificate } from '../../shared/pki/x509.ts';
import type { CoordinatorEndpoint, TaskSink, WireMessage } from '../../shared/transport/types.ts';
import { grpcSiteTransport } from '../../site-agent/grpc-client.ts';
import { makeTlsFixture } from '../shared/pki/tls-fixture.ts';

const MiB = 1024 * 1024;

function sealed(kind: string, signer: Uint8Array): WireMessage {
  const s = new PayloadSealer({ federation: 'f', round: 1, site: 'a', kind }, new Uint8Array(8), { signingSecretKey: signer });
  return { header: s.header, signature: s.signature, chunks: { [Symbol.iterator]: () => s.chunks() } };
}

test('a site revoked after it subscribed gets no further task: its stream ends UNAUTHENTICATED', async () => {
  let trust: PeerTrust | undefined;
  const tls = await makeTlsFixture('a', undefined, () => trust!);
  trust = { caCert: tls.fed.caCert, crl: tls.fed.emptyCrl };
  const site = generateIdentity();
  const coord = generateIdentity();
  let sink: TaskSink | undefined;
  let closed = false;
  const endpoint: CoordinatorEndpoint = {
    async subscribe(_join, s) {
      sink = s;
      return { welcome: { federation: 'f', protocolVersion: 1, message: 'hi' }, closed: () => (closed = true) };
    },
    submit: async () => ({ accepted: true, message: 'ok' }),
  };
  const server = await startGrpcServer({ endpoint, host: '127.0.0.1', port: 0, maxChunkSize: MiB, log: silentLogger, tls: tls.server });
  const client = grpcSiteTransport(`127.0.0.1:${server.port}`, MiB, tls.site);
  try {
    const { tasks } = await client.subscribe(sealed('join', site.signing.secretKey));
    const it = tasks[Symbol.asyncIterator]();
    await sink!.send(sealed('task-fit', coord.signing.secretKey));
    const first = (await it.next()).value as WireMessage;
    for await (const _ of first.chunks); // drain it
    // The operator revokes the site's certificate; the coordinator's trust store now holds the new list.
    const next = await revoke(tls.fed.ca, tls.fed.emptyCrl, [{ serialNumber: parseCertificate(tls.site.certPem).serialNumber }]);
    trust = { caCert: tls.fed.caCert, crl: await loadCrl(next.crlPem, tls.fed.caCert) };
    await sink!.send(sealed('task-fit', coord.signing.secretKey));
    await assert.rejects(it.next(), (e: Error) => {
      assert.match(e.message, new RegExp(PEER_REFUSED_MESSAGE));
      return true;
    });
    for (let i = 0; i < 50 && !closed; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(closed, 'the endpoint is told the subscription ended');
  } finally {
    client.close();
    await server.close();
  }
});
