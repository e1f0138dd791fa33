/**
 * `fedcausal provision --federation FILE --out DIR`: turns a federation file into
 * one self-contained startup kit per participant (see ../shared/docs/INTERFACES.md).
 *
 *   DIR/ca/root.json, root.identity.json (0600; the root secret, in no kit)
 *   DIR/coordinator/{coordinator.yaml, identity.json, manifest.json, root.json, schema.json, start.sh}
 *   DIR/sites/NAME/{site.yaml, identity.json, manifest.json, root.json, schema.json, start.sh}
 *
 * Everything is validated before anything is written, and the kits are built in a
 * temporary sibling folder renamed into place at the end, so a failure never
 * leaves half a federation (with keys nobody else knows) behind.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { isIP } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { FieldReader, readConfigFile } from '../shared/config/load.ts';
import { generateIdentity, publicIdentity, encodeKey, writeIdentityFile } from '../shared/crypto/keys.ts';
import { loadSchema } from '../shared/data/schema.ts';
import { compileModelConfig } from '../shared/model/config.ts';
import { InputError } from '../shared/errors.ts';
import { silentLogger, type Logger } from '../shared/logger.ts';
import { strategyNames, validateStrategyOptions } from '../coordinator/strategy/registry.ts';
import { defaultMinSitesToAccept } from '../coordinator/config.ts';
import { SITE_NAME_PATTERN, signManifest, type FederationManifest, type RootKeyFile } from '../shared/federation/manifest.ts';

/** Model kinds the coordinator can train (INTERFACES.md, `simulate --model`). */
import { isLoopbackHost } from '../shared/net/loopback.ts';
export { isLoopbackHost };

export const MODEL_KINDS = ['debiased', 'baseline', 'logreg'] as const;

const DEFAULT_STRATEGY = 'fedavg';
const DEFAULT_SEED = 1;
const DEFAULT_ROUND_DEADLINE_SECONDS = 600;
const DEFAULT_TEST_FRACTION = 0.3;
// Ranges the coordinator and site config loaders accept, so every kit written here starts.
const MAX_SEED = 2 ** 31 - 1;
const MAX_ROUND_DEADLINE_SECONDS = 86_400;

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
}

/** This module lives in <repo>/cli/, so the repo root (where `fedcausal` is installed) is one up. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/[\\/]+$/, '');

const TOP_FIELDS = [
  'name',
  'coordinator',
  'rounds',
  'model',
  'schema',
  'sites',
  'strategy',
  'seed',
  'minSites',
  'roundDeadlineSeconds',
  'allowNonLoopback',
];
const COORDINATOR_FIELDS = ['host', 'grpcPort', 'httpPort', 'allowNonLoopback'];
const SITE_FIELDS = ['name', 'data'];

/** Loopback only by default: a coordinator reachable from the network is a deliberate choice. */
/** host:port, with IPv6 literals in brackets as gRPC targets and URLs need. */
function hostPort(host: string, port: number): string {
  const h = host.replace(/^\[|\]$/g, '');
  return isIP(h) === 6 ? `[${h}]:${port}` : `${h}:${port}`;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** FieldReader.num reports a missing required number as "got undefined"; say "is required" instead. */
function need(r: FieldReader, obj: Record<string, unknown>, field: string): Record<string, unknown> {
  if (obj[field.split('.').pop()!] === undefined) r.fail(field, 'is required');
  return obj;
}

/** Reads and validates a federation file; nothing is written. */
export function readFederationFile(file: string): FederationSpec {
  const { raw, baseDir } = readConfigFile(file);
  const r: FieldReader = new FieldReader(file, baseDir); // annotated: lets r.fail (never) narrow types
  r.only(raw, '', TOP_FIELDS);

  const name = r.str(raw, 'name');
  if (!SITE_NAME_PATTERN.test(name))
    r.fail('name', `must match ${SITE_NAME_PATTERN} (lowercase letters, digits, "_" and "-"), got ${JSON.stringify(name)}`);

  const c = r.obj(raw, 'coordinator');
  r.only(c, 'coordinator', COORDINATOR_FIELDS);
  const host = r.str(c, 'coordinator.host');
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) === 0 && !HOSTNAME.test(bare)) r.fail('coordinator.host', `must be an IP address or host name, got ${JSON.stringify(host)}`);
  const grpcPort = r.num(need(r, c, 'coordinator.grpcPort'), 'coordinator.grpcPort', undefined, 1, 65535, true);
  const httpPort = r.num(need(r, c, 'coordinator.httpPort'), 'coordinator.httpPort', undefined, 1, 65535, true);
  if (grpcPort === httpPort) r.fail('coordinator.httpPort', `must differ from coordinator.grpcPort (both are ${grpcPort})`);
  // Accepted beside the host or at the top level (where coordinator.yaml keeps it).
  const allowNonLoopback = r.bool(c, 'coordinator.allowNonLoopback', false) || r.bool(raw, 'allowNonLoopback', false);
  if (!allowNonLoopback && !isLoopbackHost(host))
    r.fail(
      'coordinator.host',
      `is ${JSON.stringify(host)}, which is not a loopback address (127.0.0.1, ::1, localhost); set allowNonLoopback: true to serve other machines`,
    );

  const rounds = r.num(need(r, raw, 'rounds'), 'rounds', undefined, 1, 100_000, true);
  const seed = r.num(raw, 'seed', DEFAULT_SEED, 0, MAX_SEED, true);
  const model = readModel(r, raw);
  const strategy = readStrategy(r, raw);
  const schema = r.path(raw, 'schema');
  loadSchema(schema); // fail now, not when every site starts

  const sitesRaw = raw.sites;
  if (!Array.isArray(sitesRaw) || sitesRaw.length === 0)
    r.fail('sites', sitesRaw === undefined ? 'is required' : 'must be a non-empty list of { name, data }');
  const sites: FederationSpec['sites'] = [];
  const firstIndex = new Map<string, number>();
  sitesRaw.forEach((s, i) => {
    const field = `sites[${i}]`;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) r.fail(field, 'must be a mapping { name, data }');
    const entry = s as Record<string, unknown>;
    r.only(entry, field, SITE_FIELDS);
    const siteName = r.str(entry, `${field}.name`);
    if (!SITE_NAME_PATTERN.test(siteName))
      r.fail(`${field}.name`, `must match ${SITE_NAME_PATTERN} (lowercase letters, digits, "_" and "-"), got ${JSON.stringify(siteName)}`);
    const prev = firstIndex.get(siteName);
    if (prev !== undefined) r.fail(`${field}.name`, `duplicates sites[${prev}].name ${JSON.stringify(siteName)}; site names must be unique`);
    firstIndex.set(siteName, i);
    sites.push({ name: siteName, data: r.path(entry, `${field}.data`) });
  });

  const minSitesAsked = r.num(raw, 'minSites', defaultMinSitesToAccept(sites.length), 1, 100_000, true);
  const roundDeadlineSeconds = r.num(raw, 'roundDeadlineSeconds', DEFAULT_ROUND_DEADLINE_SECONDS, 1, MAX_ROUND_DEADLINE_SECONDS);

  return {
    file,
    name,
    coordinator: { host, grpcPort, httpPort, allowNonLoopback },
    rounds,
    seed,
    model,
    strategy,
    minSites: Math.min(sites.length, minSitesAsked),
    roundDeadlineSeconds,
    schema,
    sites,
  };
}

/** `model: debiased` or `model: { kind: debiased, ...settings }`. */
function readModel(r: FieldReader, raw: Record<string, unknown>): FederationSpec['model'] {
  const v = raw.model;
  let spec: Record<string, unknown>;
  if (typeof v === 'string') {
    if (v === '') r.fail('model', 'must be a non-empty string');
    spec = { kind: v };
  } else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    spec = { ...(v as Record<string, unknown>) };
  } else {
    r.fail('model', v === undefined ? 'is required' : 'must be a model kind or a mapping { kind, ...settings }');
  }
  const kind = r.str(spec, 'model.kind');
  if (!(MODEL_KINDS as readonly string[]).includes(kind))
    r.fail(typeof v === 'string' ? 'model' : 'model.kind', `must be one of ${MODEL_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  const { kind: _kind, ...settings } = spec;
  try {
    compileModelConfig(settings, 'model');
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`${r.where}: ${err.message}`, { cause: err });
    throw err;
  }
  return { kind, ...settings };
}

/** `strategy: fedprox` or `strategy: { name: fedprox, proximalMu: 0.01 }`; default fedavg. */
function readStrategy(r: FieldReader, raw: Record<string, unknown>): FederationSpec['strategy'] {
  const v = raw.strategy;
  if (v === undefined) return { name: DEFAULT_STRATEGY };
  if (typeof v !== 'string' && (typeof v !== 'object' || v === null || Array.isArray(v)))
    r.fail('strategy', 'must be a strategy name or a mapping { name, ...options }');
  const spec: Record<string, unknown> = typeof v === 'string' ? { name: v } : { ...(v as Record<string, unknown>) };
  const name = r.str(spec, 'strategy.name', DEFAULT_STRATEGY);
  if (!strategyNames.includes(name))
    r.fail(typeof v === 'string' ? 'strategy' : 'strategy.name', `must be one of ${strategyNames.join(', ')}, got ${JSON.stringify(name)}`);
  const { name: _name, ...options } = spec;
  try {
    validateStrategyOptions(options);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`${r.where}: ${err.message}`, { cause: err });
    throw err;
  }
  return { name, ...options };
}

/** Single-quotes a path for bash (handles spaces and quotes in the repo location). */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function startScript(command: string): string {
  return [
    '#!/usr/bin/env bash',
    '# Written by `fedcausal provision`. Runs this kit from its own folder, so every path in the config is relative to it.',
    '# exec node directly (not npx, which does not pass SIGTERM on): a supervisor\'s stop reaches fedcausal itself.',
    'set -euo pipefail',
    'cd "$(dirname "$0")"',
    `exec node ${shellQuote(join(REPO_ROOT, 'bin', 'fedcausal.js'))} ${command}`,
    '',
  ].join('\n');
}

function writeYaml(path: string, header: string, doc: unknown): void {
  writeFileSync(path, `# ${header}\n# Written by \`fedcausal provision\`; paths are relative to this folder.\n${YAML.stringify(doc)}`);
}

function writeJson(path: string, doc: unknown): void {
  writeFileSync(path, JSON.stringify(doc, null, 2) + '\n');
}

function writeExecutable(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o755 });
  chmodSync(path, 0o755); // the umask may have removed bits at creation
}

/** DIR must be absent or an empty folder: never mix two federations' keys. */
function checkOutDir(out: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new InputError(`--out ${out}: exists and is not a folder`);
  if (readdirSync(out).length > 0)
    throw new InputError(`--out ${out}: folder is not empty; refusing to write a federation over existing files (and keys)`);
}

export function provisionFederation(federationFile: string, outDir: string, log: Logger = silentLogger): ProvisionResult {
  const spec = readFederationFile(federationFile);
  const out = resolve(outDir);
  checkOutDir(out);
  for (const s of spec.sites)
    if (!existsSync(s.data))
      log.warn('site data file not found on this machine; the site will need it there when it starts', { site: s.name, data: s.data });

  mkdirSync(dirname(out), { recursive: true });
  const tmp = mkdtempSync(join(dirname(out), `.${basename(out)}.provision-`));
  try {
    const rootPublicKey = writeKits(spec, tmp);
    // An empty DIR is allowed (checked above); rename needs it gone.
    if (existsSync(out)) rmdirSync(out);
    renameSync(tmp, out);
    const result: ProvisionResult = {
      federation: spec.name,
      outDir: out,
      rootPublicKey,
      coordinatorKit: join(out, 'coordinator'),
      siteKits: spec.sites.map((s) => ({ name: s.name, dir: join(out, 'sites', s.name) })),
    };
    log.info('federation provisioned', { federation: spec.name, out, sites: spec.sites.length });
    return result;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Writes every kit under `dir`; returns the root public key (base64). */
function writeKits(spec: FederationSpec, dir: string): string {
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

  mkdirSync(join(dir, 'ca'));
  writeJson(join(dir, 'ca', 'root.json'), rootFile);
  // The root secret can re-sign the manifest (admit sites); it stays with whoever provisions.
  writeIdentityFile(join(dir, 'ca', 'root.identity.json'), root);

  // What every kit shares: the signed manifest, the root public key, the schema.
  const common = (kit: string): void => {
    writeJson(join(kit, 'manifest.json'), signed);
    writeJson(join(kit, 'root.json'), rootFile);
    // Bytes, not copyFileSync: a read-only source would give read-only kits.
    writeFileSync(join(kit, 'schema.json'), schemaBytes);
  };

  const ck = join(dir, 'coordinator');
  mkdirSync(ck);
  writeIdentityFile(join(ck, 'identity.json'), coordinator);
  common(ck);
  writeYaml(join(ck, 'coordinator.yaml'), `coordinator of federation ${spec.name}`, {
    federation: spec.name,
    // Bare host (no IPv6 brackets): it is handed to listen().
    listen: { host: host.replace(/^\[|\]$/g, ''), grpcPort, httpPort },
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
  });
  writeExecutable(join(ck, 'start.sh'), startScript('coordinator start --config coordinator.yaml'));

  mkdirSync(join(dir, 'sites'));
  for (const s of sites) {
    const sk = join(dir, 'sites', s.name);
    mkdirSync(sk);
    writeIdentityFile(join(sk, 'identity.json'), s.identity);
    common(sk);
    writeYaml(join(sk, 'site.yaml'), `site ${s.name} of federation ${spec.name}`, {
      site: s.name,
      federation: spec.name,
      coordinator: { address: grpcAddress },
      data: s.data,
      schema: 'schema.json',
      identity: 'identity.json',
      manifest: 'manifest.json',
      root: 'root.json',
      testFraction: DEFAULT_TEST_FRACTION,
      seed: spec.seed,
    });
    writeExecutable(join(sk, 'start.sh'), startScript('site start --config site.yaml'));
  }
  return rootFile.signingPublicKey;
}
