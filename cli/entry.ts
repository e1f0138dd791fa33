import './commands.ts';
import { run } from './main.ts';

/** The process entry: one exit path, exit codes from shared/errors.ts. */
export async function main(): Promise<void> {
  const code = await run(process.argv.slice(2));
  process.exitCode = code;
}
