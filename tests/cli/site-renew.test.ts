// `site renew-request` / `provision renew-site` / `site renew-install`: a hospital's TLS key
// renewed with commands, the key never leaving the kit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { provisionFederation } from '../../cli/provision.ts';
import { openProvisioningDir } from '../../cli/provision-dir.ts';
import { renewSite } from '../../cli/provision-renew.ts';
import { revokeSite } from '../../cli/provision-sites.ts';
import { renewInstall, renewRequest } from '../../cli/site-renew.ts';
import { createFederationCa, loadCaCertificate } from '../../shared/pki/ca.ts';
import { checkPeer } from '../../shared/pki/check-peer.ts';
import { loadCrl } from '../../shared/pki/crl.ts';
import { csrPublicKey } from '../../shared/pki/csr.ts';
import { issueSiteCertificate } from '../../shared/pki/issue.ts';
import { loadSiteTls } from '../../shared/pki/kit-tls.ts';
import { federationYaml, mode, tempDir } from './provision-helpers.ts';

const BIN = new URL('../../bin/fedcausal.js', import.meta.url).pathname;
const fedcausal = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

async function provisioned(t: { after(fn: () => void): void }) {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  await provisionFederation(federationYaml(dir), out);
  const kit = join(out, 'sites', 'cleveland');
  const tls = (f: string) => join(kit, 'tls', f);
  return { dir, out, kit, tls, config: join(kit, 'site.yaml') };
}

async function peerCheck(out: string, certFile: string) {
  const caCert = loadCaCertificate(readFileSync(join(out, 'coordinator', 'tls', 'ca.pem'), 'utf8'));
  const crl = await loadCrl(readFileSync(join(out, 'coordinator', 'tls', 'crl.pem'), 'utf8'), caCert);
  return checkPeer(readFileSync(certFile, 'utf8'), { caCert, crl });
}

/** The kit's current pair, to show what an operation left alone. */
const pair = (tls: (f: string) => string) => [readFileSync(tls('client.pem'), 'utf8'), readFileSync(tls('client.key.pem'), 'utf8')];

test('round trip with the commands: request, renew, install; the new certificate verifies with the site name and a new key', async (t) => {
  const { out, tls, config } = await provisioned(t);
  const [oldCert, oldKey] = pair(tls);

  const req = fedcausal('site', 'renew-request', '--config', config);
  assert.equal(req.status, 0, req.stderr);
  assert.match(req.stdout, /send to the federation operator: .*tls\/client\.csr\.pem only \(never the key\)/);
  assert.match(req.stdout, /next: the operator runs `fedcausal provision renew-site --dir DIR --site cleveland --csr client\.csr\.pem`/);
  assert.equal(mode(tls('client.key.pem.new')), 0o600);
  assert.ok(existsSync(tls('client.csr.pem')));
  assert.deepEqual(pair(tls), [oldCert, oldKey], 'the current pair keeps working until the install');
  const pendingKey = readFileSync(tls('client.key.pem.new'), 'utf8');

  const renew = fedcausal('provision', 'renew-site', '--dir', out, '--site', 'cleveland', '--csr', tls('client.csr.pem'));
  assert.equal(renew.status, 0, renew.stderr);
  const serial = /serial ([0-9a-f]+)/.exec(renew.stdout)?.[1];
  assert.ok(serial, renew.stdout);
  assert.match(renew.stdout, new RegExp(`certificate written: ${tls('client.pem.new').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.ok(existsSync(join(out, 'ca', 'issued', `cleveland-${serial}.pem`)), 'the serial is recorded as add-site records it');
  assert.equal(readFileSync(tls('client.key.pem.new'), 'utf8'), pendingKey, 'renew-site never touches the key');

  const install = fedcausal('site', 'renew-install', '--config', config, '--cert', tls('client.pem.new'));
  assert.equal(install.status, 0, install.stderr);
  assert.match(install.stdout, new RegExp(`new certificate installed \\(serial ${serial},`));
  assert.match(install.stdout, /next: restart the site agent/);

  const check = await peerCheck(out, tls('client.pem'));
  assert.ok(check.ok, JSON.stringify(check));
  assert.equal(check.site, 'cleveland');
  assert.equal(check.serialNumber, serial);
  assert.equal(readFileSync(tls('client.key.pem'), 'utf8'), pendingKey);
  assert.notEqual(pendingKey, oldKey, 'the new key is not the old one');
  assert.equal(readFileSync(tls('client.pem.old'), 'utf8'), oldCert);
  assert.equal(readFileSync(tls('client.key.pem.old'), 'utf8'), oldKey);
  for (const f of ['client.pem', 'client.key.pem', 'client.pem.old', 'client.key.pem.old']) assert.equal(mode(tls(f)), 0o600, f);
  assert.ok(!existsSync(tls('client.key.pem.new')) && !existsSync(tls('client.pem.new')), 'nothing pending is left');
  assert.doesNotThrow(() => loadSiteTls(config), 'site start loads the new pair');

  // The replaced certificate alone, by its serial: the new one stays valid.
  const before = await peerCheck(out, tls('client.pem.old'));
  assert.ok(before.ok, 'the replaced certificate is valid until revoked');
  const oldSerial = before.serialNumber;
  const revokeOld = fedcausal('provision', 'revoke-site', '--dir', out, '--site', 'cleveland', '--serial', oldSerial, '--reason', 'superseded');
  assert.equal(revokeOld.status, 0, revokeOld.stderr);
  assert.match(revokeOld.stdout, new RegExp(`revoked \\(serials ${oldSerial}\\)`));
  assert.equal(((await peerCheck(out, tls('client.pem.old'))) as { code?: string }).code, 'revoked');
  assert.ok((await peerCheck(out, tls('client.pem'))).ok, 'the renewed certificate is still valid');
  const unknown = fedcausal('provision', 'revoke-site', '--dir', out, '--site', 'cleveland', '--serial', 'abc123');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /--serial abc123: not a certificate of "cleveland" \(its serials: /);

  // The renewed serial is the site's like any other: revoke-site covers it.
  await revokeSite({ dir: out, site: 'cleveland' });
  const revoked = await peerCheck(out, tls('client.pem'));
  assert.equal(revoked.ok ? 'ok' : revoked.code, 'revoked');
});

test('help for each verb, and a pending key is not overwritten without --force', async (t) => {
  for (const [cmd, verb] of [['site', 'renew-request'], ['site', 'renew-install'], ['provision', 'renew-site']] as const) {
    const h = fedcausal(cmd, verb, '--help');
    assert.equal(h.status, 0, h.stderr);
    assert.match(h.stdout, new RegExp(`^usage: fedcausal ${cmd} ${verb} `));
  }
  // The command list names the verbs, and a long usage line keeps its summary apart.
  const top = fedcausal('--help');
  assert.match(top.stdout, /site start\|check\|renew-request\|renew-install --config FILE {2}run a hospital's site agent/);
  assert.match(top.stdout, /\| renew-site {2}make keys/);
  const { tls, config } = await provisioned(t);
  const first = await renewRequest({ config });
  const pending = readFileSync(first.key, 'utf8');
  await assert.rejects(renewRequest({ config }), (e: Error) => {
    assert.match(e.message, /client\.key\.pem\.new: a renewal is already pending .* pass --force to make a new key/);
    return true;
  });
  assert.equal(readFileSync(tls('client.key.pem.new'), 'utf8'), pending);
  const cli = fedcausal('site', 'renew-request', '--config', config);
  assert.equal(cli.status, 2, 'bad input');
  await renewRequest({ config, force: true });
  assert.notEqual(readFileSync(tls('client.key.pem.new'), 'utf8'), pending);
  const own = join(tls('..'), 'elsewhere', 'req.pem');
  await renewRequest({ config, force: true, out: own });
  assert.ok(readFileSync(own, 'utf8').startsWith('-----BEGIN CERTIFICATE REQUEST-----'));
});

test('install refuses a certificate for another key, from another CA or for another site, and changes nothing', async (t) => {
  const { out, tls, config } = await provisioned(t);
  const before = pair(tls);
  const otherCert = join(out, 'sites', 'hungary', 'tls', 'client.pem');
  await assert.rejects(renewInstall({ config, cert: otherCert }), /client\.key\.pem\.new is missing: no renewal is pending; run `fedcausal site renew-request` first/);
  // The certificate in place, installed "again": done, not a missing request.
  await assert.rejects(renewInstall({ config, cert: tls('client.pem') }), /client\.pem is already installed as .*client\.pem: nothing to do/);

  await renewRequest({ config });
  const stale = join(out, 'stale.pem');
  await renewSite({ dir: out, site: 'cleveland', csr: tls('client.csr.pem'), out: stale });
  await renewRequest({ config, force: true }); // a second request: `stale` answers the first
  const mismatch = fedcausal('site', 'renew-install', '--config', config, '--cert', stale);
  assert.equal(mismatch.status, 2, mismatch.stderr);
  assert.ok(mismatch.stderr.includes(`${stale} is not the certificate of the pending key ${tls('client.key.pem.new')} (its public key differs)`), mismatch.stderr);

  // Right key, wrong CA.
  const csrKey = await csrPublicKey(readFileSync(tls('client.csr.pem'), 'utf8'));
  const identity = JSON.parse(readFileSync(join(tls('..'), 'identity.json'), 'utf8')) as { signing: { publicKey: string } };
  const foreign = await issueSiteCertificate(await createFederationCa({ federation: 'other' }), { site: 'cleveland', signingPublicKey: identity.signing.publicKey, publicKey: csrKey });
  const foreignFile = join(out, 'foreign.pem');
  writeFileSync(foreignFile, foreign.certPem);
  await assert.rejects(renewInstall({ config, cert: foreignFile }), /foreign\.pem is not issued by this federation's CA .*tls\/ca\.pem/);

  // Right key and CA, another site's name (the operator mixed up --site: renew-site refuses that, so the library makes it).
  const pd = await openProvisioningDir(out);
  const hungaryKey = pd.manifest.sites.find((s) => s.name === 'hungary')!.signingPublicKey;
  const hungary = join(out, 'hungary.pem');
  writeFileSync(hungary, (await issueSiteCertificate(pd.ca, { site: 'hungary', signingPublicKey: hungaryKey, publicKey: csrKey })).certPem);
  await assert.rejects(renewInstall({ config, cert: hungary }), /hungary\.pem: names site "hungary", but this kit is site "cleveland"/);

  writeFileSync(tls('client.key.pem.new'), 'not a key\n');
  await assert.rejects(renewInstall({ config, cert: hungary }), /client\.key\.pem\.new is not a PEM private key .* run `fedcausal site renew-request --force`/);

  assert.deepEqual(pair(tls), before, 'the current pair is untouched');
  assert.ok(!readdirSync(tls('.')).some((f) => f.endsWith('.old')), 'no .old written by a refused install');
});

test('request --out never overwrites a key, certificate or other non-CSR file: refused before any key is made', async (t) => {
  const { kit, tls, config } = await provisioned(t);
  const before = pair(tls);
  for (const f of ['client.key.pem', 'client.pem', 'ca.pem', 'client.key.pem.new', 'client.pem.old'])
    await assert.rejects(renewRequest({ config, out: join(kit, 'tls', '..', 'tls', f) }), /is one of this kit's TLS files; the CSR goes in a file of its own/);
  await assert.rejects(renewRequest({ config, out: join(kit, 'identity.json') }), /identity\.json: exists and is not a CERTIFICATE REQUEST PEM; refusing to overwrite it/);
  assert.ok(!existsSync(tls('client.key.pem.new')), 'no pending key left behind');
  assert.deepEqual(pair(tls), before);
  assert.ok(readFileSync(join(kit, 'identity.json'), 'utf8').startsWith('{'));
  // An earlier CSR is replaced, as a second renewal does with the default file.
  await renewRequest({ config });
  await renewRequest({ config, force: true });
  assert.ok(readFileSync(tls('client.csr.pem'), 'utf8').startsWith('-----BEGIN CERTIFICATE REQUEST-----'));
});

test('a kit missing one TLS file: the request names that file and how to restore it (not "no TLS files")', async (t) => {
  const { tls, config } = await provisioned(t);
  rmSync(tls('ca.pem'));
  await assert.rejects(renewRequest({ config }), (e: Error) => {
    assert.ok(e.message.startsWith(`${tls('ca.pem')} is missing from this site kit: put it back as tls/ca.pem beside site.yaml`), e.message);
    assert.doesNotMatch(e.message, /no TLS files|re-provision the federation/i);
    return true;
  });
  assert.ok(!existsSync(tls('client.key.pem.new')), 'no key made');
});
