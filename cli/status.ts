import { text } from '../shared/config/fields.ts';
import { isTerminal } from '../shared/federation/state.ts';
import type { FederationStatus } from '../shared/federation/status.ts';
import { formatTable } from '../shared/report/table.ts';
import { parseFlags } from '../shared/config/flags.ts';
import { InputError } from '../shared/errors.ts';
import { clientHttpToken } from '../shared/net/http-token.ts';

const HELP = `usage: fedcausal status --coordinator URL [--token-file FILE]      one look at the federation
       fedcausal watch --coordinator URL [--token-file FILE]       refresh every 2 s until the federation ends

URL is the coordinator's HTTP address, e.g. http://127.0.0.1:8080. The coordinator answers
only with its token: --token-file names the http-token file of the coordinator's kit (or set
FEDCAUSAL_HTTP_TOKEN).
`;

/** The coordinator's HTTP address, e.g. http://127.0.0.1:8080. */
const STATUS_FLAGS = {
  coordinator: text().refine((u) => URL.canParse(u), { error: 'must be the coordinator HTTP address, e.g. http://127.0.0.1:8080' }),
  'token-file': text().optional(),
};

function render(s: FederationStatus): string {
  const last = s.history.at(-1);
  const why = isTerminal(s.state) && s.stateChange ? ` (${s.stateChange.reason})` : '';
  const head = `federation ${s.federation}: ${s.state}${why}, round ${s.round}/${s.rounds}` +
    (last ? ` | last round ${last.round}: ${last.participants} sites, eval AUROC ${(last.metrics.eval_auroc ?? NaN).toFixed(3)}` : '');
  const rows = s.sites.map((x) => [x.name, x.online ? 'online' : 'offline', x.lastSeen ?? '-', x.roundsCompleted, x.lastError ?? '']);
  return `${head}\n${formatTable(['site', 'state', 'last seen', 'rounds', 'last error'], rows)}\n`;
}

export async function statusCommand(argv: string[], watch: boolean): Promise<number> {
  const flags = parseFlags(argv, STATUS_FLAGS);
  if (flags === 'help') return process.stdout.write(HELP), 0;
  const url = new URL('/api/status', flags.coordinator);
  const token = clientHttpToken(flags['token-file']);
  const headers = token ? { authorization: `Bearer ${token}` } : undefined;
  for (;;) {
    let s: FederationStatus;
    try {
      const res = await fetch(url, { headers });
      if (res.status === 401)
        throw new InputError(`${url}: the coordinator wants its token (--token-file with the http-token file of its kit, or FEDCAUSAL_HTTP_TOKEN)${token ? '; the one given was refused' : ''}`);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      s = (await res.json()) as FederationStatus;
    } catch (e) {
      if (e instanceof InputError) throw e;
      if (watch) {
        process.stdout.write(`coordinator at ${url.origin} not reachable (${(e as Error).message}); stopping\n`);
        return 0;
      }
      throw new Error(`cannot reach the coordinator at ${url}: ${(e as Error).message}`);
    }
    process.stdout.write((watch ? '\x1b[2J\x1b[H' : '') + render(s));
    // A stopped coordinator also goes away (a restart resumes it): nothing more to watch.
    if (!watch || isTerminal(s.state)) return 0;
    await new Promise((r) => setTimeout(r, 2000));
  }
}
