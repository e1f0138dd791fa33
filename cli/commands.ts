// The one table of subcommands: name, help line and handler. main.ts dispatches on it.
// Only names and help lines live here; what a command does loads when it runs (handlers.ts),
// so `fedcausal --help` loads no zod, winston, gRPC or TensorFlow.js.

export interface Command {
  /** Its line in `fedcausal --help`: usage, then what it does. */
  usage: string;
  summary: string;
  run: (argv: string[]) => Promise<number>;
}

const lazy = (name: string) => async (argv: string[]): Promise<number> => (await import('./handlers.ts')).HANDLERS[name]!(argv);

export const COMMANDS: Record<string, Command> = {
  provision: { usage: 'provision --federation FILE --out DIR | add-site | revoke-site | renew-site', summary: 'make keys, manifest and one startup kit per participant', run: lazy('provision') },
  coordinator: { usage: 'coordinator start --config FILE', summary: 'run the coordinator (gRPC for sites, HTTP dashboard)', run: lazy('coordinator') },
  site: { usage: 'site start|check|renew-request|renew-install --config FILE', summary: "run a hospital's site agent, check its data against the federation, or renew its TLS key", run: lazy('site') },
  status: { usage: 'status --coordinator URL', summary: 'one look at the federation (URL of the HTTP endpoint)', run: lazy('status') },
  watch: { usage: 'watch --coordinator URL', summary: "a live view of the federation's rounds", run: lazy('watch') },
  'check-data': { usage: 'check-data --schema FILE --data FILE', summary: 'validate a data file and print its missingness patterns', run: lazy('check-data') },
  predict: { usage: 'predict --model FILE --data FILE', summary: "score a hospital's rows with a federation's saved model", run: lazy('predict') },
  simulate: { usage: 'simulate ...', summary: 'a whole federation in one process', run: lazy('simulate') },
  synth: { usage: 'synth --out DIR [knobs]', summary: 'write a synthetic multi-site cohort with known truth', run: lazy('synth') },
  demo: { usage: 'demo', summary: 'a real federation of separate processes on loopback', run: lazy('demo') },
};
