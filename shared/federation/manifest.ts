/**
 * The federation manifest: who may join (each site's public keys) and how to
 * reach the coordinator, signed with the federation root Ed25519 key that
 * `fedcausal provision` creates. Until certificates exist this signature is the
 * trust anchor: every kit carries root.json (the root public key) and checks the
 * manifest against it, so a manifest edited by hand (a site slipped in, a key
 * swapped) is refused.
 *
 * manifest.json: { "manifest": FederationManifest, "signature": b64(64) }
 * root.json:     { "version": 1, "federation": NAME, "signingPublicKey": b64(32) }
 *
 * The signature covers a canonical serialization (sorted keys, no whitespace)
 * behind a domain tag, so re-indenting the file keeps it valid and a manifest
 * signature can never be replayed as the signature of some other message.
 */
import { readFileSync } from 'node:fs';
import nacl from 'tweetnacl';
import { canonicalJson } from '../canonical-json.ts';
import { InputError } from '../errors.ts';
import {
  BOX_PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  SIGNING_PUBLIC_KEY_BYTES,
  SIGNING_SECRET_KEY_BYTES,
  decodeKey,
  encodeKey,
} from '../crypto/keys.ts';
import { cannotRead } from '../input-file.ts';

export interface FederationManifest {
  federation: string;
  version: 1;
  coordinator: {
    signingPublicKey: string;
    boxPublicKey: string;
    /** host:port that sites dial for gRPC (IPv6 hosts in brackets). */
    grpcAddress: string;
    /** Base URL of the dashboard and HTTP API, e.g. http://127.0.0.1:8080. */
    httpAddress: string;
  };
  sites: { name: string; signingPublicKey: string; boxPublicKey: string }[];
}

export interface SignedManifest {
  manifest: FederationManifest;
  /** Ed25519 detached signature (base64) by the federation root key. */
  signature: string;
}

/** The federation root public key as written to root.json. */
export interface RootKeyFile {
  version: 1;
  federation: string;
  signingPublicKey: string;
}

/** Site names: safe as folder names, metric labels and log fields. */
export const SITE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const DOMAIN_TAG = 'fedcausal-manifest-v1\n';

function signedBytes(manifest: FederationManifest): Uint8Array {
  return new TextEncoder().encode(DOMAIN_TAG + canonicalJson(manifest));
}

export function signManifest(manifest: FederationManifest, rootSecretKey: Uint8Array): SignedManifest {
  if (!(rootSecretKey instanceof Uint8Array) || rootSecretKey.length !== SIGNING_SECRET_KEY_BYTES)
    throw new Error(`root secret key must be ${SIGNING_SECRET_KEY_BYTES} bytes`);
  return { manifest, signature: encodeKey(nacl.sign.detached(signedBytes(manifest), rootSecretKey)) };
}

/** True when `signature` is the root key's signature of `manifest`. */
export function verifyManifest(signed: SignedManifest, rootPublicKey: Uint8Array): boolean {
  let sig: Uint8Array;
  try {
    sig = decodeKey(signed.signature, SIGNATURE_BYTES, 'manifest signature');
  } catch {
    return false;
  }
  return nacl.sign.detached.verify(signedBytes(signed.manifest), sig, rootPublicKey);
}

/**
 * Reads manifest.json and checks its shape; with `rootPublicKey` (bytes or base64)
 * also its signature. Every problem is an InputError naming the path.
 */
export function loadManifest(path: string, rootPublicKey?: Uint8Array | string): FederationManifest {
  const doc = readJson(path, 'manifest');
  const where = `manifest ${path}`;
  const top = asObject(doc, where);
  for (const k of Object.keys(top))
    if (k !== 'manifest' && k !== 'signature') throw new InputError(`${where}: unknown field "${k}"`);
  if (typeof top.signature !== 'string') throw new InputError(`${where}: field "signature" must be a base64 string`);
  const manifest = checkManifest(top.manifest, where);
  if (rootPublicKey !== undefined) {
    const key =
      typeof rootPublicKey === 'string'
        ? decodeKey(rootPublicKey, SIGNING_PUBLIC_KEY_BYTES, 'federation root public key')
        : rootPublicKey;
    if (key.length !== SIGNING_PUBLIC_KEY_BYTES)
      throw new InputError(`federation root public key must be ${SIGNING_PUBLIC_KEY_BYTES} bytes`);
    if (!verifyManifest({ manifest, signature: top.signature }, key))
      throw new InputError(
        `${where}: signature does not verify against the federation root key (the manifest was altered or belongs to another federation)`,
      );
  }
  return manifest;
}

/** Reads root.json and returns the root public key. */
export function loadRootPublicKey(path: string): { federation: string; publicKey: Uint8Array } {
  const where = `root key file ${path}`;
  const top = asObject(readJson(path, 'root key file'), where);
  // JSON.stringify gives undefined for a missing field, though typed string.
  if (top.version !== 1) throw new InputError(`${where}: field "version" must be 1, got ${(JSON.stringify(top.version) as string | undefined) ?? 'nothing'}`);
  if (typeof top.federation !== 'string' || top.federation === '')
    throw new InputError(`${where}: field "federation" must be a non-empty string`);
  const publicKey = decodeKey(top.signingPublicKey as string, SIGNING_PUBLIC_KEY_BYTES, `${where}: signingPublicKey`);
  return { federation: top.federation, publicKey };
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    // One file gone from a kit: it is public and the operator's provisioning folder keeps it (ca/), so no re-provisioning.
    if ((err as { code?: string }).code === 'ENOENT')
      throw new InputError(`${what} ${path} is missing: put it back beside the config, from a backup or the kit as delivered, or ask the federation operator for the copy under ca/ in the provisioning folder`, { cause: err });
    throw cannotRead(path, err, what);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${what} ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

function checkManifest(v: unknown, where: string): FederationManifest {
  const m = asObject(v, `${where}: "manifest"`);
  if (m.version !== 1) throw new InputError(`${where}: field "manifest.version" must be 1, got ${(JSON.stringify(m.version) as string | undefined) ?? 'nothing'}`);
  const federation = str(m.federation, where, 'manifest.federation');
  const c = asObject(m.coordinator, `${where}: "manifest.coordinator"`);
  const coordinator = {
    signingPublicKey: key(c.signingPublicKey, SIGNING_PUBLIC_KEY_BYTES, where, 'manifest.coordinator.signingPublicKey'),
    boxPublicKey: key(c.boxPublicKey, BOX_PUBLIC_KEY_BYTES, where, 'manifest.coordinator.boxPublicKey'),
    grpcAddress: str(c.grpcAddress, where, 'manifest.coordinator.grpcAddress'),
    httpAddress: str(c.httpAddress, where, 'manifest.coordinator.httpAddress'),
  };
  if (!Array.isArray(m.sites)) throw new InputError(`${where}: field "manifest.sites" must be an array`);
  const seen = new Set<string>();
  const sites = m.sites.map((s, i) => {
    const field = `manifest.sites[${i}]`;
    const o = asObject(s, `${where}: "${field}"`);
    const name = str(o.name, where, `${field}.name`);
    if (!SITE_NAME_PATTERN.test(name))
      throw new InputError(`${where}: field "${field}.name" must match ${SITE_NAME_PATTERN}, got ${JSON.stringify(name)}`);
    if (seen.has(name)) throw new InputError(`${where}: site "${name}" is listed twice`);
    seen.add(name);
    return {
      name,
      signingPublicKey: key(o.signingPublicKey, SIGNING_PUBLIC_KEY_BYTES, where, `${field}.signingPublicKey`),
      boxPublicKey: key(o.boxPublicKey, BOX_PUBLIC_KEY_BYTES, where, `${field}.boxPublicKey`),
    };
  });
  // Rebuilt field by field, so the signature covers exactly what callers get back (no stray extra fields).
  return { federation, version: 1, coordinator, sites };
}

function str(v: unknown, where: string, field: string): string {
  if (typeof v !== 'string' || v === '') throw new InputError(`${where}: field "${field}" must be a non-empty string`);
  return v;
}

function key(v: unknown, bytes: number, where: string, field: string): string {
  decodeKey(v as string, bytes, `${where}: field "${field}"`);
  return v as string;
}

function asObject(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InputError(`${where} must be a JSON object`);
  return v as Record<string, unknown>;
}
