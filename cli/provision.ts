/**
 * `fedcausal provision --federation FILE --out DIR`: turns a federation file into
 * one self-contained startup kit per participant (see ../shared/docs/INTERFACES.md).
 *
 *   DIR/ca/root.json, root.identity.json (the root secret, in no kit), manifest.json (as last signed), ca.pem, ca.key.pem, crl.pem, issued/ (the TLS CA, in no kit)
 *   DIR/coordinator/{coordinator.yaml, identity.json, manifest.json, root.json, schema.json, start.sh}
 *   DIR/sites/NAME/{site.yaml, identity.json, manifest.json, root.json, schema.json, start.sh}
 *   and tls/ in each kit (docs/pki.md). Every file is 0600 (start.sh 0700), every folder 0700, whatever the umask.
 *
 * Everything is validated before anything is written, and the kits are built in a
 * temporary sibling folder renamed into place at the end, so a failure never
 * leaves half a federation (with keys nobody else knows) behind.
 */
import { prepareOutputDir } from '../shared/output-path.ts';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { DEFAULT_TEST_FRACTION, bool, int, port, real, seed, strict, text } from '../shared/config/fields.ts';
import { allFaults, fieldError, parseInput } from '../shared/config/issues.ts';
import { refuseOtherFileKind } from '../shared/config/file-kind.ts';
import { readConfigFile, resolveFrom } from '../shared/config/load.ts';
import { generateIdentity, publicIdentity, encodeKey, writeIdentityFile, type Identity } from '../shared/crypto/keys.ts';
import { featureList, loadSchema } from '../shared/data/schema.ts';
import { InputError } from '../shared/errors.ts';
import { silentLogger, type Logger } from '../shared/logger.ts';
import { checkModelFeatures, compileModelSpec } from '../shared/model/factory.ts';
import { hostPort } from '../shared/net/host-port.ts';
import { isLoopbackHost } from '../shared/net/loopback.ts';
import { strategySpecSchema } from '../coordinator/strategy/registry.ts';
import { compileSecureAggregation } from '../coordinator/secure-config.ts';
import { DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT, PROVISIONED_LINGER_SECONDS, DEFAULT_ROUND_DEADLINE_SECONDS, MAX_ROUNDS, MAX_SITES, MAX_WAIT_SECONDS, defaultMinSitesToAccept } from '../coordinator/config.ts';
import { SITE_NAME_PATTERN, signManifest, type FederationManifest, type RootKeyFile, type SignedManifest } from '../shared/federation/manifest.ts';
import { KIT_DIR_MODE, KIT_EXEC_MODE, makeKitDir, writeKitFile, writePki } from './provision-pki.ts';
import { HTTP_TOKEN_FILE, newHttpToken } from '../shared/net/http-token.ts';

export { isLoopbackHost };

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const bareHost = (h: string) => h.replace(/^\[|\]$/g, '');
const name = () => text().regex(SITE_NAME_PATTERN, { error: `must match ${SITE_NAME_PATTERN} (lowercase letters, digits, "_" and "-")` });

/** The federation file (docs/configuration.md); `model` is checked by compileModelSpec; the ranges are those the kits' loaders accept. */
export const federationFileSchema = strict({
  name: name(),
  coordinator: strict({
    host: text().refine((h) => isIP(bareHost(h)) !== 0 || HOSTNAME.test(bareHost(h)), { error: 'must be an IP address or host name' }),
    // coordinator.yaml's defaults (coordinator/config.ts), so the two files agree when both are left out.
    grpcPort: port(1).default(DEFAULT_GRPC_PORT),
    httpPort: port(1).default(DEFAULT_HTTP_PORT),
    allowNonLoopback: bool().default(false),
  }),
  rounds: int(1, MAX_ROUNDS),
  model: z.unknown(),
  schema: text(),
  sites: z
    .array(strict({ name: name(), data: text() }, 'a mapping { name, data }'), { error: 'must be a non-empty list of { name, data }' })
    .min(1, { error: 'must be a non-empty list of { name, data }' }),
  strategy: strategySpecSchema.optional(),
  seed: seed().default(1),
  minSites: int(1, MAX_SITES).optional(),
  roundDeadlineSeconds: real(1, MAX_WAIT_SECONDS).default(DEFAULT_ROUND_DEADLINE_SECONDS),
  allowNonLoopback: bool().default(false),
  secureAggregation: bool().default(false),
});

/** The federation file, validated, with paths made absolute. */
export interface FederationSpec {
  file: string;
  name: string;
  coordinator: { host: string; grpcPort: number; httpPort: number; allowNonLoopback: boolean };
  rounds: number;
  seed: number;
  model: { kind: string } & Record<string, unknown>;
  strategy: { name: string } & Record<string, unknown>;
  /** Already clamped to the number of sites. */
  minSites: number;
  roundDeadlineSeconds: number;
  /** coordinator.yaml's secureAggregation.enabled, written out either way so the operator sees it. */
  secureAggregation: boolean;
  schema: string;
  sites: { name: string; data: string }[];
}

export interface ProvisionResult {
  federation: string;
  /** Absolute path of DIR. */
  outDir: string;
  /** Base64 Ed25519 public key of the federation root (also in every kit's root.json). */
  rootPublicKey: string;
  coordinatorKit: string;
  siteKits: { name: string; dir: string }[];
  /** Whether coordinator.yaml was written with secure aggregation on. */
  secureAggregation: boolean;
}

/** Reads and validates a federation file; nothing is written. Loopback only by default: a coordinator reachable from the network is a deliberate choice. */
export function readFederationFile(file: string): FederationSpec {
  const { raw, baseDir } = readConfigFile(file);
  refuseOtherFileKind(raw, 'federation file', file);
  const source = { file };
  const [f, model] = allFaults([
    () => parseInput(federationFileSchema, raw, source),
    () => compileModelSpec(raw.model, { file, at: 'model' }),
  ]);
  const { host, grpcPort, httpPort } = f.coordinator;
  if (grpcPort === httpPort) throw fieldError(source, 'coordinator.httpPort', `must differ from coordinator.grpcPort (both are ${grpcPort})`);
  // Accepted beside the host or at the top level (where coordinator.yaml keeps it).
  const allowNonLoopback = f.coordinator.allowNonLoopback || f.allowNonLoopback;
  if (!allowNonLoopback && !isLoopbackHost(host))
    throw fieldError(
      source,
      'coordinator.host',
      `is ${JSON.stringify(host)}, which is not a loopback address (127.0.0.1, ::1, localhost); set allowNonLoopback: true to serve other machines`,
    );
  const schema = resolveFrom(baseDir, f.schema);
  // Fail now, not when every site starts (the schema) or after the statistics rounds (model feature names).
  const schemaDoc = loadSchema(schema);
  checkModelFeatures(model, featureList(schemaDoc), { file, at: 'model', schema });
  const firstIndex = new Map<string, number>();
  f.sites.forEach((s, i) => {
    const prev = firstIndex.get(s.name);
    if (prev !== undefined)
      throw fieldError(source, `sites[${i}].name`, `duplicates sites[${prev}].name ${JSON.stringify(s.name)}; site names must be unique`);
    firstIndex.set(s.name, i);
  });
  const sites = f.sites.map((s) => ({ name: s.name, data: resolveFrom(baseDir, s.data) }));
  const strategy = f.strategy ?? strategySpecSchema.parse({});
  if (f.secureAggregation) checkSecureAggregation(source, { strategy: strategy.name, model: model.kind, trainingSites: sites.length, modalities: schemaDoc.modalities.length });
  return {
    file,
    name: f.name,
    coordinator: { host, grpcPort, httpPort, allowNonLoopback },
    rounds: f.rounds,
    seed: f.seed,
    model: { kind: model.kind, ...model.raw },
    strategy: { name: strategy.name, ...strategy.options },
    minSites: Math.min(sites.length, f.minSites ?? defaultMinSitesToAccept(sites.length)),
    roundDeadlineSeconds: f.roundDeadlineSeconds,
    secureAggregation: f.secureAggregation,
    schema,
    sites,
  };
}

function startScript(command: string): string {
  return [
    '#!/usr/bin/env bash',
    '# Written by `fedcausal provision`. Runs this kit from its own folder, so every path in the config is relative to it.',
    '# It runs the fedcausal installed on this host (the release tarball: npm install -g ./fedcausal-X.tgz),',
    '# never a path on the provisioning machine nor a download: FEDCAUSAL_BIN names another installed copy.',
    '# exec (not npx, which does not pass SIGTERM on): a supervisor\'s stop reaches fedcausal itself.',
    'set -euo pipefail',
    'cd "$(dirname "$0")"',
    'FEDCAUSAL="${FEDCAUSAL_BIN:-$(command -v fedcausal || true)}"',
    'if [ -z "$FEDCAUSAL" ] || [ ! -x "$FEDCAUSAL" ]; then',
    '  echo "start.sh: fedcausal is not installed on this host (install the release tarball: npm install -g ./fedcausal-X.tgz; or set FEDCAUSAL_BIN to its bin/fedcausal.js)" >&2',
    '  exit 127',
    'fi',
    `exec "$FEDCAUSAL" ${command}`,
    '',
  ].join('\n');
}

function writeYaml(path: string, header: string, doc: unknown): void {
  writeKitFile(path, `# ${header}\n# Written by \`fedcausal provision\`; paths are relative to this folder.\n${YAML.stringify(doc)}`);
}

function writeJson(path: string, doc: unknown): void {
  writeKitFile(path, JSON.stringify(doc, null, 2) + '\n');
}

function writeExecutable(path: string, text: string): void {
  writeKitFile(path, text, KIT_EXEC_MODE);
}

/** DIR must be absent or an empty folder: never mix two federations' keys. */
function checkOutDir(out: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new InputError(`--out ${out}: exists and is not a folder`);
  if (readdirSync(out).length > 0)
    throw new InputError(`--out ${out}: folder is not empty; refusing to write a federation over existing files (and keys)`);
}

/** The line `provision` prints: what the coordinator will be able to read, and how to change it. */
export function secureAggregationLine(on: boolean): string {
  return on
    ? 'secure aggregation: on (the coordinator decodes only sums over the sites; docs/secagg.md)'
    : 'secure aggregation: off: the coordinator will read each site\'s model update and statistics. With 3 or more sites, ' +
        'set secureAggregation: true in the federation file (or secureAggregation.enabled in coordinator.yaml) to keep it to sums over the sites (docs/secagg.md)';
}

/** What coordinator.yaml would refuse at start (too few sites, a strategy that needs each site's update), said now with this file's field. */
function checkSecureAggregation(source: { file: string }, ctx: Parameters<typeof compileSecureAggregation>[1]): void {
  try {
    compileSecureAggregation({ enabled: true }, ctx);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    throw fieldError(source, 'secureAggregation', err.message.replace(/^secureAggregation\.\w+: /, ''));
  }
}

export async function provisionFederation(federationFile: string, outDir: string, log: Logger = silentLogger): Promise<ProvisionResult> {
  const spec = readFederationFile(federationFile);
  const out = resolve(outDir);
  checkOutDir(out);
  for (const s of spec.sites)
    if (!existsSync(s.data))
      log.warn('site data file not found on this machine; the site will need it there when it starts', { site: s.name, data: s.data });

  // Not mkdirSync(recursive): under /proc it never returns.
  prepareOutputDir(dirname(out), `--out ${outDir}: folder`);
  const tmp = mkdtempSync(join(dirname(out), `.${basename(out)}.provision-`));
  try {
    chmodSync(tmp, KIT_DIR_MODE);
    const rootPublicKey = await writeKits(spec, tmp);
    // An empty DIR is allowed (checked above); rename needs it gone.
    if (existsSync(out)) rmdirSync(out);
    renameSync(tmp, out);
    const result: ProvisionResult = {
      federation: spec.name,
      outDir: out,
      rootPublicKey,
      coordinatorKit: join(out, 'coordinator'),
      siteKits: spec.sites.map((s) => ({ name: s.name, dir: join(out, 'sites', s.name) })),
      secureAggregation: spec.secureAggregation,
    };
    log.info('federation provisioned', { federation: spec.name, out, sites: spec.sites.length });
    return result;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** What every kit shares: the signed manifest, the root public key, the schema. */
function writeCommon(kit: string, signed: SignedManifest, rootFile: RootKeyFile, schemaBytes: Uint8Array): void {
  writeJson(join(kit, 'manifest.json'), signed);
  writeJson(join(kit, 'root.json'), rootFile);
  // Bytes, not copyFileSync: a read-only source would give read-only kits.
  writeKitFile(join(kit, 'schema.json'), schemaBytes);
}

export interface SiteKitSpec {
  federation: string;
  grpcAddress: string;
  seed: number;
  site: { name: string; data: string; identity: Identity };
  signed: SignedManifest;
  rootFile: RootKeyFile;
  schemaBytes: Uint8Array;
}

/** One site's kit folder `sk` (created here), without tls/ (provision-pki.ts adds it). */
export function writeSiteKit(sk: string, k: SiteKitSpec): void {
  const { name, data, identity } = k.site;
  makeKitDir(sk);
  writeIdentityFile(join(sk, 'identity.json'), identity);
  writeCommon(sk, k.signed, k.rootFile, k.schemaBytes);
  writeYaml(join(sk, 'site.yaml'), `site ${name} of federation ${k.federation}`, {
    site: name,
    federation: k.federation,
    coordinator: { address: k.grpcAddress },
    data,
    schema: 'schema.json',
    identity: 'identity.json',
    manifest: 'manifest.json',
    root: 'root.json',
    testFraction: DEFAULT_TEST_FRACTION,
    seed: k.seed,
  });
  writeExecutable(join(sk, 'start.sh'), startScript('site start --config site.yaml'));
}

/** Writes every kit under `dir`; returns the root public key (base64). */
async function writeKits(spec: FederationSpec, dir: string): Promise<string> {
  const root = generateIdentity();
  const coordinator = generateIdentity();
  const sites = spec.sites.map((s) => ({ ...s, identity: generateIdentity() }));
  const { host, grpcPort, httpPort, allowNonLoopback } = spec.coordinator;
  const grpcAddress = hostPort(host, grpcPort);
  const schemaBytes = readFileSync(spec.schema);

  const manifest: FederationManifest = {
    federation: spec.name,
    version: 1,
    coordinator: { ...publicIdentity(coordinator), grpcAddress, httpAddress: `http://${hostPort(host, httpPort)}` },
    sites: sites.map((s) => ({ name: s.name, ...publicIdentity(s.identity) })),
  };
  const signed = signManifest(manifest, root.signing.secretKey);
  const rootFile: RootKeyFile = { version: 1, federation: spec.name, signingPublicKey: encodeKey(root.signing.publicKey) };

  makeKitDir(join(dir, 'ca'));
  writeJson(join(dir, 'ca', 'root.json'), rootFile);
  // The root secret can re-sign the manifest (admit sites); it stays with whoever provisions.
  writeIdentityFile(join(dir, 'ca', 'root.identity.json'), root);

  // The manifest as last signed: `provision add-site` and `revoke-site` start from it.
  writeJson(join(dir, 'ca', 'manifest.json'), signed);

  const ck = join(dir, 'coordinator');
  makeKitDir(ck);
  writeIdentityFile(join(ck, 'identity.json'), coordinator);
  writeCommon(ck, signed, rootFile, schemaBytes);
  writeYaml(join(ck, 'coordinator.yaml'), `coordinator of federation ${spec.name}`, {
    federation: spec.name,
    // Bare host (no IPv6 brackets): it is handed to listen().
    listen: { host: host.replace(/^\[|\]$/g, ''), grpcPort, httpPort, httpLingerSeconds: PROVISIONED_LINGER_SECONDS },
    rounds: spec.rounds,
    seed: spec.seed,
    model: spec.model,
    strategy: spec.strategy,
    quorum: {
      minSitesToStart: spec.minSites,
      minSitesToAccept: Math.min(spec.minSites, defaultMinSitesToAccept(spec.sites.length)),
      roundDeadlineSeconds: spec.roundDeadlineSeconds,
    },
    schema: 'schema.json',
    identity: 'identity.json',
    manifest: 'manifest.json',
    root: 'root.json',
    runDir: 'runs',
    ...(allowNonLoopback ? { allowNonLoopback: true } : {}),
    secureAggregation: { enabled: spec.secureAggregation },
  });
  writeExecutable(join(ck, 'start.sh'), startScript('coordinator start --config coordinator.yaml'));
  // The dashboard, /api/status and /metrics answer only with this token (INTERFACES.md).
  writeKitFile(join(ck, HTTP_TOKEN_FILE), newHttpToken() + '\n');

  makeKitDir(join(dir, 'sites'));
  for (const s of sites)
    writeSiteKit(join(dir, 'sites', s.name), { federation: spec.name, grpcAddress, seed: spec.seed, site: s, signed, rootFile, schemaBytes });
  await writePki(join(dir, 'ca'), {
    federation: spec.name,
    coordinatorHost: host,
    coordinatorKit: ck,
    sites: sites.map((s) => ({ name: s.name, dir: join(dir, 'sites', s.name), signingPublicKey: encodeKey(s.identity.signing.publicKey) })),
  });
  return rootFile.signingPublicKey;
}
