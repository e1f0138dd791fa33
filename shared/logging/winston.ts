import winston from 'winston';
import type { Logger, LogFields } from '../logger.ts';
import { tolerantStream } from './tolerant-stream.ts';

export interface WinstonOptions {
  level?: string;
  /** 'json' (default, one object per line) or 'pretty' for people at a terminal. */
  format?: 'json' | 'pretty';
  /** Log to stderr so stdout stays free for results and tables. */
  stream?: NodeJS.WritableStream;
}

function wrap(w: winston.Logger): Logger {
  return {
    debug: (m: string, f?: LogFields) => void w.debug(m, f),
    info: (m: string, f?: LogFields) => void w.info(m, f),
    warn: (m: string, f?: LogFields) => void w.warn(m, f),
    error: (m: string, f?: LogFields) => void w.error(m, f),
    child: (f: LogFields) => wrap(w.child(f)),
  };
}

/** Creates the process's structured logger. Only entry points call this. */
export function createWinstonLogger(opts: WinstonOptions = {}): Logger {
  const format =
    opts.format === 'pretty'
      ? winston.format.combine(
          winston.format.timestamp({ format: 'HH:mm:ss' }),
          winston.format.printf(({ timestamp, level, message, ...rest }) => {
            const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
            return `${String(timestamp)} ${level} ${String(message)}${extra}`;
          }),
        )
      : winston.format.combine(winston.format.timestamp(), winston.format.json());
  const w = winston.createLogger({
    level: opts.level ?? 'info',
    format,
    transports: [new winston.transports.Stream({ stream: tolerantStream(opts.stream ?? process.stderr) })],
  });
  return wrap(w);
}
