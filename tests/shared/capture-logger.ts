import type { LogFields, Logger } from '../../shared/logger.ts';

/** A logger that keeps its warnings (message and fields, any child): for tests that check what a run says. */
export function captureWarnings(): { log: Logger; warnings: string[]; fields: LogFields[] } {
  const warnings: string[] = [];
  const fields: LogFields[] = [];
  const log: Logger = { debug() {}, info() {}, warn: (m, f) => void (warnings.push(m), fields.push(f ?? {})), error() {}, child: () => log };
  return { log, warnings, fields };
}
