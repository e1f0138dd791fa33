/**
 * The tiny logging interface library code depends on. The concrete logger
 * (winston, JSON lines) is created only at entry points; see shared/logging/winston.ts.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every entry (e.g. { component: 'coordinator' }). */
  child(fields: LogFields): Logger;
}

/** Discards everything: for tests and for library callers that pass no logger. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
