// A hardened install (deploy/systemd/README.md) keeps the kit root:fedcausal, files 0640 and
// folders 0750, for the service user to read. renew-request and renew-install wrote their
// files root:root 0600, and the service then failed "cannot read tls/client.pem: EACCES".
// Each file written now takes the mode and, where the user may, the owner of the file it replaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { provisionFederation } from '../../cli/provision.ts';
import { renewSite } from '../../cli/provision-renew.ts';
import { renewInstall, renewRequest } from '../../cli/site-renew.ts';
import { loadSiteTls } from '../../shared/pki/kit-tls.ts';
import { federationYaml, mode, tempDir } from './provision-helpers.ts';

const BIN = new URL('../../bin/fedcausal.js', import.meta.url).pathname;
const IS_ROOT = process.getuid?.() === 0;
const NEEDS_ROOT = 'needs root: only root may give a file another owner, or run the command as another user';
/** nobody / nogroup: a user and a group that are not this test's. */
const NOBODY = 65534;
/** A group nobody is not in (stands for "fedcausal"), so that nobody may not chown to it. */
const OTHER_GROUP = 4242;
const PAIR = ['client.pem', 'client.key.pem', 'client.pem.old', 'client.key.pem.old'];

/** A provisioned site kit laid out as the systemd README says: folders 0750, files 0640, owned by `owner` if given. */
async function hardenedKit(t: { after(fn: () => void): void }, owner?: { uid: number; gid: number }) {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  await provisionFederation(federationYaml(dir), out);
  const kit = join(out, 'sites', 'cleveland');
  for (const d of [kit, join(kit, 'tls')]) {
    chmodSync(d, 0o750);
    for (const f of readdirSync(d, { withFileTypes: true })) if (f.isFile()) chmodSync(join(d, f.name), 0o640);
  }
  if (owner) {
    for (const d of [kit, join(kit, 'tls')]) {
      chownSync(d, owner.uid, owner.gid);
      for (const f of readdirSync(d)) chownSync(join(d, f), owner.uid, owner.gid);
    }
    // The way down to the kit, for a command run as nobody.
    for (const d of [dir, out, join(out, 'sites')]) chmodSync(d, 0o755);
  }
  const tls = (f: string) => join(kit, 'tls', f);
  return { dir, out, kit, tls, config: join(kit, 'site.yaml') };
}

const ownerOf = (path: string) => {
  const s = statSync(path);
  return { uid: s.uid, gid: s.gid };
};

test('renew keeps the mode of the files it replaces: a 0640 kit stays 0640, and site start loads it', async (t) => {
  const { out, tls, config } = await hardenedKit(t);
  const req = await renewRequest({ config });
  assert.equal(mode(req.key), 0o640, 'the pending key takes the current key\'s mode');
  assert.equal(mode(req.csr), 0o640, 'the CSR in tls/ takes the certificate\'s');
  await renewSite({ dir: out, site: 'cleveland', csr: req.csr });
  const r = await renewInstall({ config, cert: tls('client.pem.new') });
  for (const f of PAIR) assert.equal(mode(tls(f)), 0o640, f);
  assert.deepEqual(r.ownerNotes, [], 'the owner is this user\'s already: nothing to chown');
  assert.doesNotThrow(() => loadSiteTls(config));
});

test('a new key stays closed to others even where the key it replaces was not; a certificate keeps its mode as it is', async (t) => {
  const { tls, config } = await hardenedKit(t);
  chmodSync(tls('client.key.pem'), 0o644);
  chmodSync(tls('client.pem'), 0o644); // public
  const req = await renewRequest({ config });
  assert.equal(mode(req.key), 0o640);
  assert.equal(mode(req.csr), 0o644);
});

test('run as root: the owner and group carry over (root:fedcausal stays root:fedcausal)', { skip: !IS_ROOT && NEEDS_ROOT }, async (t) => {
  const owner = { uid: 0, gid: OTHER_GROUP };
  const { out, tls, config } = await hardenedKit(t, owner);
  const req = spawnSync(process.execPath, [BIN, 'site', 'renew-request', '--config', config], { encoding: 'utf8' });
  assert.equal(req.status, 0, req.stderr);
  assert.deepEqual(ownerOf(tls('client.key.pem.new')), owner);
  await renewSite({ dir: out, site: 'cleveland', csr: tls('client.csr.pem') });
  const install = spawnSync(process.execPath, [BIN, 'site', 'renew-install', '--config', config, '--cert', tls('client.pem.new')], { encoding: 'utf8' });
  assert.equal(install.status, 0, install.stderr);
  assert.doesNotMatch(install.stdout + req.stdout, /owner not carried over/);
  for (const f of PAIR) {
    assert.deepEqual(ownerOf(tls(f)), owner, f);
    assert.equal(mode(tls(f)), 0o640, f);
  }
});

test('a user who may not chown: the mode carries over, and the output names the owner the replaced file had', { skip: !IS_ROOT && NEEDS_ROOT }, async (t) => {
  // The kit is nobody's, group OTHER_GROUP; nobody runs the commands and is not in that group.
  const { dir, out, tls, config } = await hardenedKit(t, { uid: NOBODY, gid: OTHER_GROUP });
  const asNobody = (...args: string[]) => spawnSync(process.execPath, [BIN, 'site', ...args], { encoding: 'utf8', uid: NOBODY, gid: NOBODY, cwd: dir });
  const esc = (p: string) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const note = (...files: string[]) =>
    new RegExp(
      `^owner not carried over \\(this user may not change owners: EPERM\\): the kit's files are \\S+:${OTHER_GROUP}, these new ones \\S+: ` +
        `${esc(files.map(tls).join(' '))}\\. If the service runs as another user, run as root: chown \\S+:${OTHER_GROUP} ${esc(files.map(tls).join(' '))}$`,
      'm',
    );
  const req = asNobody('renew-request', '--config', config);
  assert.equal(req.status, 0, req.stderr);
  assert.match(req.stdout, note('client.key.pem.new', 'client.csr.pem'));
  assert.match(req.stdout, /new TLS key \S+ \(mode 0640, as the current key's;/);
  const cert = join(dir, 'renewed.pem');
  await renewSite({ dir: out, site: 'cleveland', csr: tls('client.csr.pem'), out: cert });
  chmodSync(cert, 0o644);
  const install = asNobody('renew-install', '--config', config, '--cert', cert);
  assert.equal(install.status, 0, install.stderr);
  assert.match(install.stdout, note('client.pem.old', 'client.key.pem.old', 'client.pem', 'client.key.pem'));
  for (const f of PAIR) assert.equal(mode(tls(f)), 0o640, f);
});
