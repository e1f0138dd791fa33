import type { Logger } from '../../shared/logger.ts';

/**
 * Keeps the process (and so the HTTP server: dashboard, /api/status) up for `seconds`
 * after a run that finished or failed (not one stopped on request), so an operator's open dashboard shows "run finished" with the
 * final status instead of a dead page; gRPC serves as long, so a site that joins meanwhile is
 * told how the federation ended. A stop request (SIGTERM/SIGINT) ends the wait at once.
 */
export async function lingerHttp(seconds: number, state: string, signal: AbortSignal | undefined, log: Logger): Promise<void> {
  // A failed run too: exiting at once, its failure never reached status, watch, the dashboard or Prometheus (an outside try).
  if (!(seconds > 0) || (state !== 'finished' && state !== 'failed') || signal?.aborted) return;
  log.info(`run ${state}; gRPC and HTTP keep serving`, { seconds, why: `the dashboard shows the ${state} run, and a site that rejoins is told how it ended` });
  await new Promise<void>((done) => {
    const t = setTimeout(finish, seconds * 1000);
    function finish() {
      clearTimeout(t);
      signal?.removeEventListener('abort', finish);
      done();
    }
    signal?.addEventListener('abort', finish, { once: true });
  });
}
