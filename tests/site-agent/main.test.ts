// `site start` against a coordinator that refuses this site's keys (gRPC UNAUTHENTICATED): a
// restart cannot cure that where the kit's own files disagree, so the site ends with an InputError (exit 2, which systemd's
// RestartPreventExitStatus=2 does not restart) naming the kit file at fault. It exited 1, and
// a supervisor restarted it forever. And against no coordinator at all: a warning every
// UNREACHABLE_NOTICE_INTERVAL_MS while it retries (it was silent for up to connectTimeoutSeconds).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { freePort } from '../e2e/helpers/free-port.ts';
import { join } from 'node:path';
import YAML from 'yaml';
import { provisionFederation } from '../../cli/provision.ts';
import { startGrpcServer } from '../../coordinator/grpc-server.ts';
import { exitCodeFor, InputError, ProtocolError } from '../../shared/errors.ts';
import { PayloadOpener, PayloadSealer, verifyHeader } from '../../shared/crypto/envelope.ts';
import { readIdentityFile } from '../../shared/crypto/keys.ts';
import { decodeFrame, encodeFrame } from '../../shared/protocol/frame.ts';
import { PROTOCOL_VERSION, type ResultMeta } from '../../shared/protocol/messages.ts';
import { silentLogger } from '../../shared/logger.ts';
import { PEER_REFUSED_MESSAGE } from '../../shared/pki/check-peer.ts';
import { createFederationCa } from '../../shared/pki/ca.ts';
import { loadCoordinatorTls } from '../../shared/pki/kit-tls.ts';
import { openTrustStore } from '../../shared/pki/trust-store.ts';
import type { CoordinatorEndpoint } from '../../shared/transport/types.ts';
import { startSite } from '../../site-agent/main.ts';
import { tlsHint } from '../../site-agent/tls-hints.ts';
import { UNREACHABLE_NOTICE_INTERVAL_MS } from '../../site-agent/unreachable-notice.ts';
import type { Logger } from '../../shared/logger.ts';
import { federationYaml, tempDir } from '../cli/provision-helpers.ts';

/** A provisioned federation and a coordinator double on its TLS that refuses as `refuse` says. */
/** A provisioned federation whose site kits point at `address`, retrying for `connectTimeoutSeconds`. */
async function kitsFor(t: TestContext, address: () => string, connectTimeoutSeconds: number) {
  const dir = tempDir(t);
  await provisionFederation(federationYaml(dir), join(dir, 'kits'));
  const kit = (site: string) => join(dir, 'kits', 'sites', site);
  const point = () => {
    for (const site of ['cleveland', 'hungary']) {
      const yaml = join(kit(site), 'site.yaml');
      const cfg = YAML.parse(readFileSync(yaml, 'utf8')) as Record<string, unknown>;
      writeFileSync(yaml, YAML.stringify({ ...cfg, coordinator: { address: address() }, connectTimeoutSeconds }));
    }
  };
  return { dir, kit, point };
}

async function refusingCoordinator(t: TestContext, refuse: 'challenge' | 'join', error = new ProtocolError(PEER_REFUSED_MESSAGE, 'peer-refused')) {
  let port = 0;
  const { dir, kit, point } = await kitsFor(t, () => `127.0.0.1:${port}`, 5);
  const tls = loadCoordinatorTls(join(dir, 'kits', 'coordinator', 'coordinator.yaml'));
  const trust = await openTrustStore({ caPath: tls.caPath, crlPath: tls.crlPath });
  const no = async (): Promise<never> => {
    // By default the coordinator's one answer to every identity refusal (coordinator-service.ts).
    throw error;
  };
  const endpoint: CoordinatorEndpoint = {
    challenge: refuse === 'challenge' ? no : async () => new Uint8Array(32),
    subscribe: no,
    submit: no,
  };
  const server = await startGrpcServer({ endpoint, host: '127.0.0.1', port: 0, maxChunkSize: 1 << 20, log: silentLogger, tls: { files: tls, trust } });
  t.after(() => server.close());
  port = server.port;
  point();
  return { kit };
}

test("another site's tls/client.* in the kit: refused at join, InputError (exit 2) naming tls/client.pem", { timeout: 60_000 }, async (t) => {
  const { kit } = await refusingCoordinator(t, 'join');
  for (const f of ['client.pem', 'client.key.pem']) copyFileSync(join(kit('hungary'), 'tls', f), join(kit('cleveland'), 'tls', f));
  await assert.rejects(startSite(join(kit('cleveland'), 'site.yaml'), silentLogger), (e: Error) => {
    assert.ok(e instanceof InputError, `an InputError, got ${e.name}: ${e.message}`);
    assert.equal(exitCodeFor(e), 2);
    assert.equal(
      e.message,
      `the coordinator refused this site (16 UNAUTHENTICATED: ${PEER_REFUSED_MESSAGE}); ` +
        `${join(kit('cleveland'), 'tls', 'client.pem')} is the certificate of site "hungary", not of "cleveland" ` +
        "(this kit's tls/ files come from another site's kit); install the files from this site's kit as provisioned",
    );
    return true;
  });
});

test('a consistent kit refused at the challenge: exit 1 (the cause may be the coordinator\'s, which it can fix), and the message says the site cannot tell which check failed', { timeout: 60_000 }, async (t) => {
  const { kit } = await refusingCoordinator(t, 'challenge');
  await assert.rejects(startSite(join(kit('cleveland'), 'site.yaml'), silentLogger), (e: Error) => {
    assert.equal(exitCodeFor(e), 1, e.message);
    assert.match(e.message, /so this site cannot tell which check failed .*: the certificate itself was refused, before identity\.json was used/);
    return true;
  });
});

test('no coordinator at the address: a warning every interval, naming the address and what to check', { timeout: 60_000 }, async (t) => {
  const address = `127.0.0.1:${await freePort()}`;
  const { kit, point } = await kitsFor(t, () => address, 600);
  point();
  const warnings: string[] = [];
  let firstFailure!: () => void;
  const failed = new Promise<void>((r) => (firstFailure = r));
  const log: Logger = {
    debug() {},
    info: (m) => void (m === 'coordinator not reachable yet, retrying' && firstFailure()),
    warn: (m) => void warnings.push(m),
    error() {},
    child: () => log,
  };
  // The clock and the notice's timer are the test's; the connection attempts run for real.
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: Date.now() });
  const stop = new AbortController();
  const site = startSite(join(kit('cleveland'), 'site.yaml'), log, stop.signal);
  await failed;
  t.mock.timers.tick(UNREACHABLE_NOTICE_INTERVAL_MS - 1);
  assert.deepEqual(warnings, [], 'nothing before the interval');
  t.mock.timers.tick(1);
  stop.abort();
  assert.equal(await site, 'stopped on request');
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(
    warnings[0]!,
    new RegExp(`^still cannot reach the coordinator at ${address.replaceAll(".", "\\.")} after 60 s \\(last error: 14 UNAVAILABLE: .*ECONNREFUSED.*\\); retrying until connectTimeoutSeconds \\(600 s\\): check coordinator\\.address in site\\.yaml`),
  );
});

/** A coordinator that refuses the join with `refusal`: the site must end with exit 2 (a restart meets the same refusal); `says` checks its words. */
async function refusedJoinExits2(t: TestContext, refusal: ProtocolError, says: (message: string) => void): Promise<void> {
  const { kit } = await refusingCoordinator(t, 'join', refusal);
  await assert.rejects(startSite(join(kit('cleveland'), 'site.yaml'), silentLogger), (e: Error) => {
    assert.ok(e instanceof InputError, `an InputError, got ${e.name}: ${e.message}`);
    assert.equal(exitCodeFor(e), 2, e.message);
    says(e.message);
    return true;
  });
}

test('a coordinator on another fedcausal release refuses the join: exit 2 with its words (a restart meets the same refusal)', { timeout: 60_000 }, async (t) => {
  const said = 'site speaks protocol version 2 (fedcausal 0.0.9), this coordinator speaks 3 (fedcausal 0.1.0): install one fedcausal release at the coordinator and every site';
  await refusedJoinExits2(t, new ProtocolError(said, 'incompatible'), (m) =>
    assert.equal(m, `the coordinator refused this site: ${said}; it runs another fedcausal release: install the coordinator's release here (the federation operator says which; \`fedcausal --version\` on both)`),
  );
});

test("a coordinator that refuses the site's schema: exit 2 with its words (the kit must change; a restart meets the same refusal)", { timeout: 60_000 }, async (t) => {
  const said = 'site "cleveland" uses another schema than the federation\'s (label: ...): give the site the schema.json of the coordinator\'s kit (every site and the coordinator read one schema) and start it again';
  await refusedJoinExits2(t, new ProtocolError(said, 'schema-mismatch'), (m) => assert.equal(m, `the coordinator refused this site: ${said}`));
});

test('a coordinator from before the incompatible reason says so only in words (INVALID_ARGUMENT): exit 2 with the remedy, not exit 1 forever', { timeout: 60_000 }, async (t) => {
  await refusedJoinExits2(t, new ProtocolError('site speaks protocol version 3, this coordinator speaks 2', 'malformed'), (m) =>
    assert.match(m, /^the coordinator refused this site: site speaks protocol version 3, this coordinator speaks 2; it runs another fedcausal release: install the coordinator's release here/),
  );
});

test('a socket dropped during the TLS handshake is not read as a refused certificate alone: the coordinator may have been at its connection limit', () => {
  assert.match(tlsHint('14 UNAVAILABLE: read ECONNRESET'), /closed the connection during the TLS handshake: it refused this site's certificate, or it was at its connection limit/);
  assert.match(tlsHint('14 UNAVAILABLE: Connection closed before the TLS handshake'), /at its connection limit/);
  // The coordinator's refusal as grpc-js reports it (the socket dropped): the same.
  assert.match(tlsHint('14 UNAVAILABLE: No connection established. Last error: Failed to connect (2026-01-01T00:00:00.000Z). Resolution note: '), /at its connection limit/);
  // An alert in words is the certificate's.
  assert.match(tlsHint('14 UNAVAILABLE: ssl alert: certificate unknown'), /^the coordinator refused this site's certificate, or its own could not be verified/);
});

test("this site's own check of the coordinator's certificate failing is named as the site's, not as a refusal by the coordinator", () => {
  // grpc-js's words (each reproduced against a real coordinator certificate); every one also says "No connection established".
  const failed = (why: string) => `14 UNAVAILABLE: No connection established. Last error: ${why}. Resolution note: `;
  for (const why of ['Error: self-signed certificate in certificate chain', 'Error: unable to get local issuer certificate', 'Error: unable to verify the first certificate']) {
    const hint = tlsHint(failed(why));
    assert.match(hint, /^this site does not trust the coordinator's certificate \(this site's own check of it failed\): this kit's tls\/ca\.pem is not the CA that issued it/, why);
    assert.match(hint, /another provisioning run than the coordinator's, or the coordinator was re-provisioned since/);
    // A TLS-inspecting middlebox re-signing with its own CA reads just so (an outside try was told only of kits).
    assert.match(hint, /A TLS-inspecting middlebox .* exempt the coordinator's address from inspection/);
    assert.doesNotMatch(hint, /refused this site's certificate/);
  }
  // The HTTP port dialled by mistake: not TLS at all (it read as a refused certificate).
  assert.match(
    tlsHint(failed('Error: C0BC9A2E0B7F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number')),
    /^the port this site dials does not speak TLS: it is not the coordinator's gRPC port \(its HTTP port, listen\.httpPort/,
  );
  assert.match(tlsHint(failed('Error: certificate has expired')), /^this site refuses the coordinator's certificate: it is not valid by this host's clock/);
  assert.match(
    tlsHint(failed("Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 127.0.0.2 is not in the cert's list: 127.0.0.1, ::1")),
    /^this site refuses the coordinator's certificate: it does not name the host this site dials \(coordinator\.address in site\.yaml\)/,
  );
});

test("a kit whose tls/ca.pem is another provisioning's: the site says it does not trust the coordinator, at once and in its last line (exit 1)", { timeout: 60_000 }, async (t) => {
  const { kit } = await refusingCoordinator(t, 'join');
  writeFileSync(join(kit('cleveland'), 'tls', 'ca.pem'), (await createFederationCa({ federation: 'heart' })).certPem);
  const errors: string[] = [];
  const log: Logger = { ...silentLogger, error: (m) => void errors.push(m), child: () => log };
  await assert.rejects(startSite(join(kit('cleveland'), 'site.yaml'), log), (e: Error) => {
    assert.equal(exitCodeFor(e), 1, 'retried, then exit 1: the coordinator\'s kit may be the one to put right');
    assert.match(
      e.message,
      /^no TLS handshake with the coordinator at 127\.0\.0\.1:\d+ within connectTimeoutSeconds \(5 s; last error: 14 UNAVAILABLE: .*self-signed certificate in certificate chain\.?\): this site does not trust the coordinator's certificate/,
    );
    return true;
  });
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0]!, /^this site does not trust the coordinator's certificate/);
});

test('no coordinator for the whole connectTimeoutSeconds: the last line names the address and what to check, as the notices did (exit 1)', { timeout: 60_000 }, async (t) => {
  const address = `127.0.0.1:${await freePort()}`;
  const { kit, point } = await kitsFor(t, () => address, 1);
  point();
  await assert.rejects(startSite(join(kit('cleveland'), 'site.yaml'), silentLogger), (e: Error) => {
    assert.equal(exitCodeFor(e), 1);
    assert.match(
      e.message,
      new RegExp(
        `^cannot reach the coordinator at ${address.replaceAll('.', '\\.')} within connectTimeoutSeconds \\(1 s; last error: 14 UNAVAILABLE: .*ECONNREFUSED[^)]*\\): ` +
          'check coordinator\\.address in site\\.yaml .*, that the coordinator runs',
      ),
    );
    assert.doesNotMatch(e.message, /Resolution note/);
    return true;
  });
});

test("site.yaml's privacy floor reaches the agent: a coordinator's plain statistics task is refused with the site's words, exit 2", { timeout: 60_000 }, async (t) => {
  let port = 0;
  const { dir, kit, point } = await kitsFor(t, () => `127.0.0.1:${port}`, 5);
  const tls = loadCoordinatorTls(join(dir, 'kits', 'coordinator', 'coordinator.yaml'));
  const trust = await openTrustStore({ caPath: tls.caPath, crlPath: tls.crlPath });
  const coordinator = readIdentityFile(join(dir, 'kits', 'coordinator', 'identity.json'));
  const yaml = join(kit('cleveland'), 'site.yaml');
  const siteKey = readIdentityFile(join(kit('cleveland'), 'identity.json')).signing.publicKey;
  const answers: ResultMeta[] = [];
  const endpoint: CoordinatorEndpoint = {
    challenge: async () => new Uint8Array(32),
    async subscribe(_join, sink) {
      const federation = (YAML.parse(readFileSync(yaml, 'utf8')) as { federation: string }).federation;
      const meta = { federation, round: 0, kind: 'stats', stage: 1, config: { minCellCount: 5, minCategoryCount: 5 }, weights: 0 };
      const sealer = new PayloadSealer({ federation, round: 0, site: 'cleveland', kind: 'task-stats-1' }, encodeFrame(meta), { signingSecretKey: coordinator.signing.secretKey });
      setImmediate(() => void sink.send({ header: sealer.header, signature: sealer.signature, chunks: [...sealer.chunks()] }));
      return { welcome: { federation, protocolVersion: PROTOCOL_VERSION, message: 'welcome' }, closed: () => {} };
    },
    async submit(msg) {
      const h = verifyHeader(msg.header, msg.signature, () => siteKey, { maxPayloadBytes: 1 << 20, maxChunkSize: 1 << 24 });
      const opener = new PayloadOpener(h, msg.header, coordinator.box.secretKey);
      const parts: Uint8Array[] = [];
      for await (const c of msg.chunks) parts.push(Uint8Array.from(opener.open(parts.length, c)));
      answers.push(decodeFrame(Buffer.concat(parts)).meta as ResultMeta);
      return { accepted: true, message: 'ok' };
    },
  };
  const server = await startGrpcServer({ endpoint, host: '127.0.0.1', port: 0, maxChunkSize: 1 << 20, log: silentLogger, tls: { files: tls, trust } });
  t.after(() => server.close());
  port = server.port;
  point();
  writeFileSync(yaml, YAML.stringify({ ...(YAML.parse(readFileSync(yaml, 'utf8')) as object), privacy: { requireSecureAggregation: true } }));
  const words = 'this site requires secure aggregation (site.yaml privacy.requireSecureAggregation) and the statistics task of round 0 has none';
  await assert.rejects(startSite(yaml, silentLogger), (e: Error) => {
    assert.ok(e instanceof InputError, `an InputError, got ${e.name}: ${e.message}`);
    assert.equal(exitCodeFor(e), 2);
    assert.ok(e.message.startsWith(`${words}: this site takes no part`), e.message);
    return true;
  });
  assert.deepEqual(answers, [{ round: 0, kind: 'stats', numExamples: 0, metrics: {}, weights: 0, error: words, withdraws: true }]);
});

test("the coordinator's HTTP port dialled (a port that answers in something other than TLS): exit 2 after a few tries, naming the fault, not after the whole window", { timeout: 60_000 }, async (t) => {
  const { createServer } = await import('node:http');
  const http = createServer((_req, res) => res.end('dashboard'));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  t.after(() => http.close());
  const address = `127.0.0.1:${(http.address() as { port: number }).port}`;
  const { kit, point } = await kitsFor(t, () => address, 600);
  point();
  const started = Date.now();
  await assert.rejects(startSite(join(kit('cleveland'), 'site.yaml'), silentLogger), (e: Error) => {
    assert.equal(exitCodeFor(e), 2, e.message);
    assert.match(e.message, new RegExp(`^${address.replaceAll('.', '\\.')} answered 3 times in something other than TLS: the port this site dials does not speak TLS: .*check coordinator\\.address in site\\.yaml`));
    return true;
  });
  assert.ok(Date.now() - started < 30_000, 'within seconds, not the 600 s window');
});
