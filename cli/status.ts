import { z } from 'zod';
import type { FederationStatus } from '../shared/federation/status.ts';
import { parseFlags } from '../shared/config/flags.ts';
import { InputError } from '../shared/errors.ts';
import { clientHttpToken } from '../shared/net/http-token.ts';
import { renderStatus, roundText } from './status-render.ts';

const HELP = `usage: fedcausal status --coordinator URL [--token-file FILE]      one look at the federation
       fedcausal watch --coordinator URL [--token-file FILE]       refresh every 2 s until the federation ends

URL is the coordinator's HTTP address, e.g. http://127.0.0.1:8080 (http:// is assumed when
no scheme is given). The coordinator answers only with its token: --token-file names the
http-token file of the coordinator's kit (or set FEDCAUSAL_HTTP_TOKEN).

exit: 0 when the answer came (watch: when the federation ended complete), 2 on bad usage or a
refused token, 1 when the coordinator cannot be reached (watch: or stops answering before the
end, or the federation ended incomplete or failed). watch keeps watching a coordinator stopped
on request (a pause: its restart resumes the run) until it answers again; Ctrl-C leaves.
`;

const WATCH_INTERVAL_MS = 2000;
/** watch gives up after this many failed polls in a row (a blip is not the end; a gone coordinator is). */
const WATCH_MAX_MISSES = 3;
/** Looks `watch` waits at its start for a coordinator still starting (its HTTP side not up yet): 15 x 2 s. */
const WATCH_START_LOOKS = 15;

const URL_EXAMPLE = 'e.g. http://127.0.0.1:8080';

/** `127.0.0.1:8080` and `localhost:8080` mean http://...: a bare host:port would otherwise parse as a URL scheme. */
export const coordinatorUrl = () =>
  z.string().transform((raw, ctx) => {
    const t = raw.trim();
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(t) ? t : `http://${t}`;
    const u = URL.canParse(withScheme) ? new URL(withScheme) : undefined;
    if (t && u && (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname) return u;
    ctx.addIssue({ code: 'custom', message: `must be the coordinator's HTTP address (http or https), ${URL_EXAMPLE}`, input: raw });
    return z.NEVER;
  });

const STATUS_FLAGS = {
  coordinator: coordinatorUrl(),
  'token-file': z.string().min(1, { error: 'must be a non-empty string' }).optional(),
};

async function fetchStatus(url: URL, headers: Record<string, string> | undefined, token: string | undefined): Promise<FederationStatus> {
  let res: Response;
  try {
    res = await fetch(url, { headers });
  } catch (e) {
    const cause = (e as Error & { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? cause?.message ?? (e as Error).message;
    // A socket closed without an HTTP answer: most often the gRPC port, which speaks TLS to sites only (an IT try).
    const hint = code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code.startsWith('HPE_') ? ": it gave no HTTP answer; is that the coordinator's HTTP port (coordinator.yaml listen.httpPort, 8080 by default), not its gRPC port?" : '';
    throw new Error(`cannot reach the coordinator at ${url.origin}: ${code}${hint}`);
  }
  if (res.status === 401)
    throw new InputError(`${url}: the coordinator wants its token (--token-file with the http-token file of its kit, or FEDCAUSAL_HTTP_TOKEN)${token ? '; the one given was refused' : ''}`);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as FederationStatus;
}

/**
 * A coordinator gone while watched. After its last training round that is most often the
 * run's end: a coordinator exits then unless listen.httpLingerSeconds keeps its HTTP side
 * up (an outside try read the exit 1 of a finished run as a failure), so say so.
 */
function goneAt(e: Error, last: FederationStatus): Error {
  const at = `it was last seen at ${roundText(last)}, ${last.state}`;
  if (last.round < last.rounds) return new Error(`${e.message} (${at})`);
  return new Error(
    `${e.message} (${at}): a coordinator exits when its run ends, so the run may have finished; its log and the run's results.json say how it ended (coordinator.yaml listen.httpLingerSeconds keeps it answering after the end, so that watch sees it)`,
  );
}

const pause = () => new Promise((r) => setTimeout(r, WATCH_INTERVAL_MS));

export async function statusCommand(argv: string[], watch: boolean): Promise<number> {
  const flags = parseFlags(argv, STATUS_FLAGS);
  if (flags === 'help') return process.stdout.write(HELP), 0;
  const url = new URL('/api/status', flags.coordinator);
  const token = clientHttpToken(flags['token-file']);
  const headers = token ? { authorization: `Bearer ${token}` } : undefined;
  const look = () => fetchStatus(url, headers, token);
  if (!watch) return process.stdout.write(renderStatus(await look())), 0;
  return watchStatus(look);
}

/** `watch`: a screen every WATCH_INTERVAL_MS until the run ends (exit 0 when complete) or the coordinator is gone (an error). */
async function watchStatus(look: () => Promise<FederationStatus>): Promise<number> {
  // Only a terminal is cleared between screens; a pipe or log file gets one block per poll.
  const clear = process.stdout.isTTY ? '\x1b[2J\x1b[H' : '';
  let misses = 0;
  let seen: FederationStatus | undefined;
  for (;;) {
    let s: FederationStatus;
    try {
      s = await look();
      misses = 0;
      seen = s;
    } catch (e) {
      // A coordinator still starting: waited for a while, said once (an outside try started watch beside it and it quit at once).
      if (!seen && !(e instanceof InputError) && ++misses < WATCH_START_LOOKS) {
        if (misses === 1) process.stdout.write(`(${(e as Error).message}; waiting up to ${(WATCH_START_LOOKS * WATCH_INTERVAL_MS) / 1000} s for it to answer)\n`);
        await pause();
        continue;
      }
      // Unreachable since the start, or gone for good while watching: a failure (exit 1).
      if (e instanceof InputError || !seen) throw e;
      misses = missed(e as Error, seen, misses);
      await pause();
      continue;
    }
    process.stdout.write(clear + renderStatus(s));
    if (s.state === 'finished' || s.state === 'failed') return s.state === 'finished' && s.outcome !== 'incomplete' ? 0 : 1;
    await pause();
  }
}

/** A look that failed after `misses` others in a row: said, or the coordinator given up on (thrown); the misses now. */
function missed(e: Error, seen: FederationStatus, misses: number): number {
  // Stopped (on request, or its own disk failed) is a pause: its restart answers again (an outside try lost the view at exit 0).
  if (seen.state === 'stopped') {
    const why = seen.stateChange?.to === 'stopped' ? seen.stateChange.reason : 'on request';
    if (misses === 0) process.stdout.write(`(${e.message}: the coordinator stopped (${why.slice(0, 300)}); its restart resumes the run, watching for it)\n`);
    return misses + 1;
  }
  if (misses + 1 >= WATCH_MAX_MISSES) throw goneAt(e, seen);
  process.stdout.write(`(${e.message}; trying again)\n`);
  return misses + 1;
}
