/**
 * Fault points for the fault tests: with FEDCAUSAL_CRASH_AT="POINT:ROUND" a coordinator or
 * site kills itself with SIGKILL when it reaches that point, which is how the tests put a
 * real kill -9 into each phase (waiting, statistics, collecting, aggregating, committed,
 * evaluating; at a site: on a task, after its answer) without racing a phase that lasts a
 * millisecond. "POINT:ROUND:SIGTERM" sends itself a SIGTERM there instead: a requested
 * stop arriving in that phase. Unset, it does nothing.
 */
export function crashPoint(point: string, round: number): void {
  const at = process.env.FEDCAUSAL_CRASH_AT;
  if (at === undefined) return;
  if (at === `${point}:${round}`) process.kill(process.pid, 'SIGKILL');
  else if (at === `${point}:${round}:SIGTERM`) {
    // A line to time the stop from (stderr writes to a pipe are synchronous).
    process.stderr.write(JSON.stringify({ level: 'warn', message: 'fault point: SIGTERM', point, round, timestamp: new Date().toISOString() }) + '\n');
    process.kill(process.pid, 'SIGTERM');
  }
}
