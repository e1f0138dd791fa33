/**
 * `fedcausal provision renew-site`: a new certificate for a site's new TLS key, from
 * the CSR the hospital made with `site renew-request` (cli/site-renew.ts). The
 * provisioning machine never sees the key: the CSR's signature proves the requester
 * holds it (csrPublicKey). The certificate's site name and Ed25519 binding come from
 * the manifest, never from the CSR's subject, so a CSR cannot claim another site.
 * Nothing else changes: same CA, same manifest, so the coordinator needs nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { InputError } from '../shared/errors.ts';
import { silentLogger, type Logger } from '../shared/logger.ts';
import { isRevoked } from '../shared/pki/crl.ts';
import { csrPublicKey } from '../shared/pki/csr.ts';
import { issueSiteCertificate } from '../shared/pki/issue.ts';
import { SITE_TLS } from '../shared/pki/kit-tls.ts';
import { x509 } from '../shared/pki/x509.ts';
import { canonicalPath, checkOutputFile, checkReplacesOnlyPem } from '../shared/output-path.ts';
import { issuedTo, openProvisioningDir, type ProvisioningDir } from './provision-dir.ts';
import { makeKitDir, writeKitFile } from './provision-pki.ts';
import { currentCrl } from './provision-sites.ts';

/** Without --out the certificate goes beside the site's current one in DIR's copy of its kit: tls/client.pem.new. */
export const RENEWED_CERT_SUFFIX = '.new';

export interface RenewSiteResult {
  site: string;
  /** The certificate written (what goes back to the hospital). */
  cert: string;
  serialNumber: string;
  notAfter: Date;
}

export async function renewSite(opts: { dir: string; site: string; csr: string; out?: string }, log: Logger = silentLogger): Promise<RenewSiteResult> {
  const pd = await openProvisioningDir(opts.dir);
  const { site } = opts;
  const entry = pd.manifest.sites.find((s) => s.name === site);
  if (!entry)
    throw new InputError(`--site ${site}: not enrolled in federation "${pd.federation}" (not in its manifest); a new site gets a kit with add-site, not a renewal`);
  const issued = issuedTo(pd, site);
  await refuseRevoked(pd, site, issued);
  const { publicKey, subjectCns } = await readCsr(opts.csr);
  refuseOtherSitesCsr(opts.csr, site, subjectCns, pd);
  refuseKnownKey(opts.csr, site, publicKey, issued);
  // Checked before issuing: a serial recorded for a certificate nobody received would only confuse revocation.
  const cert = checkCertOut(opts.out ?? defaultCertPath(pd, site), pd);
  const issuedCert = await issueSiteCertificate(pd.ca, { site, signingPublicKey: entry.signingPublicKey, publicKey });
  const issuedDir = join(pd.caDir, 'issued');
  if (!existsSync(issuedDir)) makeKitDir(issuedDir);
  // Recorded as add-site records it: revoke-site finds the site's certificates there.
  writeKitFile(join(issuedDir, `${site}-${issuedCert.serialNumber}.pem`), issuedCert.certPem);
  writeKitFile(cert, issuedCert.certPem);
  const notAfter = issuedCert.certificate.notAfter;
  log.info('site certificate renewed', { site, serialNumber: issuedCert.serialNumber, cert });
  return { site, cert, serialNumber: issuedCert.serialNumber, notAfter };
}

/** DIR/sites/NAME/tls/client.pem.new; refused when the kit is no longer in DIR (no folder is made with the wrong mode). */
function defaultCertPath(pd: ProvisioningDir, site: string): string {
  const path = join(pd.dir, 'sites', site, SITE_TLS.cert + RENEWED_CERT_SUFFIX);
  if (!existsSync(dirname(path))) throw new InputError(`--dir ${pd.dir}: no kit folder ${dirname(path)} for "${site}" (shipped and removed?); say where the certificate goes with --out FILE`);
  return path;
}

/** A site whose every certificate is revoked has left (or lost its kit): it is re-keyed with add-site --replace, not renewed. */
async function refuseRevoked(pd: ProvisioningDir, site: string, issued: x509.X509Certificate[]): Promise<void> {
  if (issued.length === 0) return;
  const crl = await currentCrl(pd);
  if (issued.every((c) => isRevoked(crl, c.serialNumber)))
    throw new InputError(
      `--site ${site}: every certificate of "${site}" is revoked (${join(pd.caDir, 'crl.pem')}); a revoked site is not renewed: ` +
        're-key it with add-site --replace if it is to come back',
    );
}

/** The CA folder holds the CA key, the CRL and the issued records: a certificate written there could replace one of them. */
function checkCertOut(out: string, pd: ProvisioningDir): string {
  const target = canonicalPath(out);
  const rel = relative(canonicalPath(pd.caDir), target);
  if (!rel.startsWith('..') && !isAbsolute(rel))
    throw new InputError(`--out ${out}: is inside the CA folder ${pd.caDir} (its key and records); write the certificate elsewhere`);
  checkReplacesOnlyPem(out, 'CERTIFICATE', '--out');
  return checkOutputFile(out, '--out');
}

/**
 * The certificate's name comes from the manifest, not the CSR; but a CSR whose subject is
 * another enrolled site is a mix-up of two hospitals' requests, and issuing would hand
 * one hospital a certificate in the other's name.
 */
function refuseOtherSitesCsr(path: string, site: string, cns: string[], pd: ProvisioningDir): void {
  const other = cns.find((cn) => cn !== site && pd.manifest.sites.some((s) => s.name === cn));
  if (other !== undefined)
    throw new InputError(
      `--csr ${path}: its subject is site "${other}", not "${site}": another hospital's request (mixed up?); ` +
        `renew "${other}" with --site ${other}, or ask "${site}" for the CSR of its own renew-request`,
    );
}

async function readCsr(path: string): Promise<{ publicKey: x509.PublicKey; subjectCns: string[] }> {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`--csr ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  try {
    const publicKey = await csrPublicKey(pem);
    return { publicKey, subjectCns: new x509.Pkcs10CertificateRequest(pem).subjectName.getField('CN') };
  } catch (err) {
    throw new InputError(`--csr ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** A renewal is for a new key: a CSR for a key already certified is a mix-up (an old CSR sent again). */
function refuseKnownKey(path: string, site: string, key: x509.PublicKey, issued: x509.X509Certificate[]): void {
  const spki = Buffer.from(key.rawData);
  const same = issued.find((c) => spki.equals(Buffer.from(c.publicKey.rawData)));
  if (same)
    throw new InputError(`--csr ${path}: its key is already certified for "${site}" (serial ${same.serialNumber}); a renewal needs a new key: run \`fedcausal site renew-request\` again at the site`);
}
