import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding fedcausal's package.json. The same code runs from the checkout
 * (shared/x.ts, through tsx) and compiled (dist/shared/x.js, in an installed package),
 * so paths to proto/ and package.json are found by walking up, not by a fixed depth.
 */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'fedcausal') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`fedcausal's package.json was not found above ${fileURLToPath(import.meta.url)}: the installation is incomplete`);
    dir = up;
  }
}

export const PACKAGE_ROOT: string = findPackageRoot();

/** A path inside the installed package (proto/, package.json, bin/). */
export function packagePath(...parts: string[]): string {
  return join(PACKAGE_ROOT, ...parts);
}

/** True when this code runs compiled from dist/ (an installed package), not through tsx. */
export const RUNS_COMPILED: boolean = import.meta.url.endsWith('.js');
