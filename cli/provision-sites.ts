/**
 * `fedcausal provision add-site` and `revoke-site`: change who belongs to a
 * provisioned federation without re-keying anyone else (docs/pki.md, docs/security.md).
 *
 * add-site issues one new kit with the existing root key and CA and re-signs the
 * manifest with the site added; the other sites' kits stay valid as they are (a
 * site only needs its own entry and the coordinator's). The coordinator needs the
 * new manifest and a restart, since it reads the manifest at start.
 *
 * revoke-site adds the site's certificates to the CA-signed revocation list. The
 * coordinator re-reads tls/crl.pem at every connection (shared/pki/trust-store.ts),
 * so a running coordinator refuses the revoked site's next call without a restart.
 * The site stays in the manifest: the run's state (which names its sites) still
 * resumes, and the name cannot be reused by another key without `--replace`.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { encodeKey, generateIdentity, publicIdentity } from '../shared/crypto/keys.ts';
import { InputError } from '../shared/errors.ts';
import { signManifest, type FederationManifest } from '../shared/federation/manifest.ts';
import { silentLogger, type Logger } from '../shared/logger.ts';
import { isRevoked, loadCrl, revoke, type VerifiedCrl } from '../shared/pki/crl.ts';
import { COORDINATOR_TLS } from '../shared/pki/kit-tls.ts';
import { x509 } from '../shared/pki/x509.ts';
import { issuedTo, openProvisioningDir, replaceKitFile, type ProvisioningDir } from './provision-dir.ts';
import { KIT_DIR_MODE, writeSiteTls } from './provision-pki.ts';
import { hostPort } from '../shared/net/host-port.ts';
import { readFederationFile, writeSiteKit, type FederationSpec } from './provision.ts';

export interface AddSiteResult {
  site: string;
  kit: string;
  serialNumber: string;
  /** The manifest files rewritten (ca/manifest.json, and the coordinator kit's when it is in DIR). */
  manifests: string[];
}

/**
 * Adds `site`, which the federation file must list (its data path, the schema and the seed
 * come from there, as for `provision`). With `replace`, re-keys a site that is enrolled but
 * whose every certificate is revoked (a lost or compromised kit).
 */
export async function addSite(opts: { federationFile: string; dir: string; site: string; replace?: boolean }, log: Logger = silentLogger): Promise<AddSiteResult> {
  const pd = await openProvisioningDir(opts.dir);
  const spec = readFederationFile(opts.federationFile);
  const { site } = opts;
  if (spec.name !== pd.federation) throw new InputError(`${opts.federationFile}: federation "${spec.name}", but --dir ${opts.dir} holds federation "${pd.federation}"`);
  const entry = spec.sites.find((s) => s.name === site);
  if (!entry) throw new InputError(`--site ${site}: not in the sites of ${opts.federationFile}; add { name: ${site}, data: ... } there first`);
  const schemaBytes = await checkAddable(pd, spec, entry, opts, log);
  const kit = join(pd.dir, 'sites', site);
  const identity = generateIdentity();
  const manifest: FederationManifest = {
    ...pd.manifest,
    sites: [...pd.manifest.sites.filter((s) => s.name !== site), { name: site, ...publicIdentity(identity) }],
  };
  const signed = signManifest(manifest, pd.root.signing.secretKey);
  // Built beside its final place and renamed in: a failure leaves no half kit.
  const tmp = mkdtempSync(join(pd.dir, 'sites', `.${site}.add-`));
  let serialNumber: string;
  try {
    chmodSync(tmp, KIT_DIR_MODE);
    const building = join(tmp, site);
    writeSiteKit(building, {
      federation: pd.federation,
      grpcAddress: pd.manifest.coordinator.grpcAddress,
      seed: spec.seed,
      site: { name: site, data: entry.data, identity },
      signed,
      rootFile: pd.rootFile,
      schemaBytes,
    });
    const cert = await writeSiteTls(pd.ca, pd.caPem, join(pd.caDir, 'issued'), { name: site, dir: building, signingPublicKey: encodeKey(identity.signing.publicKey) });
    serialNumber = cert.serialNumber;
    renameSync(building, kit);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const manifests = writeManifest(pd, JSON.stringify(signed, null, 2) + '\n');
  log.info('site added', { site, kit, serialNumber, manifests });
  return { site, kit, serialNumber, manifests };
}

export const REVOCATION_REASONS = ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export interface RevokeSiteResult {
  site: string;
  /** Serials newly revoked (empty: every certificate of the site was revoked already). */
  revoked: string[];
  /** The CRL files written (ca/crl.pem, and the coordinator kit's tls/crl.pem when it is in DIR). */
  crls: string[];
}

/**
 * Revokes every certificate issued to `site`, or only `serial` (the certificate a renewal
 * replaced: the site keeps its new one); nobody else's certificate changes.
 */
export async function revokeSite(opts: { dir: string; site: string; reason?: RevocationReason; serial?: string }, log: Logger = silentLogger): Promise<RevokeSiteResult> {
  const pd = await openProvisioningDir(opts.dir);
  const { site } = opts;
  let certs = issuedTo(pd, site);
  if (certs.length === 0) throw new InputError(`--site ${site}: no certificate was issued to "${site}" (none in ${join(pd.caDir, 'issued')})`);
  if (opts.serial !== undefined) {
    const wanted = opts.serial.toLowerCase();
    const one = certs.filter((c) => c.serialNumber.toLowerCase() === wanted);
    if (one.length === 0) throw new InputError(`--serial ${opts.serial}: not a certificate of "${site}" (its serials: ${certs.map((c) => c.serialNumber).join(', ')})`);
    certs = one;
  }
  const current = await currentCrl(pd);
  const fresh = certs.map((c) => c.serialNumber).filter((serial) => !isRevoked(current, serial));
  if (fresh.length === 0) {
    log.info('site already revoked', { site });
    return { site, revoked: [], crls: [] };
  }
  const reason = x509.X509CrlReason[opts.reason ?? 'unspecified'];
  const next = await revoke(pd.ca, current, fresh.map((serialNumber) => ({ serialNumber, reason })));
  const crls = [join(pd.caDir, 'crl.pem')];
  // The coordinator kit's copy when it is still here: a coordinator run from DIR applies it at once.
  if (pd.coordinatorKit && existsSync(join(pd.coordinatorKit, 'tls'))) crls.push(join(pd.coordinatorKit, COORDINATOR_TLS.crl));
  for (const path of crls) replaceKitFile(path, next.crlPem);
  log.info('site revoked', { site, serials: fresh, crls });
  return { site, revoked: fresh, crls };
}

/** Everything add-site refuses, before any key is made; returns the schema's bytes for the kit. */
async function checkAddable(
  pd: ProvisioningDir,
  spec: FederationSpec,
  entry: { name: string; data: string },
  opts: { federationFile: string; replace?: boolean },
  log: Logger,
): Promise<Buffer> {
  const site = entry.name;
  const expected = hostPort(spec.coordinator.host, spec.coordinator.grpcPort);
  if (expected !== pd.manifest.coordinator.grpcAddress)
    log.warn('the federation file names another coordinator address than the manifest; the new kit uses the manifest\'s', { manifest: pd.manifest.coordinator.grpcAddress, federationFile: expected });
  const enrolled = pd.manifest.sites.some((s) => s.name === site);
  if (enrolled && !opts.replace)
    throw new InputError(`--site ${site}: already enrolled in the federation; to give it new keys (a lost kit), revoke-site it first, then add-site --replace`);
  if (enrolled) await requireAllRevoked(pd, site);
  if (!enrolled && opts.replace) throw new InputError(`--site ${site}: --replace re-keys an enrolled site, and "${site}" is not enrolled`);
  const kit = join(pd.dir, 'sites', site);
  if (existsSync(kit))
    throw new InputError(
      `${kit}: already exists; move the old kit away first (kits are never overwritten), and keep its models/ folder: the models the site saved there (its default modelDir) go with it`,
    );
  if (!existsSync(entry.data)) log.warn('site data file not found on this machine; the site will need it there when it starts', { site, data: entry.data });

  const schemaBytes = readFileSync(spec.schema);
  // The coordinator validates every site against its own copy: a kit with another schema would only fail at join.
  const federationSchema = pd.coordinatorKit && join(pd.coordinatorKit, 'schema.json');
  if (federationSchema && existsSync(federationSchema) && !schemaBytes.equals(readFileSync(federationSchema)))
    throw new InputError(`${opts.federationFile}: schema ${spec.schema} differs from the federation's (${federationSchema}); a site must use the coordinator's schema`);
  return schemaBytes;
}

/** The revocation list in force (DIR/ca/crl.pem), checked against the CA. */
export async function currentCrl(pd: ProvisioningDir): Promise<VerifiedCrl> {
  const path = join(pd.caDir, 'crl.pem');
  if (!existsSync(path)) throw new InputError(`--dir ${pd.dir}: no ca/crl.pem (the revocation list provision wrote)`);
  return loadCrl(readFileSync(path, 'utf8'), pd.ca.certificate);
}

async function requireAllRevoked(pd: ProvisioningDir, site: string): Promise<void> {
  const crl = await currentCrl(pd);
  const live = issuedTo(pd, site).filter((c) => !isRevoked(crl, c.serialNumber) && c.notAfter > new Date());
  if (live.length > 0)
    throw new InputError(`--site ${site}: its certificate ${live.map((c) => c.serialNumber).join(', ')} is still valid; run \`fedcausal provision revoke-site --site ${site}\` first`);
}

function writeManifest(pd: ProvisioningDir, text: string): string[] {
  const paths = [join(pd.caDir, 'manifest.json'), ...(pd.coordinatorKit ? [join(pd.coordinatorKit, 'manifest.json')] : [])];
  for (const p of paths) replaceKitFile(p, text);
  return paths;
}
