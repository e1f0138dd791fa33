// Wires the subcommands implemented outside cli/main.ts, and the model variants.
// (model variants register in shared/model/factory.ts)
import { startCoordinator } from '../coordinator/main.ts';
import { InputError } from '../shared/errors.ts';
import { cliLogger as logger, out } from './io.ts';
import { SYNTH_KNOBS, compileSynthOptions, synthKnobsHelp } from '../shared/synth/options.ts';
import { writeCohort } from '../shared/synth/write.ts';
import { startSite } from '../site-agent/main.ts';
import { parseFlags } from './args.ts';
import { DEMO_HELP, runDemo } from './demo.ts';
import { registerCommand } from './main.ts';
import { provisionFederation } from './provision.ts';
import { buildResults, incompleteRunError } from './results.ts';
import { statusCommand } from './status.ts';


/** Ends the process's work on SIGINT/SIGTERM instead of dying mid-write. */
function abortOnSignals(): AbortSignal {
  const ac = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => ac.abort());
  return ac.signal;
}

function configCommand(role: 'coordinator' | 'site', help: string, start: (config: string) => Promise<void>) {
  return async (argv: string[]) => {
    const [verb, ...rest] = argv;
    if (verb === '--help' || verb === '-h' || verb === undefined) return out(help), verb ? 0 : 2;
    if (verb !== 'start') throw new InputError(`${role}: unknown verb "${verb}" (expected "start")`);
    const { values } = parseFlags(rest, { config: { type: 'string' } }, `${role} start`);
    if (values.help) return out(help), 0;
    if (!values.config) throw new InputError(`${role} start: --config FILE is required`);
    await start(values.config);
    return 0;
  };
}

registerCommand(
  'coordinator',
  configCommand(
    'coordinator',
    `usage: fedcausal coordinator start --config coordinator.yaml\n\nRuns the coordinator: gRPC for sites, HTTP for the dashboard (/), /metrics, /healthz and\n/api/status. Writes results.json and metrics.svg under runDir when the federation ends.\n`,
    async (config) => {
      const signal = abortOnSignals();
      const started = await startCoordinator(config, logger().child({ component: 'coordinator' }), buildResults, signal).catch((e: Error) => {
        // SIGTERM / SIGINT asked for the stop: that is a clean exit, not a failure.
        if (signal.aborted) return undefined;
        throw e;
      });
      if (!started) return out('coordinator stopped on request\n');
      const { report, outcome } = started;
      out(`results: ${report.results}\nplot: ${report.plot}\n`);
      const incomplete = incompleteRunError(buildResults(outcome));
      if (incomplete) throw incomplete;
    },
  ),
);

registerCommand(
  'site',
  configCommand(
    'site',
    `usage: fedcausal site start --config site.yaml\n\nRuns a hospital's site agent: validates its data, joins the federation with its enrolled\nkey and trains locally each round. Only weights, counts, sums and metrics leave the site.\n`,
    async (config) => {
      const msg = await startSite(config, logger(), abortOnSignals());
      out(`site finished: ${msg}\n`);
    },
  ),
);

registerCommand('provision', async (argv) => {
  const { values } = parseFlags(argv, { federation: { type: 'string' }, out: { type: 'string' } }, 'provision');
  if (values.help)
    return out('usage: fedcausal provision --federation federation.yaml --out DIR\n\nMakes the federation root key, coordinator and site keys, the signed manifest and one\nstartup kit per participant (DIR/coordinator, DIR/sites/NAME), each with a start.sh.\n'), 0;
  if (!values.federation || !values.out) throw new InputError('provision: --federation FILE and --out DIR are required');
  const r = await provisionFederation(values.federation, values.out, logger());
  out(`federation "${r.federation}" provisioned in ${r.outDir}\n  coordinator kit: ${r.coordinatorKit}\n${r.siteKits.map((s) => `  site kit ${s.name}: ${s.dir}`).join('\n')}\n`);
  return 0;
});

registerCommand('synth', async (argv) => {
  const options = Object.fromEntries(SYNTH_KNOBS.map((k) => [k.flag, { type: 'string' as const }]));
  const { values } = parseFlags(argv, { ...options, out: { type: 'string' } }, 'synth');
  if (values.help)
    return out(`usage: fedcausal synth --out DIR [knobs]\n\nWrites a synthetic multi-site cohort from a structural causal model: DIR/<site>.csv,\nDIR/schema.json and DIR/truth.json (causal and spurious features, the held-out site).\n\nknobs:\n${synthKnobsHelp()}\n`), 0;
  const { out: dir, help: _h, ...knobs } = values as Record<string, string | undefined>;
  if (!dir) throw new InputError('synth: --out DIR is required');
  const { paths } = await writeCohort(dir, compileSynthOptions(knobs));
  out(`wrote ${paths.length} files to ${dir}\n`);
  return 0;
});

registerCommand('status', (argv) => statusCommand(argv, false));
registerCommand('watch', (argv) => statusCommand(argv, true));
registerCommand('demo', async (argv) => {
  const { values } = parseFlags(argv, { rounds: { type: 'string' }, model: { type: 'string' }, 'run-dir': { type: 'string' } }, 'demo');
  if (values.help) return out(DEMO_HELP), 0;
  return runDemo({ rounds: values.rounds, model: values.model, runDir: values['run-dir'] }, out);
});
