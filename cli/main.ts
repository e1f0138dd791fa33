import { closestField } from '../shared/config/issues.ts';
import { exitCodeFor, InputError } from '../shared/errors.ts';
import { COMMANDS } from './commands.ts';
/** Not io.ts's: that module loads the logger (winston), which --help must not pay for. */
const out = (s: string): void => void process.stdout.write(s);

/** The summaries' column; a longer usage still keeps two spaces before its summary. */
const USAGE_WIDTH = 38;

const HELP = `fedcausal: federated training of causally debiased models for hospitals

usage: fedcausal <command> [options]   (every command takes --help)

commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.usage.padEnd(USAGE_WIDTH)}  ${c.summary}`)
  .join('\n')}

environment: FEDCAUSAL_BACKEND=auto|node-gpu|node|wasm|cpu, FEDCAUSAL_LOG=json|pretty, FEDCAUSAL_LOG_LEVEL
`;

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out(HELP);
    return name ? 0 : 2;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  try {
    if (!cmd) {
      const guess = closestField(name, Object.keys(COMMANDS));
      throw new InputError(`unknown command "${name}"${guess ? ` (did you mean "${guess}"?)` : ''} (see fedcausal --help)`);
    }
    return await cmd.run(rest);
  } catch (e) {
    const code = exitCodeFor(e);
    process.stderr.write(`fedcausal ${name}: ${(e as Error).message}\n`);
    if (code !== 2 && process.env.FEDCAUSAL_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return code;
  }
}
