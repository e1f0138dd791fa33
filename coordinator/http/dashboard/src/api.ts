/**
 * Talking to the coordinator: the bearer token and the status poll. The token arrives once
 * in the URL (`#token=...`, which browsers never send to the server), is kept in
 * sessionStorage for this tab, and is removed from the address bar so it is not bookmarked
 * or shared with a screenshot.
 */
import type { FederationStatus } from './types.ts';

const TOKEN_KEY = 'fedcausal.token';

export function takeTokenFromUrl(): void {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!m) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1] ?? ''));
  const rest = location.hash.replace(/(^#|&)token=[^&]*/, '$1').replace(/^#&/, '#');
  history.replaceState(null, '', location.pathname + location.search + (rest === '#' ? '' : rest));
}

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export type Poll =
  | { kind: 'ok'; status: FederationStatus }
  | { kind: 'unauthorized'; hadToken: boolean }
  | { kind: 'unreachable'; error: string };

export async function fetchStatus(timeoutMs: number): Promise<Poll> {
  const t = token();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (t) headers.authorization = `Bearer ${t}`;
  try {
    const r = await fetch('api/status', { cache: 'no-store', headers, signal: AbortSignal.timeout(timeoutMs) });
    if (r.status === 401) return { kind: 'unauthorized', hadToken: t !== null };
    if (!r.ok) return { kind: 'unreachable', error: `HTTP ${r.status}` };
    return { kind: 'ok', status: (await r.json()) as FederationStatus };
  } catch (e) {
    return { kind: 'unreachable', error: (e as Error).message };
  }
}
