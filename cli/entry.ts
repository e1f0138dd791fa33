import { VERSION_LINE } from '../shared/version.ts';

/** The process entry: one exit path, exit codes from shared/errors.ts. */
export async function main(): Promise<void> {
  // A reader that stops early (`| head`) is not a failure of ours.
  // Any other failure (a full disk, /dev/full) is exit 1 with one line, not an uncaught error's exit 7.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    process.stderr.write(`fedcausal: cannot write to standard output (${e.message})\n`);
    process.exit(1);
  });
  // A standard error that cannot be written (`2>&1 | head -1`, 2>/dev/full) has no one to tell: its
  // failure must not end the process (exit 7) with the work done.
  process.stderr.on('error', () => {});
  const argv = process.argv.slice(2);
  // Answered before any command module loads (they pull in TensorFlow.js): instant, and
  // the same for every command (`fedcausal site --version`).
  if (argv.includes('--version') || argv[0] === '-V') {
    process.stdout.write(`${VERSION_LINE}\n`);
    return;
  }
  const { run } = await import('./main.ts');
  const code = await run(argv);
  process.exitCode = code;
  exitSoon(code);
}

/** How long a finished command waits for what it left open to close before it exits anyway. */
export const EXIT_GRACE_MS = 2000;

/**
 * Exits with `code` once the event loop is empty, or after `graceMs` whatever is still open: a
 * site that had given up on a coordinator behind a network that drops packets stayed alive two
 * more minutes on a connection attempt its gRPC channel kept (an outside try), and a supervisor
 * waited for it. Standard output and error to files and pipes are written synchronously on Linux.
 */
export function exitSoon(code: number, graceMs = EXIT_GRACE_MS): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), graceMs).unref();
}
