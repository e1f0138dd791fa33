/**
 * The provisioning folder that `fedcausal provision --out DIR` wrote, read back to
 * change the federation later (provision-sites.ts): the root key that signs the
 * manifest, the CA that signs certificates and the revocation list, and the
 * manifest as last signed. Every file is checked against the others, so keys from
 * two federations are never mixed.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readKeyPem } from '../shared/crypto/key-file-mode.ts';
import { encodeKey, readIdentityFile, type Identity } from '../shared/crypto/keys.ts';
import { InputError } from '../shared/errors.ts';
import { loadManifest, loadRootPublicKey, type FederationManifest, type RootKeyFile } from '../shared/federation/manifest.ts';
import { loadFederationCa, type FederationCa } from '../shared/pki/ca.ts';
import { x509 } from '../shared/pki/x509.ts';
import { KIT_FILE_MODE } from './provision-pki.ts';
import { writeFileWhole } from '../shared/output-path.ts';

export interface ProvisioningDir {
  dir: string;
  caDir: string;
  federation: string;
  root: Identity;
  rootFile: RootKeyFile;
  ca: FederationCa;
  caPem: string;
  manifest: FederationManifest;
  /** DIR/coordinator when the coordinator kit is still here: its manifest and CRL are kept current too. */
  coordinatorKit: string | undefined;
}

export async function openProvisioningDir(dir: string): Promise<ProvisioningDir> {
  const caDir = join(dir, 'ca');
  const need = (file: string): string => {
    const p = join(caDir, file);
    if (!existsSync(p)) throw new InputError(`--dir ${dir}: no ca/${file}; expected the folder \`fedcausal provision --out\` wrote (its ca/ holds the federation's keys)`);
    return p;
  };
  const rootKey = loadRootPublicKey(need('root.json'));
  const root = readIdentityFile(need('root.identity.json'));
  if (Buffer.compare(Buffer.from(root.signing.publicKey), Buffer.from(rootKey.publicKey)) !== 0)
    throw new InputError(`--dir ${dir}: ca/root.identity.json is not the key of ca/root.json`);
  const caPem = readFileSync(need('ca.pem'), 'utf8');
  const ca = await loadFederationCa({ certPem: caPem, keyPem: readKeyPem(need('ca.key.pem'), 'CA private key') });
  if (ca.federation !== rootKey.federation)
    throw new InputError(`--dir ${dir}: ca/ca.pem is the CA of federation "${ca.federation}", ca/root.json of "${rootKey.federation}"`);
  const coordinatorKit = existsSync(join(dir, 'coordinator', 'manifest.json')) ? join(dir, 'coordinator') : undefined;
  // ca/manifest.json since add-site existed; before, the coordinator kit's copy is the latest.
  const manifestPath = existsSync(join(caDir, 'manifest.json')) ? join(caDir, 'manifest.json') : coordinatorKit && join(coordinatorKit, 'manifest.json');
  if (!manifestPath) throw new InputError(`--dir ${dir}: no ca/manifest.json nor coordinator/manifest.json: the federation's current manifest is needed`);
  const manifest = loadManifest(manifestPath, rootKey.publicKey);
  if (manifest.federation !== ca.federation) throw new InputError(`${manifestPath}: manifest of federation "${manifest.federation}", not "${ca.federation}"`);
  const rootFile: RootKeyFile = { version: 1, federation: ca.federation, signingPublicKey: encodeKey(rootKey.publicKey) };
  return { dir, caDir, federation: ca.federation, root, rootFile, ca, caPem, manifest, coordinatorKit };
}

/** The certificates issued to `site` (ca/issued/), as they were issued; the coordinator's never match (its CN is not a site name). */
export function issuedTo(pd: ProvisioningDir, site: string): x509.X509Certificate[] {
  const issuedDir = join(pd.caDir, 'issued');
  if (!existsSync(issuedDir)) return [];
  return readdirSync(issuedDir)
    .filter((f) => f.startsWith(`${site}-`) && f.endsWith('.pem'))
    .map((f) => new x509.X509Certificate(readFileSync(join(issuedDir, f), 'utf8')))
    .filter((c) => c.subjectName.getField('CN')[0] === site);
}

/**
 * Writes `data` to `path` by rename, so a reader (the coordinator watching tls/crl.pem)
 * sees the old file or the new one, never half of one.
 */
export function replaceKitFile(path: string, data: string): void {
  writeFileWhole(path, data, KIT_FILE_MODE);
}
