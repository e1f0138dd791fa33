/**
 * Crash points for the fault tests: with FEDCAUSAL_CRASH_AT="STATE:ROUND" the coordinator
 * kills itself with SIGKILL when it reaches that point, which is how the tests put a real
 * kill -9 into each phase (waiting, statistics, collecting, aggregating, committed,
 * evaluating) without racing a phase that lasts a millisecond. Unset, it does nothing.
 */
export function crashPoint(state: string, round: number): void {
  const at = process.env.FEDCAUSAL_CRASH_AT;
  if (at !== undefined && at === `${state}:${round}`) process.kill(process.pid, 'SIGKILL');
}
