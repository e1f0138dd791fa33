import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkKeyFileMode } from '../crypto/key-file-mode.ts';
import { InputError } from '../errors.ts';

/**
 * The coordinator's HTTP token (INTERFACES.md: every endpoint but /healthz requires
 * `Authorization: Bearer TOKEN`). `provision` writes it into the coordinator's kit, 0600,
 * beside coordinator.yaml; operators pass the file to `status`, `watch` and `site check`.
 */
export const HTTP_TOKEN_FILE = 'http-token';

export function newHttpToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The token of the coordinator kit that holds `configPath`; a kit without one is refused. */
export function loadKitHttpToken(configPath: string): string {
  const path = join(dirname(configPath), HTTP_TOKEN_FILE);
  if (!existsSync(path))
    throw new InputError(
      `${path} is missing: the dashboard, /api/status and /metrics require a token. Write a new one there (openssl rand -hex 32 > ${path}; chmod 600 ${path}) ` +
        'and restart the coordinator, then give it to whoever reads the dashboard or scrapes /metrics (the sites do not use it)',
    );
  return readTokenFile(path);
}

/** A token file: its first line; refused when others may read it, by the key files' check. */
export function readTokenFile(path: string): string {
  checkKeyFileMode(path, 'HTTP token file');
  const token = readFileSync(path, 'utf8').split('\n')[0]!.trim();
  if (token.length < 16) throw new InputError(`${path}: not an HTTP token (expected the line provision wrote)`);
  return token;
}

/** Whether an Authorization header carries `token` (constant time in the token's length). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** The token a client command uses: --token-file, else FEDCAUSAL_HTTP_TOKEN, else none. */
export function clientHttpToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (tokenFile) return readTokenFile(tokenFile);
  const fromEnv = env.FEDCAUSAL_HTTP_TOKEN?.trim();
  return fromEnv ? fromEnv : undefined;
}
