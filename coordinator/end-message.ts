import type { FederationOutcome } from './round-outcome.ts';

/** Whether a warning or problem is about `site` alone (the prefixes round-outcome.ts and participation.ts word them with). */
function about(site: string, text: string): boolean {
  return text.startsWith(`site "${site}" `) || text.startsWith(`final evaluation missing from ${site}:`);
}

/**
 * A site's end message: how the run ended, with what is about this site, and only a
 * count of the rest. Warnings and problems quote other hospitals' failures (a refused
 * update's row counts, why a site went offline), which are for the coordinator's
 * operator, not for every hospital in the federation.
 */
export function endMessageFor(site: string, outcome: Pick<FederationOutcome, 'problems' | 'warnings' | 'history'>): string {
  const rounds = outcome.history.filter((h) => !h.accepted);
  // A round's reason lists every site that failed it: a site reads its own failure only.
  const roundLines = rounds.map((h) => {
    const own = h.failed.find((f) => f.site === site);
    return `round ${h.round} not accepted${own ? ` (this site failed it: ${own.reason})` : ''}`;
  });
  const roundProblems = new Set(rounds.map((h) => `round ${h.round} not accepted: `));
  const otherProblems = outcome.problems.filter((p) => ![...roundProblems].some((prefix) => p.startsWith(prefix)));
  const mine = [...otherProblems, ...outcome.warnings].filter((w) => about(site, w));
  const others = otherProblems.length + outcome.warnings.length - mine.length;
  const ended = outcome.problems.length ? `federation ended incomplete${roundLines.length ? `: ${roundLines.join('; ')}` : ''}` : 'federation complete';
  const theirs = others > 0 ? `${others} ${outcome.problems.length ? 'problem or warning' : 'warning'}${others === 1 ? '' : 's'} about other sites in the coordinator's results` : '';
  return [ended, ...mine.map((w) => `${otherProblems.includes(w) ? 'problem' : 'warning'}: ${w}`), theirs].filter(Boolean).join('; ');
}
