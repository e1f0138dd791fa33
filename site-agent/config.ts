import type { z } from 'zod';
import { BOX_PUBLIC_KEY_BYTES, SIGNING_PUBLIC_KEY_BYTES, decodeKey, readIdentityFile, type Identity } from '../shared/crypto/keys.ts';
import { DEFAULT_TEST_FRACTION, TEST_FRACTION, bool, int, num, real, seed, strict, text } from '../shared/config/fields.ts';
import { fieldError, parseInput } from '../shared/config/issues.ts';
import { refuseOtherFileKind } from '../shared/config/file-kind.ts';
import { readConfigFile, resolveFrom } from '../shared/config/load.ts';
import { loadSchema, type Schema } from '../shared/data/schema.ts';
import { MIN_TRAINING_ROWS } from '../shared/data/training-rows.ts';
import { addressProblem } from '../shared/net/host-port.ts';
import { DEFAULT_MODEL_DIR } from '../shared/model/bundle.ts';
import { loadManifest, loadRootPublicKey } from '../shared/federation/manifest.ts';
import type { CoordinatorKeys } from './agent.ts';

/** site.yaml as `fedcausal provision` writes it (docs/configuration.md). */
export const siteFileSchema = strict({
  site: text(),
  federation: text(),
  /** Absent: the manifest's gRPC address. */
  // Optional as a whole: the address defaults to the manifest's (docs/configuration.md).
  coordinator: strict({
    address: text()
      .refine((a) => addressProblem(a) === undefined, { error: (iss) => `${addressProblem(String(iss.input))}; e.g. coordinator.example.org:7443, 10.0.0.5:7443 or [fd00::5]:7443` })
      .optional(),
  }).prefault({}),
  data: text(),
  schema: text().default('schema.json'),
  identity: text().default('identity.json'),
  manifest: text().default('manifest.json'),
  root: text().default('root.json'),
  testFraction: num(TEST_FRACTION).default(DEFAULT_TEST_FRACTION),
  /** Fewest rows the site trains on (after testFraction is held out); fewer and the site refuses to join. */
  minTrainingRows: int(1, 1e9).default(MIN_TRAINING_ROWS),
  seed: seed().default(1),
  /** Seconds to keep retrying the first connection (the coordinator may start later). */
  connectTimeoutSeconds: real(0, 86400).default(600),
  /**
   * Where the federation's final model is saved when it ends complete (fedcausal predict scores
   * with it). Absent: models/ beside site.yaml where that can be written (a read-only kit is
   * warned of at start, and nothing is saved); given: it must be writable.
   */
  modelDir: text().optional(),
  /**
   * The hospital's own floor under the federation's protections (docs/deploy-site.md): a task
   * below it is refused before anything is computed from the rows, and the site exits 2.
   * Absent: the coordinator's settings are accepted.
   */
  privacy: strict({
    requireSecureAggregation: bool().default(false),
    requireDifferentialPrivacy: bool().default(false),
    // Every fit task's noise at least this (DP on): "DP" at noise 0.01 protects nothing.
    minNoiseMultiplier: real(0.01, 1e6).optional(),
    // The most ε this site's training releases may spend in a run, by the site's own account (at δ 1e-5).
    maxEpsilon: real(0.01, 1e6).optional(),
    // The coordinator's bounds (coordinator.yaml priors.minCellCount, privacy.minCategoryCount).
    minCellCount: int(1, 1e6).optional(),
    minCategoryCount: int(1, 1e6).optional(),
  }).prefault({}),
});
type SiteFile = z.output<typeof siteFileSchema>;

/** A site agent's validated settings, with its files loaded. */
export interface SiteConfig extends Pick<SiteFile, 'site' | 'federation' | 'data' | 'testFraction' | 'minTrainingRows' | 'seed' | 'connectTimeoutSeconds' | 'privacy'> {
  /** Where the final model goes, and whether site.yaml named it (then it must be writable). */
  modelDir: { path: string; given: boolean };
  coordinatorAddress: string;
  /** The coordinator's HTTP address from the manifest (`fedcausal site check` reads its /api/summary). */
  coordinatorHttpAddress: string;
  coordinator: CoordinatorKeys;
  schema: Schema;
  identity: Identity;
  /** Where identity.json was read from, for messages that name it. */
  identityFile: string;
  /** Every site the kit's manifest enrolls, with its signing key (base64): a refused site compares its own files with them. */
  enrolled: { name: string; signingPublicKey: string }[];
}

export function loadSiteConfig(path: string): SiteConfig {
  const { raw, baseDir } = readConfigFile(path);
  refuseOtherFileKind(raw, 'site.yaml', path);
  const source = { file: path };
  const c = parseInput(siteFileSchema, raw, source);
  const root = loadRootPublicKey(resolveFrom(baseDir, c.root));
  if (root.federation !== c.federation) throw fieldError(source, 'root', `belongs to federation "${root.federation}", not "${c.federation}" (this file's federation field)${root.federation.toLowerCase() === c.federation.toLowerCase() ? ': the names differ only in case, and must match exactly' : ''}`);
  const manifest = loadManifest(resolveFrom(baseDir, c.manifest), root.publicKey);
  if (!manifest.sites.some((s) => s.name === c.site)) throw fieldError(source, 'site', `"${c.site}" is not enrolled in the federation manifest (enrolled: ${manifest.sites.map((x) => x.name).join(', ')})`);
  const identityFile = resolveFrom(baseDir, c.identity);
  const identity = readIdentityFile(identityFile);
  return {
    site: c.site,
    federation: c.federation,
    coordinatorAddress: c.coordinator.address ?? manifest.coordinator.grpcAddress,
    coordinatorHttpAddress: manifest.coordinator.httpAddress,
    coordinator: {
      signingPublicKey: decodeKey(manifest.coordinator.signingPublicKey, SIGNING_PUBLIC_KEY_BYTES, 'manifest coordinator signingPublicKey'),
      boxPublicKey: decodeKey(manifest.coordinator.boxPublicKey, BOX_PUBLIC_KEY_BYTES, 'manifest coordinator boxPublicKey'),
    },
    data: resolveFrom(baseDir, c.data),
    schema: loadSchema(resolveFrom(baseDir, c.schema)),
    identity,
    identityFile,
    enrolled: manifest.sites.map((s) => ({ name: s.name, signingPublicKey: s.signingPublicKey })),
    testFraction: c.testFraction,
    minTrainingRows: c.minTrainingRows,
    seed: c.seed,
    connectTimeoutSeconds: c.connectTimeoutSeconds,
    privacy: c.privacy,
    modelDir: { path: resolveFrom(baseDir, c.modelDir ?? DEFAULT_MODEL_DIR), given: c.modelDir !== undefined },
  };
}
