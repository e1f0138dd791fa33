/**
 * Secret key files (identity.json, tls/*.key.pem) must not be open to "others":
 * a key any local account can read is a key anyone on the host can use. The check
 * runs before the file is read, and its message says how to fix the mode.
 */
import { statSync } from 'node:fs';
import { InputError } from '../errors.ts';
import { cannotRead, readKitText } from '../input-file.ts';

/** Throws an InputError naming the file, its mode and the chmod that fixes it, when others have any access. */
export function checkKeyFileMode(path: string, what = 'key file'): void {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch (err) {
    // A secret file gone: it exists nowhere else, so a backup or new keys are the only ways back.
    if ((err as { code?: string }).code === 'ENOENT') throw new InputError(`${what} ${path} is missing: ${missingAdvice(what)}`, { cause: err });
    throw cannotRead(path, err, what);
  }
  // Windows has no POSIX modes (stat reports 0o666): nothing meaningful to check there.
  if (process.platform === 'win32') return;
  if ((mode & 0o007) !== 0)
    throw new InputError(
      `${what} ${path} has mode ${mode.toString(8).padStart(4, '0')}, which lets other users of this host access it; ` +
        `refusing to load it. Fix it with: chmod 600 ${path}`,
    );
}

/** A private key PEM (tls/*.key.pem), after the mode check. */
export function readKeyPem(path: string, what = 'TLS private key'): string {
  checkKeyFileMode(path, what);
  return readKitText(path, what);
}

/** What brings a missing secret file back: a token can be written anew; a key exists nowhere else. */
function missingAdvice(what: string): string {
  if (/token/i.test(what)) return "pass the coordinator kit's http-token (beside coordinator.yaml; its operator has it)";
  return 'put it back beside the config from a backup; no one else holds a copy, so without one the federation operator must issue new keys';
}
