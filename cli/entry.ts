import { run } from './main.ts';

/** The process entry: one exit path, exit codes from shared/errors.ts. */
export async function main(): Promise<void> {
  // A reader that stops early (`| head`) is not a failure of ours.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const code = await run(process.argv.slice(2));
  process.exitCode = code;
}
