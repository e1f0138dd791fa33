import { readInputFile } from '../shared/input-file.ts';
import { loadSiteTable } from '../shared/data/table.ts';
import { InputError } from '../shared/errors.ts';
import { checkReadiness, READINESS_THRESHOLDS, siteSums, type ReadinessReport } from '../shared/readiness/check.ts';
import { parseFederationSummary, type FederationSummary } from '../shared/readiness/summary.ts';
import { formatTable } from '../shared/report/table.ts';
import { loadSiteConfig } from '../site-agent/config.ts';
import { webProxyVariable } from '../site-agent/proxy-route.ts';
import { prepareLocalData } from '../site-agent/local-data.ts';
import { z } from 'zod';
import { text } from '../shared/config/fields.ts';
import { parseFlags } from '../shared/config/flags.ts';
import { clientHttpToken } from '../shared/net/http-token.ts';

const T = READINESS_THRESHOLDS;

export const SITE_CHECK_HELP = `usage: fedcausal site check --config site.yaml [--summary FILE|URL] [--token-file FILE] [--json] [--strict]

Before joining: compares this site's data (its own sums, computed here; nothing is
sent) with the federation's published summary and prints a verdict with reasons:
  not-ready            another schema; a numeric feature shifted by ${T.smdSevere}+ federation
                       SDs or with an SD ratio beyond ${T.sdRatioSevere}x (usually another unit or coding)
  ready-with-warnings  rows in missingness patterns the prior lacks; a feature shifted by
                       ${T.smdWarn}+ SDs or an SD ratio beyond ${T.sdRatioWarn}x; category values the federation never
                       saw; a label rate more than ${T.labelRateWarn * 100} points from the federation's
  ready                none of these
--summary is a summary JSON file or the coordinator's HTTP address (its /api/summary);
without it, the coordinator's HTTP address from the kit's manifest. --json prints the
report as JSON.
Exit codes: 0 ready or ready with warnings (1 with --strict), 1 not ready or the
summary cannot be fetched, 2 bad input (config, data, summary file).
`;

const isUrl = (s: string) => /^https?:\/\//i.test(s);

async function fetchSummary(address: string, token: string | undefined): Promise<{ raw: unknown; where: string }> {
  const url = new URL(address);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/api/summary';
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000), ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });
  } catch (e) {
    // Node's fetch goes direct whatever the proxy variables say (the site agent follows them: proxy-route.ts).
    const proxied = webProxyVariable(process.env);
    const ask = "ask the coordinator's operator for the summary file and pass it with --summary FILE; before a federation's first run there is none: check the data with fedcausal check-data";
    const hint = proxied ? ` (dialled directly: site check does not go through ${proxied}; ${ask})` : ` (its HTTP side is often reachable only from its own host: ${ask})`;
    throw new Error(`cannot reach the coordinator at ${url}: ${(e as Error).message}${hint}`);
  }
  if (res.status === 401)
    throw new InputError(`${url}: the coordinator wants its HTTP token (--token-file FILE or FEDCAUSAL_HTTP_TOKEN, from its operator), or pass the summary as a file with --summary FILE`);
  if (res.status === 404 || res.status === 503)
    throw new Error(`${url}: the coordinator has no summary yet (HTTP ${res.status}: it publishes one after the statistics rounds)`);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  try {
    return { raw: await res.json(), where: String(url) };
  } catch (e) {
    throw new InputError(`${url}: the answer is not JSON (${(e as Error).message})`);
  }
}

async function loadSummary(source: string, token: string | undefined): Promise<{ summary: FederationSummary; where: string }> {
  if (isUrl(source)) {
    const { raw, where } = await fetchSummary(source, token);
    return { summary: parseFederationSummary(raw, where), where };
  }
  const text = readInputFile(source, 'federation summary');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${source}: federation summary is not valid JSON (${(e as Error).message})`);
  }
  return { summary: parseFederationSummary(raw, source), where: source };
}

export function renderReport(site: string, summary: FederationSummary, where: string, r: ReadinessReport): string {
  const head = `site "${site}" against federation "${summary.federation}" (summary: ${where}; ${summary.rows} rows, prior v${summary.prior.version})\n`;
  const shift = r.largestShift ? `largest shift: ${r.largestShift.feature} ${Number(r.largestShift.smd.toPrecision(3))} SDs\n` : '';
  const verdict = `verdict: ${r.verdict}\n`;
  if (r.reasons.length === 0) return `${head}${verdict}${shift}`;
  const rows = r.reasons.map((x) => [x.severity, x.kind, x.subject ?? '-', x.message]);
  return `${head}${verdict}${shift}\n${formatTable(['severity', 'check', 'about', 'reason'], rows)}\n`;
}

/** `fedcausal site check`; returns the exit code (InputError -> 2 is the CLI's). */
export async function siteCheck(argv: string[], out: (s: string) => void): Promise<number> {
  const v = parseFlags(argv, { config: text(), summary: text().optional(), 'token-file': text().optional(), json: z.boolean().default(false), strict: z.boolean().default(false) });
  if (v === 'help') return out(SITE_CHECK_HELP), 0;
  const cfg = loadSiteConfig(v.config);
  const table = loadSiteTable(cfg.schema, cfg.data);
  // The rows a site must have to join (site start's rule, its minTrainingRows); failing it is bad input.
  prepareLocalData(table, {
    testFraction: cfg.testFraction,
    seed: cfg.seed,
    minTrainingRows: cfg.minTrainingRows,
  });
  const { summary, where } = await loadSummary(v.summary ?? cfg.coordinatorHttpAddress, clientHttpToken(v['token-file']));
  if (summary.federation !== cfg.federation)
    throw new InputError(`${where}: summary of federation "${summary.federation}", not "${cfg.federation}" (the site's)`);
  const report = checkReadiness(siteSums(cfg.schema, table), summary);
  if (v.json) out(JSON.stringify({ site: cfg.site, federation: summary.federation, summary: where, ...report }, null, 2) + '\n');
  else out(renderReport(cfg.site, summary, where, report));
  if (report.verdict === 'not-ready') return 1;
  return report.verdict === 'ready-with-warnings' && v.strict ? 1 : 0;
}
