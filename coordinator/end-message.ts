import type { FederationOutcome } from './round-outcome.ts';

/** Whether a warning or problem is about `site` alone (the prefixes round-outcome.ts and participation.ts word them with). */
function about(site: string, text: string): boolean {
  return text.startsWith(`site "${site}" `) || text.startsWith(`final evaluation missing from ${site}:`);
}

/** Whether `text` names a site of `sites` other than `site` (site names are [a-z0-9_-]: a name is delimited by anything else). */
function namesOther(text: string, site: string, sites: readonly string[]): boolean {
  return sites.some((s) => s !== site && new RegExp(`(^|[^a-z0-9_-])${s}($|[^a-z0-9_-])`).test(text));
}

/** The most items an end message lists one by one: a run with many refused rounds wrote 22 KB lines to the log and 9 KB to each site (an outside try). */
export const END_ITEMS_LISTED = 5;

/** `items` joined, the first END_ITEMS_LISTED of them, then how many more there are and where they are (`rest`). */
export function listed(items: readonly string[], rest: string): string {
  if (items.length <= END_ITEMS_LISTED) return items.join('; ');
  return `${items.slice(0, END_ITEMS_LISTED).join('; ')}; and ${items.length - END_ITEMS_LISTED} more (${rest})`;
}

/**
 * A site's end message: how the run ended, with what is about this site or about no site
 * in particular, and only a count of the rest. Warnings and problems quote other
 * hospitals' failures (a refused update's row counts, why a site went offline), which are
 * for the coordinator's operator, not for every hospital in the federation. `sites`: the
 * federation's sites, so a text that names another is told apart.
 */
export function endMessageFor(site: string, outcome: Pick<FederationOutcome, 'problems' | 'warnings' | 'history'>, sites: readonly string[]): string {
  const rounds = outcome.history.filter((h) => !h.accepted);
  // A round's reason lists every site that failed it: a site reads its own failure, or a reason that names no other site.
  const roundLines = rounds.map((h) => {
    const own = h.failed.find((f) => f.site === site);
    if (own) return `round ${h.round} not accepted (this site failed it: ${own.reason})`;
    return `round ${h.round} not accepted${h.reason && !namesOther(h.reason, site, sites) ? `: ${h.reason}` : ''}`;
  });
  const roundProblems = rounds.map((h) => `round ${h.round} not accepted: `);
  const otherProblems = outcome.problems.filter((p) => !roundProblems.some((prefix) => p.startsWith(prefix)));
  const told = [...otherProblems, ...outcome.warnings].filter((w) => about(site, w) || !namesOther(w, site, sites));
  const others = otherProblems.length + outcome.warnings.length - told.length;
  const ended = outcome.problems.length ? `federation ended incomplete${roundLines.length ? `: ${listed(roundLines, "rounds not accepted, in the coordinator's results")}` : ''}` : 'federation complete';
  const theirs = others > 0 ? `${others} ${outcome.problems.length ? 'problem or warning' : 'warning'}${others === 1 ? '' : 's'} about other sites in the coordinator's results` : '';
  const toldLines = told.map((w) => `${otherProblems.includes(w) ? 'problem' : 'warning'}: ${w}`);
  return [ended, listed(toldLines, "in the coordinator's results"), theirs].filter(Boolean).join('; ');
}

/** A site's end message when the run failed: the reason, unless it names another site (a quorum's shortfall lists who failed and why). */
export function failedMessageFor(site: string, message: string, sites: readonly string[]): string {
  return namesOther(message, site, sites) ? "federation failed: the reason concerns other sites and is in the coordinator's log" : message;
}
