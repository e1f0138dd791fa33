import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PROTOCOL_VERSION } from './protocol/messages.ts';
import { packagePath, RUNS_COMPILED } from './package-root.ts';

/** fedcausal's version, from package.json (results files and `--version` carry it). */
export const FEDCAUSAL_VERSION: string = (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;

/** Where `npm run build` writes the commit an installed package was built from. */
export const BUILD_INFO = ['dist', 'build-info.json'] as const;

/**
 * The commit this build was made from (7 hex digits), where it is known: dist/build-info.json
 * in an installed package, the checkout's .git otherwise. Every build said "0.1.0", so an
 * upgrade's refusal read "0.1.0 ... 0.1.0: install one release" and a mixed network could not
 * be seen in status (an outside try).
 */
export const FEDCAUSAL_BUILD: string | undefined = readBuild();

/** What a person or a peer is told: `0.1.0+f74d3d9`, or the version alone where the commit is not known. */
export const FEDCAUSAL_BUILD_VERSION = FEDCAUSAL_BUILD ? `${FEDCAUSAL_VERSION}+${FEDCAUSAL_BUILD}` : FEDCAUSAL_VERSION;

/** `fedcausal --version`'s line. */
export const VERSION_LINE = `fedcausal ${FEDCAUSAL_VERSION} (${FEDCAUSAL_BUILD ? `build ${FEDCAUSAL_BUILD}, ` : ''}protocol ${PROTOCOL_VERSION})`;

function readBuild(): string | undefined {
  try {
    const info = packagePath(...BUILD_INFO);
    const built = () => (existsSync(info) ? short((JSON.parse(readFileSync(info, 'utf8')) as { commit?: unknown }).commit) : undefined);
    // Compiled code names the commit it was built from; a checkout run through tsx its own HEAD (a dist/ it built earlier may be behind it).
    if (RUNS_COMPILED) return built() ?? gitCommit(packagePath('.git'));
    return gitCommit(packagePath('.git')) ?? built();
  } catch {
    return undefined;
  }
}

/** A function, not a const: FEDCAUSAL_BUILD is computed above, before a const here would exist. */
function short(c: unknown): string | undefined {
  return typeof c === 'string' && /^[0-9a-f]{7,64}$/.test(c) ? c.slice(0, 7) : undefined;
}

/**
 * The commit a checkout's HEAD names, read from its files (no git process): a branch's ref, a
 * packed ref, or a detached hash. `.git` may be a file (`gitdir: ...`, a worktree), whose
 * branch refs live in the main repository (its `commondir`).
 */
export function gitCommit(dotGit: string): string | undefined {
  if (!existsSync(dotGit)) return undefined;
  const gitDir = statSync(dotGit).isFile() ? resolve(dirname(dotGit), /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1]?.trim() ?? '') : dotGit;
  if (!existsSync(join(gitDir, 'HEAD'))) return undefined;
  const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
  const ref = /^ref: (.+)$/.exec(head)?.[1];
  if (!ref) return short(head);
  const common = existsSync(join(gitDir, 'commondir')) ? resolve(gitDir, readFileSync(join(gitDir, 'commondir'), 'utf8').trim()) : gitDir;
  for (const dir of [gitDir, common]) if (existsSync(join(dir, ref))) return short(readFileSync(join(dir, ref), 'utf8').trim());
  const packed = join(common, 'packed-refs');
  if (!existsSync(packed)) return undefined;
  return short(readFileSync(packed, 'utf8').split('\n').find((l) => l.endsWith(` ${ref}`))?.split(' ')[0]);
}
