/**
 * A file written in place of a kit file takes that file's mode and, where this process
 * may (root), its owner and group. A hardened install (deploy/systemd/README.md) keeps
 * the kit root:fedcausal 0640 so that the service user can read it: a renewed key left
 * root:root 0600 locks the service out of its own key (EACCES at its next start).
 */
import { chmodSync, chownSync, readFileSync, statSync } from 'node:fs';

export interface FileOwner {
  mode: number;
  uid: number;
  gid: number;
}

export function fileOwner(path: string): FileOwner {
  const s = statSync(path);
  return { mode: s.mode & 0o777, uid: s.uid, gid: s.gid };
}

/** A file left with another owner than the kit file it stands for: the operator is told to chown it. */
export interface OwnerMiss {
  file: string;
  /** "user:group" of the file it replaces, and of the file now. */
  had: string;
  has: string;
  /** Why chown was refused (EPERM). */
  code: string;
}

/**
 * Gives `path` the mode, owner and group of `like`. Where this user may not chown, only
 * the mode is carried over and the miss is returned for the operator to mend.
 * `secret`: a key never opens to others, whatever the file it replaces allowed. `name`:
 * what to call the file, when it is about to be renamed into place.
 */
export function matchOwner(path: string, like: FileOwner, opts: { secret?: boolean; name?: string } = {}): OwnerMiss | undefined {
  chmodSync(path, opts.secret ? like.mode & 0o770 : like.mode);
  if (process.platform === 'win32') return undefined; // no POSIX owners there
  const now = statSync(path);
  if (now.uid === like.uid && now.gid === like.gid) return undefined;
  try {
    chownSync(path, like.uid, like.gid);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    if (code !== 'EPERM' && code !== 'EINVAL') throw err;
    return { file: opts.name ?? path, had: ownerName(like), has: ownerName({ ...like, uid: now.uid, gid: now.gid }), code };
  }
}

/** One line for each owner the misses should have had, with the chown that gives it. */
export function ownerMissLines(misses: OwnerMiss[]): string[] {
  const byOwner = new Map<string, OwnerMiss[]>();
  for (const m of misses) {
    const key = `${m.had} ${m.has} ${m.code}`;
    byOwner.set(key, [...(byOwner.get(key) ?? []), m]);
  }
  return [...byOwner.values()].map((group) => {
    const { had, has, code } = group[0]!;
    const files = group.map((m) => m.file).join(' ');
    return (
      `owner not carried over (this user may not change owners: ${code}): the kit's files are ${had}, these new ones ${has}: ${files}. ` +
      `If the service runs as another user, run as root: chown ${had} ${files}`
    );
  });
}

/** "user:group" by name where /etc/passwd and /etc/group know the ids (what an operator types), else by number. */
function ownerName(o: FileOwner): string {
  return `${nameOf('/etc/passwd', o.uid)}:${nameOf('/etc/group', o.gid)}`;
}

function nameOf(file: string, id: number): string {
  try {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(id));
    return line?.split(':')[0] || String(id);
  } catch {
    return String(id); // no such file (or not readable): the number is still a valid chown argument
  }
}
