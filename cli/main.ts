import { writeFileSync } from 'node:fs';
import { exitCodeFor, InputError } from '../shared/errors.ts';
import { cliLogger, out } from './io.ts';
import { checkData } from './check-data.ts';
import { incompleteRunError } from './results.ts';
import { parseSimulateArgs, runSimulation, SIMULATE_HELP, writePredictions } from './simulate.ts';

const HELP = `fedcausal: federated training of causally debiased models for hospitals

usage: fedcausal <command> [options]   (every command takes --help)

commands:
  provision --federation FILE --out DIR   make keys, manifest and one startup kit per participant
  coordinator start --config FILE         run the coordinator (gRPC for sites, HTTP dashboard)
  site start --config FILE                run a hospital's site agent
  status --coordinator URL                one look at the federation (URL of the HTTP endpoint)
  watch --coordinator URL                 a live view of the federation's rounds
  check-data --schema FILE --data FILE    validate a data file and print its missingness patterns
  simulate ...                            a whole federation in one process
  synth --out DIR [knobs]                 write a synthetic multi-site cohort with known truth
  demo                                    a real federation of separate processes on loopback

environment: FEDCAUSAL_BACKEND=auto|node-gpu|node|wasm|cpu, FEDCAUSAL_LOG=json|pretty, FEDCAUSAL_LOG_LEVEL
`;

type Command = (argv: string[]) => Promise<number>;


const commands: Record<string, Command> = {
  'check-data': async (argv) => checkData(argv, out),
  simulate: async (argv) => {
    const o = parseSimulateArgs(argv);
    if (o === 'help') return out(SIMULATE_HELP), 0;
    const { results, predictions } = await runSimulation(o, cliLogger());
    const json = JSON.stringify(results, null, 2);
    if (o.out) writeFileSync(o.out, json + '\n');
    else out(json + '\n');
    if (o.predictions) writePredictions(o.predictions, predictions);
    const incomplete = incompleteRunError(results);
    if (incomplete) throw incomplete;
    return 0;
  },
};

/** Registers a subcommand implemented in another module (keeps this file a thin table). */
export function registerCommand(name: string, cmd: Command): void {
  commands[name] = cmd;
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out(HELP);
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  try {
    if (!cmd) throw new InputError(`unknown command "${name}" (see fedcausal --help)`);
    return await cmd(rest);
  } catch (e) {
    const code = exitCodeFor(e);
    process.stderr.write(`fedcausal ${name}: ${(e as Error).message}\n`);
    if (code !== 2 && process.env.FEDCAUSAL_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return code;
  }
}
