/**
 * What keeps this process from a file it was refused (EACCES, EPERM): its uid, and the first
 * folder on the path it may not enter, or the file's owner and mode. The container images run
 * as uid 999 while a kit is provisioned 0600/0700 for its operator; the bare "permission
 * denied" did not say whose the file is or which uid needs it.
 */
import { statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface ProcessIds {
  uid: number;
  gid: number;
  groups: readonly number[];
}

const FIX =
  ': make it readable by that uid (for instance chown -R the folder to it, modes kept) or run as its owner; ' +
  'the container images run as uid 999 (docs/deploy-site.md and docs/deploy-coordinator.md, "Container")';

/** "; this process runs as uid ..." for a refused read, else "" (other errors, or no POSIX ids). */
export function accessHint(path: string, err: unknown, ids: ProcessIds | undefined = currentIds()): string {
  const code = (err as { code?: unknown } | null)?.code;
  if ((code !== 'EACCES' && code !== 'EPERM') || !ids) return '';
  const who = `this process runs as uid ${ids.uid}, gid ${ids.gid}`;
  const file = resolve(path);
  const folders: string[] = [];
  for (let d = dirname(file); ; d = dirname(d)) {
    folders.unshift(d);
    if (dirname(d) === d) break;
  }
  // The outermost folder it cannot enter is the one to fix first: nothing below it is reachable.
  for (const dir of folders) {
    const st = tryStat(dir);
    if (!st) break;
    if (!allows(st, ids, 0o1)) return `; ${who}, which may not enter the folder ${dir} (${owner(st)})${FIX}`;
  }
  const st = tryStat(file);
  return st ? `; ${who}, and the file is ${owner(st)}${FIX}` : `; ${who}${FIX}`;
}

function currentIds(): ProcessIds | undefined {
  if (typeof process.getuid !== 'function' || typeof process.getgid !== 'function') return undefined;
  return { uid: process.getuid(), gid: process.getgid(), groups: process.getgroups?.() ?? [] };
}

/** Whether the owner, group or other bits (whichever apply to these ids) grant `bit` (1: search). */
function allows(st: Stats, ids: ProcessIds, bit: number): boolean {
  if (ids.uid === 0) return true;
  if (st.uid === ids.uid) return ((st.mode >> 6) & bit) !== 0;
  if (st.gid === ids.gid || ids.groups.includes(st.gid)) return ((st.mode >> 3) & bit) !== 0;
  return (st.mode & bit) !== 0;
}

function owner(st: Stats): string {
  return `owner uid ${st.uid}, gid ${st.gid}, mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

function tryStat(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
