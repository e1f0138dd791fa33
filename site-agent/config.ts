import { BOX_PUBLIC_KEY_BYTES, SIGNING_PUBLIC_KEY_BYTES, decodeKey, readIdentityFile, type Identity } from '../shared/crypto/keys.ts';
import { FieldReader, readConfigFile } from '../shared/config/load.ts';
import { loadSchema, type Schema } from '../shared/data/schema.ts';
import { loadManifest, loadRootPublicKey } from '../shared/federation/manifest.ts';
import type { CoordinatorKeys } from './agent.ts';

/** A site agent's validated settings (site.yaml, as `fedcausal provision` writes it). */
export interface SiteConfig {
  site: string;
  federation: string;
  coordinatorAddress: string;
  /** The coordinator's HTTP address from the manifest (`fedcausal site check` reads its /api/summary). */
  coordinatorHttpAddress: string;
  coordinator: CoordinatorKeys;
  data: string;
  schema: Schema;
  identity: Identity;
  testFraction: number;
  seed: number;
  /** Seconds to keep retrying the first connection (the coordinator may start later). */
  connectTimeoutSeconds: number;
}

export function loadSiteConfig(path: string): SiteConfig {
  const { raw, baseDir } = readConfigFile(path);
  const f = new FieldReader(path, baseDir);
  f.only(raw, '', ['site', 'federation', 'coordinator', 'data', 'schema', 'identity', 'manifest', 'root', 'testFraction', 'seed', 'connectTimeoutSeconds']);
  const site = f.str(raw, 'site');
  const federation = f.str(raw, 'federation');
  const coord = f.obj(raw, 'coordinator');
  f.only(coord, 'coordinator', ['address']);
  const root = loadRootPublicKey(f.path(raw, 'root', 'root.json'));
  if (root.federation !== federation) f.fail('root', `belongs to federation "${root.federation}", not "${federation}"`);
  const manifest = loadManifest(f.path(raw, 'manifest', 'manifest.json'), root.publicKey);
  if (!manifest.sites.some((s) => s.name === site)) f.fail('site', `"${site}" is not enrolled in the federation manifest`);
  const identity = readIdentityFile(f.path(raw, 'identity', 'identity.json'));
  return {
    site,
    federation,
    coordinatorAddress: f.str(coord, 'coordinator.address', manifest.coordinator.grpcAddress),
    coordinatorHttpAddress: manifest.coordinator.httpAddress,
    coordinator: {
      signingPublicKey: decodeKey(manifest.coordinator.signingPublicKey, SIGNING_PUBLIC_KEY_BYTES, 'manifest coordinator signingPublicKey'),
      boxPublicKey: decodeKey(manifest.coordinator.boxPublicKey, BOX_PUBLIC_KEY_BYTES, 'manifest coordinator boxPublicKey'),
    },
    data: f.path(raw, 'data'),
    schema: loadSchema(f.path(raw, 'schema', 'schema.json')),
    identity,
    testFraction: f.num(raw, 'testFraction', 0.3, 0.01, 0.99),
    seed: f.num(raw, 'seed', 1, 0, 2 ** 31 - 1, true),
    connectTimeoutSeconds: f.num(raw, 'connectTimeoutSeconds', 600, 0, 86400),
  };
}
