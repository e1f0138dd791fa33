/**
 * What `fedcausal status` and `watch` print from /api/status: a head line, the round being
 * collected (a progress bar: who reported of those asked, and the deadline) and the sites
 * table. Pure functions of the document and the clock, so tests can pin the text.
 */
import { oneLine } from '../shared/text/one-line.ts';
import { sizeText } from '../shared/transport/transfer-progress.ts';
import { isTerminal } from '../shared/federation/state.ts';
import type { FederationStatus, RoundSummary } from '../shared/federation/status.ts';
import { siteProblem, type CurrentRound } from '../shared/federation/dashboard-status.ts';
import { formatTable } from '../shared/report/table.ts';
import { figure, finalInWords, siteAurocText, type FinalEvaluation } from '../shared/federation/final-evaluation.ts';

/** Characters in the progress bar. */
const BAR_WIDTH = 24;

/**
 * "round 3/20", or the final evaluation, which the coordinator runs as round rounds + 1 (as
 * the dashboard shows it); once the run is over, never more rounds than planned.
 */
export function roundText(s: Pick<FederationStatus, 'round' | 'rounds' | 'state'>): string {
  if (s.round > s.rounds && !isTerminal(s.state)) return `final evaluation (${s.rounds} rounds)`;
  return `round ${Math.min(s.round, s.rounds)}/${s.rounds}`;
}


function lastRound(last: RoundSummary | undefined): string {
  if (!last) return '';
  // A refused round left the model as it was: it read like an accepted one (an outside try).
  if (last.accepted === false) return ` | last round ${last.round}: not accepted (${last.reason ?? 'no reason given'})`;
  // Sites score the model they receive before training: round r's figure is the model after r - 1 rounds (an outside try read it as round r's).
  return ` | last round ${last.round}: ${last.participants} sites, AUROC at its start ${figure(last.metrics.eval_auroc)}`;
}

/** The final model's figures, once the final evaluation is in: the one AUROC of the model after the last round. */
export function finalText(f: FinalEvaluation | undefined): string {
  if (!f) return '';
  const per = Object.entries({ ...f.sites, ...f.testSites }).map(([site, e]) => `${site} ${siteAurocText(e, f.siteDecimals)}`);
  const rounded = f.siteDecimals !== undefined ? ` (as each site reported it, to ${f.siteDecimals} decimals)` : '';
  return `final evaluation, ${finalInWords(f)}; per site${rounded}: ${per.join(', ') || 'none'}\n`;
}

/** A site's last problem: its latest round failure (offline, refused update, deadline) where it has one, and its last refused message. */
function lastProblem(s: FederationStatus, x: FederationStatus['sites'][number]): string {
  const refusal = `${x.lastErrorAt ? `${x.lastErrorAt}: ` : ''}${x.lastError ?? ''}`;
  const problem = siteProblem(s.siteDetails?.[x.name]?.lastFailure, s.rounds, x.lastError, refusal, '; last refusal ');
  return problem || (x.leftOut ? `left out of training: ${x.leftOut}` : '');
}

/** "[#########-----]" for done of total. */
export function bar(done: number, total: number, width = BAR_WIDTH): string {
  const filled = total > 0 ? Math.round((Math.min(done, total) / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

function countdown(deadline: string, now: number): string {
  const s = Math.max(0, Math.round((Date.parse(deadline) - now) / 1000));
  if (!Number.isFinite(s)) return '';
  return s === 0 ? ' · deadline passed' : ` · deadline in ${s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`}`;
}

/** The round being collected: what it is, a bar of who has answered, who is still awaited, the deadline. */
export function currentText(c: CurrentRound, rounds: number, now: number): string {
  const what = c.kind === 'fit' ? `training round ${c.round}/${rounds}` : c.kind === 'evaluate' ? 'final evaluation' : `statistics round ${c.stage ?? ''}`.trim();
  const done = c.reported.length + c.failed.length;
  const waiting = c.expected.filter((x) => !c.reported.includes(x) && !c.failed.some((f) => f.site === x));
  // A reason may hold a site's own words: one line, no terminal controls (a coordinator of an earlier build passes them on as sent).
  const failed = c.failed.length ? `, ${c.failed.length} failed (${c.failed.map((f) => oneLine(`${f.site}: ${f.reason}`)).join('; ')})` : '';
  return `${what} ${bar(done, c.expected.length)} ${c.reported.length}/${c.expected.length} reported${failed}` +
    `${waiting.length ? ` · waiting for ${waitingText(c, waiting)}` : ''}${countdown(c.deadline, now)}\n`;
}

/**
 * The sites awaited: those still working first, then, each after a semicolon, those a slow link
 * holds up, with what is on its way ("cleveland, hungary (its result ...)" read as both).
 */
function waitingText(c: CurrentRound, waiting: readonly string[]): string {
  const note = (x: string): string | undefined => {
    const u = c.uploading?.find((v) => v.site === x);
    if (u) return `${x}: its result arriving (${sizeText(u.receivedBytes)} of ${sizeText(u.totalBytes)})`;
    return c.receivingTask?.includes(x) ? `${x}: its task on its way` : undefined;
  };
  const working = waiting.filter((x) => note(x) === undefined);
  return [working.join(', '), ...waiting.flatMap((x) => note(x) ?? [])].filter(Boolean).join('; ');
}

export function renderStatus(s: FederationStatus, now = Date.now()): string {
  // Waiting says for whom too (a round's quorum, or the start): it was only in /api/status.
  const why = (isTerminal(s.state) || s.state === 'waiting-for-sites') && s.stateChange ? ` (${s.stateChange.reason})` : '';
  // "finished" alone read as success for a run that ended incomplete (an outside try).
  const ended = s.outcome && s.outcome !== s.state && s.outcome !== 'complete' ? ` ${s.outcome}` : '';
  const head = `federation ${s.federation}: ${s.state}${ended}${why}, ${roundText(s)}${lastRound(s.history.at(-1))}\n`;
  const current = s.current && !isTerminal(s.state) ? currentText(s.current, s.rounds, now) : '';
  const rows = s.sites.map((x) => [
    x.name,
    `${x.online ? 'online' : 'offline'}${x.leftOut ? ', left out of training' : ''}`,
    x.version ?? '-',
    x.lastSeen ?? '-',
    x.roundsCompleted,
    lastProblem(s, x),
  ]);
  const results = s.results ? `results: ${s.results} (on the coordinator's host)\n` : '';
  return `${head}${current}${finalText(s.final)}${formatTable(['site', 'state', 'version', 'last seen', 'rounds answered', 'last error'], rows)}\n${results}`;
}
