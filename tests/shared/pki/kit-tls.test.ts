import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../../shared/errors.ts';
import { COORDINATOR_TLS, SITE_TLS, checkValidNow, loadCoordinatorTls, loadSiteTls } from '../../../shared/pki/kit-tls.ts';
import { clockGap } from '../../../shared/time-gap.ts';
import { createFederationCa } from '../../../shared/pki/ca.ts';
import { issueServerCertificate } from '../../../shared/pki/issue.ts';
import { X509Certificate } from 'node:crypto';
import { issueCrl } from '../../../shared/pki/crl.ts';
import { makeFederation } from './fixtures.ts';

const fed = await makeFederation('fed-kit-tls', 'cleveland');
const crlPem = (await issueCrl(fed.ca)).crlPem;

function kit(t: { after(f: () => void): void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-kit-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'tls'));
  for (const [rel, text] of Object.entries(files)) writeFileSync(join(dir, rel), text, { mode: 0o600 });
  return dir;
}

const siteFiles = () => ({ [SITE_TLS.ca]: fed.ca.certPem, [SITE_TLS.cert]: fed.site.certPem, [SITE_TLS.key]: fed.site.keyPem! });
const coordinatorFiles = () => ({
  [COORDINATOR_TLS.ca]: fed.ca.certPem,
  [COORDINATOR_TLS.cert]: fed.server.certPem,
  [COORDINATOR_TLS.key]: fed.server.keyPem!,
  [COORDINATOR_TLS.crl]: crlPem,
});

/** The refusal names the file, what it should hold, and how to repair the kit. */
function assertRefused(fn: () => unknown, path: string, expected: RegExp, role: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${path} `), e.message);
    assert.match(e.message, expected);
    assert.match(e.message, new RegExp(`Restore the ${role} kit's tls/ folder .* or re-provision \\(fedcausal provision\\)`));
    return true;
  });
}

test('an intact site kit and coordinator kit load', (t) => {
  const site = kit(t, siteFiles());
  assert.equal(loadSiteTls(join(site, 'site.yaml')).certPem, fed.site.certPem);
  const coord = kit(t, coordinatorFiles());
  assert.equal(loadCoordinatorTls(join(coord, 'coordinator.yaml')).keyPem, fed.server.keyPem);
});

test('a junk site key, certificate or CA file is refused naming the file and what it should hold', (t) => {
  const cases = [
    [SITE_TLS.key, /is not a PEM private key \(expected a "-----BEGIN PRIVATE KEY-----" block/],
    [SITE_TLS.cert, /is not a PEM certificate \(expected a "-----BEGIN CERTIFICATE-----" block/],
    [SITE_TLS.ca, /is not a PEM certificate/],
  ] as const;
  for (const [rel, expected] of cases) {
    const dir = kit(t, { ...siteFiles(), [rel]: 'junk\n' });
    assertRefused(() => loadSiteTls(join(dir, 'site.yaml')), join(dir, rel), expected, 'site');
  }
});

test('a junk coordinator server key or certificate is refused naming the file', (t) => {
  for (const [rel, expected] of [[COORDINATOR_TLS.key, /PEM private key/], [COORDINATOR_TLS.cert, /PEM certificate/]] as const) {
    const dir = kit(t, { ...coordinatorFiles(), [rel]: 'junk\n' });
    assertRefused(() => loadCoordinatorTls(join(dir, 'coordinator.yaml')), join(dir, rel), expected, 'coordinator');
  }
});

test('a key that is not the certificate\'s (from another kit) is refused naming both files', (t) => {
  const dir = kit(t, { ...siteFiles(), [SITE_TLS.key]: fed.server.keyPem! });
  assertRefused(
    () => loadSiteTls(join(dir, 'site.yaml')),
    join(dir, SITE_TLS.key),
    new RegExp(`is not the private key of the certificate ${join(dir, SITE_TLS.cert)}`),
    'site',
  );
});

test('one missing file is named with how to restore it, not a re-provisioning (which would re-key every site)', (t) => {
  const cases = [
    [SITE_TLS.ca, /; it is the same file in every kit of this federation$/],
    [SITE_TLS.cert, /, or copy it from the federation's provisioning folder, which keeps one under ca\/ \(the federation operator has it\)$/],
    [SITE_TLS.key, /; no one else holds a copy of this key/],
  ] as const;
  for (const [rel, how] of cases) {
    const files: Record<string, string> = siteFiles();
    delete files[rel];
    const dir = kit(t, files);
    assert.throws(
      () => loadSiteTls(join(dir, 'site.yaml')),
      (e: unknown) => {
        assert.ok(e instanceof InputError);
        assert.ok(
          e.message.startsWith(
            `${join(dir, rel)} is missing from this site kit: put it back as ${rel} beside site.yaml, from a backup or from the site kit as delivered ` +
              '(no need to re-provision, which would re-key every site)',
          ),
          e.message,
        );
        assert.match(e.message, how);
        return true;
      },
      rel,
    );
  }
  const coordinator: Record<string, string> = coordinatorFiles();
  delete coordinator[COORDINATOR_TLS.crl];
  const dir = kit(t, coordinator);
  assert.throws(
    () => loadCoordinatorTls(join(dir, 'coordinator.yaml')),
    (e: Error) => e.message.startsWith(`${join(dir, COORDINATOR_TLS.crl)} is missing from this coordinator kit: put it back as tls/crl.pem beside coordinator.yaml`),
  );
});

test('no tls/ folder beside the config: it was moved out of its kit, or the kit predates mutual TLS (only then re-provision)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-kit-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'site.yaml');
  assert.throws(() => loadSiteTls(config), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.equal(
      e.message,
      `${join(dir, 'tls')} is missing: there is no tls/ folder beside ${config} (every gRPC connection is mutual TLS). ` +
        'If site.yaml was moved out of its kit, put it back in the kit folder, beside tls/; if this site kit never had a tls/ folder ' +
        '(provisioned before mutual TLS), re-provision the federation (fedcausal provision) and install the new kit',
    );
    return true;
  });
});

test("a certificate outside its validity by this host's clock is said at start, naming the clock: every peer would refuse it", async () => {
  // An outside try set a coordinator's clock a day back: every site was refused, and nobody named the clock.
  const ca = await createFederationCa({ federation: 'f' });
  const server = new X509Certificate((await issueServerCertificate(ca, { dnsNames: ['localhost'], validityDays: 30 })).certPem);
  const from = new Date(server.validFrom).getTime();
  assert.throws(() => checkValidNow(server, 'kit/tls/server.pem', 'coordinator', new Date(from - 86_400_000)), (e: Error) =>
    !(e instanceof InputError) && /^kit\/tls\/server\.pem: this coordinator's certificate is valid from .*Z, and this host's clock says .*Z \(24 h earlier\): this host's clock is behind; set it \(timedatectl/.test(e.message));
  assert.throws(() => checkValidNow(server, 'kit/tls/client.pem', 'site', new Date(from + 40 * 86_400_000)), /this site's certificate expired at .* renew it \(docs\/pki\.md, "Rotation at a hospital": `fedcausal site renew-request`\); if not, set the clock/);
  checkValidNow(server, 'kit/tls/server.pem', 'coordinator');
  assert.equal(clockGap(90_000), '90 s');
  assert.equal(clockGap(-600_000), '10 min');
  assert.equal(clockGap(400 * 86_400_000), '400 days');
});
