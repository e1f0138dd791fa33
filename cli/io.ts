import type { Logger } from '../shared/logger.ts';
import { createWinstonLogger } from '../shared/logging/winston.ts';

/** Results and tables go to stdout; logs go to stderr. */
export const out = (s: string): void => void process.stdout.write(s);

/**
 * The process logger, from the environment: FEDCAUSAL_LOG=json|pretty (default: pretty
 * on a terminal, JSON otherwise) and FEDCAUSAL_LOG_LEVEL (default info).
 */
export function cliLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  const pretty = env.FEDCAUSAL_LOG === 'pretty' || (env.FEDCAUSAL_LOG !== 'json' && process.stderr.isTTY);
  return createWinstonLogger({ format: pretty ? 'pretty' : 'json', level: env.FEDCAUSAL_LOG_LEVEL ?? 'info' });
}
