/**
 * `fedcausal site renew-request` and `site renew-install`: a hospital renews its TLS
 * key and certificate without the key ever leaving its machine (docs/pki.md, *Rotation
 * at a hospital*). The request makes the new key beside the current one
 * (tls/client.key.pem.new) and a CSR, the only thing sent; the operator answers
 * with a certificate (`provision renew-site`); install checks it against the pending
 * key, the kit's CA and this site, keeps the old pair as *.old and renames the new one
 * in. Every file written takes the mode and owner of the kit file it stands for
 * (site-agent/kit-file-owner.ts): the service may run as another user than this command.
 * The running agent keeps its old pair until it restarts (it reads tls/ at start).
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { encodeKey } from '../shared/crypto/keys.ts';
import { readKeyPem } from '../shared/crypto/key-file-mode.ts';
import { text } from '../shared/config/fields.ts';
import { parseFlags } from '../shared/config/flags.ts';
import { InputError } from '../shared/errors.ts';
import { canonicalPath, checkOutputFile, checkReplacesOnlyPem } from '../shared/output-path.ts';
import { parseSiteBindingUri, SITE_URI_PREFIX } from '../shared/pki/binding.ts';
import { createSiteCsr } from '../shared/pki/csr.ts';
import { SITE_TLS, loadSiteTls, requireTlsFiles } from '../shared/pki/kit-tls.ts';
import { parseCertificate, x509 } from '../shared/pki/x509.ts';
import { loadSiteConfig } from '../site-agent/config.ts';
import { fileOwner, matchOwner, ownerMissLines, type OwnerMiss } from '../site-agent/kit-file-owner.ts';
import { writeKitFile } from './provision-pki.ts';

/** The pending key and its certificate sit beside the current pair until installed. */
export const PENDING_SUFFIX = '.new';
/** The pair replaced by an install, kept to roll back. */
export const PREVIOUS_SUFFIX = '.old';
export const DEFAULT_CSR = 'tls/client.csr.pem';

export const RENEW_REQUEST_HELP = `usage: fedcausal site renew-request --config site.yaml [--out FILE] [--force]

At the hospital: makes a new TLS key for this site and a certificate request (CSR) for it.
The key is written beside the current one as tls/client.key.pem${PENDING_SUFFIX} (with the mode
and, run as root, the owner of the current key) and never leaves this machine; the CSR
(default ${DEFAULT_CSR} in the kit) is the only thing to send to the federation
operator, who answers with a certificate (provision renew-site). Install
it with \`fedcausal site renew-install\`. The current key and certificate keep working
until then.

--out     where to write the CSR
--force   replace a pending new key from an earlier request (its CSR becomes useless)
`;

export const RENEW_INSTALL_HELP = `usage: fedcausal site renew-install --config site.yaml --cert FILE

At the hospital: installs the certificate the operator sent for the pending key
(tls/client.key.pem${PENDING_SUFFIX}, from renew-request). It must be for that key, issued by the
kit's tls/ca.pem and name this site with its enrolled signing key. The current pair is kept
as tls/client.pem${PREVIOUS_SUFFIX} and tls/client.key.pem${PREVIOUS_SUFFIX}, then the new pair is renamed
into place; every file keeps the mode, and (run as root) the owner and group, of the file it
replaces. Restart the site agent afterwards: it reads tls/ at start.
`;

interface KitPaths {
  kit: string;
  site: string;
  key: string;
  cert: string;
  ca: string;
  pendingKey: string;
}

function kitPaths(config: string): KitPaths & { signingPublicKey: string } {
  const cfg = loadSiteConfig(config);
  const kit = dirname(config);
  const key = join(kit, SITE_TLS.key);
  requireTlsFiles(config, Object.values(SITE_TLS), 'site');
  return {
    kit,
    site: cfg.site,
    key,
    cert: join(kit, SITE_TLS.cert),
    ca: join(kit, SITE_TLS.ca),
    pendingKey: key + PENDING_SUFFIX,
    signingPublicKey: encodeKey(cfg.identity.signing.publicKey),
  };
}

/** What the operator must still do by hand: a chown this user was not permitted (kit-file-owner.ts). */
type OwnerNotes = OwnerMiss[];

export async function renewRequest(opts: { config: string; out?: string; force?: boolean }): Promise<{ site: string; key: string; csr: string; ownerNotes: OwnerNotes }> {
  const k = kitPaths(opts.config);
  if (existsSync(k.pendingKey) && !opts.force)
    throw new InputError(
      `${k.pendingKey}: a renewal is already pending (an earlier renew-request made this key); install its certificate with ` +
        '`fedcausal site renew-install`, or pass --force to make a new key (the CSR sent before then becomes useless)',
    );
  const csr = checkCsrOut(opts.out ?? join(k.kit, DEFAULT_CSR), k);
  const { csrPem, keyPem } = await createSiteCsr(k.site);
  writeKitFile(k.pendingKey, keyPem);
  writeKitFile(csr, csrPem);
  // The pending key becomes client.key.pem at the install: it takes that file's mode and owner now.
  const notes = [matchOwner(k.pendingKey, fileOwner(k.key), { secret: true })];
  // A CSR in the kit's tls/ is one more kit file: like the certificate it answers for.
  if (dirname(canonicalPath(csr)) === canonicalPath(dirname(k.cert))) notes.push(matchOwner(csr, fileOwner(k.cert)));
  return { site: k.site, key: k.pendingKey, csr, ownerNotes: defined(notes) };
}

const defined = (notes: (OwnerMiss | undefined)[]): OwnerNotes => notes.filter((n): n is OwnerMiss => n !== undefined);

/** The kit's TLS files, current, pending and previous: a CSR written over one of them would lose a key or a certificate. */
function kitTlsFiles(k: KitPaths): string[] {
  const pairs = [k.key, k.cert].flatMap((p) => [p, p + PENDING_SUFFIX, p + PREVIOUS_SUFFIX]);
  return [...pairs, k.ca];
}

function checkCsrOut(out: string, k: KitPaths): string {
  const target = canonicalPath(out);
  if (kitTlsFiles(k).some((p) => canonicalPath(p) === target))
    throw new InputError(`--out ${out}: is one of this kit's TLS files; the CSR goes in a file of its own (default ${DEFAULT_CSR} in the kit)`);
  checkReplacesOnlyPem(out, 'CERTIFICATE REQUEST', '--out');
  return checkOutputFile(out, '--out');
}

export async function renewInstall(opts: {
  config: string;
  cert: string;
}): Promise<{ site: string; serialNumber: string; notAfter: Date; previous: string[]; ownerNotes: OwnerNotes }> {
  const k = kitPaths(opts.config);
  const certPem = readCert(opts.cert);
  if (!existsSync(k.pendingKey)) throw noPendingKey(k, opts.cert, certPem);
  const leaf = nodeCertificate(opts.cert, certPem);
  if (!leaf.checkPrivateKey(pendingKeyObject(k.pendingKey)))
    throw new InputError(
      `${opts.cert} is not the certificate of the pending key ${k.pendingKey} (its public key differs): it answers another request; ` +
        'send the operator the CSR of the latest renew-request again',
    );
  checkIssuer(opts.cert, leaf, k.ca);
  checkValidity(opts.cert, leaf);
  const cert = parseCertificate(certPem, opts.cert);
  checkNamesSite(opts.cert, cert, k.site, k.signingPublicKey);
  const { previous, ownerNotes } = swapIn(k, certPem);
  // The installed pair must load the way `site start` loads it.
  loadSiteTls(opts.config);
  return { site: k.site, serialNumber: cert.serialNumber, notAfter: cert.notAfter, previous, ownerNotes };
}

/** A second install of the same certificate is told it is done, not sent back to renew-request. */
function noPendingKey(k: KitPaths, certPath: string, certPem: string): InputError {
  if (certPem.trim() === readFileSync(k.cert, 'utf8').trim())
    return new InputError(`${certPath} is already installed as ${k.cert}: nothing to do (restart the site agent if it has not been since the install)`);
  return new InputError(`${k.pendingKey} is missing: no renewal is pending; run \`fedcausal site renew-request\` first, and install the certificate of that request`);
}

function pendingKeyObject(path: string): KeyObject {
  try {
    return createPrivateKey(readKeyPem(path));
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${path} is not a PEM private key (${(err as Error).message}); run \`fedcausal site renew-request --force\` for a new one`, { cause: err });
  }
}

function readCert(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`--cert ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}

function nodeCertificate(path: string, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new InputError(`--cert ${path}: not a PEM certificate (${(err as Error).message})`, { cause: err });
  }
}

function checkIssuer(path: string, leaf: X509Certificate, caPath: string): void {
  const ca = new X509Certificate(readFileSync(caPath, 'utf8'));
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey))
    throw new InputError(`${path} is not issued by this federation's CA ${caPath} (issuer ${JSON.stringify(leaf.issuer.replace(/\n/g, ', '))}); was it made by another federation's operator?`);
}

function checkValidity(path: string, leaf: X509Certificate, now = new Date()): void {
  if (now > new Date(leaf.validTo)) throw new InputError(`${path}: expired on ${new Date(leaf.validTo).toISOString()}`);
  if (now < new Date(leaf.validFrom)) throw new InputError(`${path}: not valid before ${new Date(leaf.validFrom).toISOString()} (is this machine's clock right?)`);
}

/** The site binding (binding.ts) must be this site and its enrolled Ed25519 key: the coordinator refuses anything else. */
function checkNamesSite(path: string, cert: x509.X509Certificate, site: string, signingPublicKey: string): void {
  const uris = cert
    .getExtensions(x509.SubjectAlternativeNameExtension)
    .flatMap((ext) => ext.names.items.filter((n) => n.type === 'url' && n.value.startsWith(SITE_URI_PREFIX)).map((n) => n.value));
  const binding = uris.length === 1 ? parseSiteBindingUri(uris[0]!) : undefined;
  const cn = cert.subjectName.getField('CN');
  if (!binding || cn.length !== 1 || cn[0] !== binding.site) throw new InputError(`${path}: not a fedcausal site certificate (no single, well-formed site binding)`);
  if (binding.site !== site) throw new InputError(`${path}: names site "${binding.site}", but this kit is site "${site}"`);
  if (binding.signingPublicKey !== signingPublicKey)
    throw new InputError(`${path}: bound to another Ed25519 key than this kit's identity.json; the operator's manifest and this kit disagree`);
}

/**
 * Old pair copied to *.old first (a failure there changes nothing), then each new file
 * renamed over the current one; if the certificate's rename fails, the old key goes back.
 * A rename keeps the new file's mode and owner, so each new file first takes the old one's.
 */
function swapIn(k: KitPaths, certPem: string): { previous: string[]; ownerNotes: OwnerNotes } {
  const oldCert = k.cert + PREVIOUS_SUFFIX;
  const oldKey = k.key + PREVIOUS_SUFFIX;
  const pendingCert = k.cert + PENDING_SUFFIX;
  const [certOwner, keyOwner] = [fileOwner(k.cert), fileOwner(k.key)];
  writeKitFile(oldCert, readFileSync(k.cert));
  writeKitFile(oldKey, readKeyPem(k.key));
  writeKitFile(pendingCert, certPem);
  const notes = [
    matchOwner(oldCert, certOwner),
    matchOwner(oldKey, keyOwner, { secret: true }),
    matchOwner(pendingCert, certOwner, { name: k.cert }),
    matchOwner(k.pendingKey, keyOwner, { secret: true, name: k.key }),
  ];
  renameSync(k.pendingKey, k.key);
  try {
    renameSync(pendingCert, k.cert);
  } catch (err) {
    writeKitFile(k.key, readFileSync(oldKey));
    matchOwner(k.key, keyOwner, { secret: true }); // writeKitFile set 0600
    throw new InputError(`cannot install ${pendingCert} as ${k.cert} (${(err as Error).message}); the previous pair is back in place`, { cause: err });
  }
  return { previous: [oldCert, oldKey], ownerNotes: defined(notes) };
}

/** The chowns left to the operator (nothing when every owner was carried over). */
const ownerLines = (notes: OwnerNotes) => ownerMissLines(notes).map((l) => `${l}\n`).join('');

const octal = (path: string) => (statSync(path).mode & 0o777).toString(8).padStart(4, '0');

/** `fedcausal site renew-request | renew-install`; returns the exit code. */
export async function siteRenewVerb(verb: 'renew-request' | 'renew-install', argv: string[], out: (s: string) => void): Promise<number> {
  if (verb === 'renew-request') {
    const flags = parseFlags(argv, { config: text(), out: text().optional(), force: z.boolean().default(false) });
    if (flags === 'help') return out(RENEW_REQUEST_HELP), 0;
    const r = await renewRequest({ config: flags.config, ...(flags.out ? { out: flags.out } : {}), force: flags.force });
    out(
      `site "${r.site}": new TLS key ${r.key} (mode ${octal(r.key)}, as the current key's; it stays on this machine)\n` +
        `certificate request: ${r.csr}\n` +
        `send to the federation operator: ${r.csr} only (never the key)\n` +
        `next: the operator runs \`fedcausal provision renew-site --dir DIR --site ${r.site} --csr ${basename(r.csr)}\` and sends back a certificate; ` +
        `install it with \`fedcausal site renew-install --config ${flags.config} --cert FILE\`\n` +
        ownerLines(r.ownerNotes),
    );
    return 0;
  }
  const flags = parseFlags(argv, { config: text(), cert: text() });
  if (flags === 'help') return out(RENEW_INSTALL_HELP), 0;
  const r = await renewInstall({ config: flags.config, cert: flags.cert });
  out(
    `site "${r.site}": new certificate installed (serial ${r.serialNumber}, valid until ${r.notAfter.toISOString()}) with its key\n` +
      `previous pair kept: ${r.previous.join(', ')}\n` +
      ownerLines(r.ownerNotes) +
      'next: restart the site agent (it reads tls/ at start); once it has joined, delete the .old files\n',
  );
  return 0;
}
