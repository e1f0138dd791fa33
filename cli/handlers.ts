// What each subcommand does when it runs (commands.ts holds the table: names and help lines).
// Loaded only when a command runs: `fedcausal --help` must not pay for zod, winston and the rest.
import { basename, join } from 'node:path';
import { z } from 'zod';
import { text } from '../shared/config/fields.ts';
import { InputError } from '../shared/errors.ts';
import { parseFlags } from '../shared/config/flags.ts';
import { cliLogger as logger, out, writeStdout } from './io.ts';
import type { BundleInput } from '../shared/model/bundle.ts';
// Each command loads its implementation when it runs (dynamic imports below): the roles pull
// in TensorFlow.js, gRPC and SQLite, which no other command must pay for.

/** Ends the process's work on SIGINT/SIGTERM instead of dying mid-write. */
function abortOnSignals(): AbortSignal {
  const ac = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => ac.abort());
  return ac.signal;
}

const CONFIG_FLAGS = { config: text() };

function configCommand(role: 'coordinator' | 'site', help: string, start: (config: string) => Promise<void>) {
  return async (argv: string[]) => {
    const [verb, ...rest] = argv;
    if (verb === '--help' || verb === '-h' || verb === undefined) return out(help), verb ? 0 : 2;
    if (role === 'site' && verb === 'check') return (await import('./site-check.ts')).siteCheck(rest, out);
    if (role === 'site' && (verb === 'renew-request' || verb === 'renew-install')) return (await import('./site-renew.ts')).siteRenewVerb(verb, rest, out);
    if (verb !== 'start') throw new InputError(`${role}: unknown verb "${verb}" (expected ${role === 'site' ? '"start", "check", "renew-request" or "renew-install"' : '"start"'})`);
    const flags = parseFlags(rest, CONFIG_FLAGS);
    if (flags === 'help') return out(help), 0;
    await start(flags.config);
    return 0;
  };
}

const COORDINATOR_HELP = `usage: fedcausal coordinator start --config coordinator.yaml\n\nRuns the coordinator: gRPC for sites, HTTP for the dashboard (/), /metrics, /healthz and\n/api/status. Writes results.json and metrics.svg under runDir when the federation ends.\n`;
const SITE_HELP = `usage: fedcausal site start --config site.yaml\n       fedcausal site check --config site.yaml [--summary FILE|URL] [--json] [--strict]\n       fedcausal site renew-request --config site.yaml [--out FILE] [--force]\n       fedcausal site renew-install --config site.yaml --cert FILE\n\nstart runs a hospital's site agent: validates its data, joins the federation with its enrolled\nkey and trains locally each round. Only weights, counts, sums and metrics leave the site.\nrenew-request and renew-install renew its TLS key and certificate; the key never leaves\nthe site (--help for each).\n`;
const PROVISION_HELP = 'usage: fedcausal provision --federation federation.yaml --out DIR\n       fedcausal provision add-site|revoke-site|renew-site ... (--help for each)\n\nMakes the federation root key, coordinator and site keys, the signed manifest and one\nstartup kit per participant (DIR/coordinator, DIR/sites/NAME), each with a start.sh.\nadd-site and revoke-site change who belongs later, re-keying nobody else (docs/security.md);\nrenew-site certifies the new TLS key of a site from its CSR (site renew-request).\n';
const synthHelp = (synthKnobsHelp: () => string) =>
  `usage: fedcausal synth --out DIR [knobs]\n\nWrites a synthetic multi-site cohort from a structural causal model: DIR/<site>.csv,\nDIR/schema.json and DIR/truth.json (causal and spurious features, the held-out site).\n\nknobs:\n${synthKnobsHelp()}\n`;

/** simulate --save-models: each training site's model, of a complete run only, as a deployed site saves it. */
async function saveSimulatedModels(dir: string, models: BundleInput[], complete: boolean): Promise<string> {
  if (!complete) return 'models: none saved, the run is incomplete (as a deployed site saves none then)\n';
  const { fileNamePart, saveModelFile } = await import('../shared/model/save.ts');
  return models.map((m) => `model of ${m.site}: ${saveModelFile(join(dir, `${fileNamePart(m.site!)}.model.json`), m)}\n`).join('');
}

function simulateProgress(r: { round: number; rounds: number; participants: number; metrics: Record<string, number> }): void {
  const auroc = r.metrics.eval_auroc;
  out(`round ${r.round}/${r.rounds}: ${r.participants} sites${typeof auroc === 'number' && Number.isFinite(auroc) ? `, AUROC at its start ${auroc.toFixed(3)}` : ''}\n`);
}

export const HANDLERS: Record<string, (argv: string[]) => Promise<number>> = {
  provision: async (argv) => {
    const verb = argv[0];
    if (verb === 'add-site' || verb === 'revoke-site' || verb === 'renew-site') return (await import('./provision-commands.ts')).provisionVerb(verb, argv.slice(1), out, logger());
    const flags = parseFlags(argv, { federation: text(), out: text() });
    if (flags === 'help') return out(PROVISION_HELP), 0;
    const { provisionFederation, secureAggregationLine } = await import('./provision.ts');
    const r = await provisionFederation(flags.federation, flags.out, logger());
    out(`federation "${r.federation}" provisioned in ${r.outDir}\n  coordinator kit: ${r.coordinatorKit}\n${r.siteKits.map((s) => `  site kit ${s.name}: ${s.dir}`).join('\n')}\n  ${secureAggregationLine(r.secureAggregation)}\n`);
    return 0;
  },
  coordinator: configCommand('coordinator', COORDINATOR_HELP, async (config) => {
    const [{ startCoordinator }, { buildResults, incompleteRunError }] = await Promise.all([import('../coordinator/main.ts'), import('./results.ts')]);
    const signal = abortOnSignals();
    // Said as soon as the report is written, not after the HTTP side's linger.
    const said = (report: { results: string; plot: string; scoring?: string }) =>
      out(`results: ${report.results}\nplot: ${report.plot}\n${report.scoring ? `model: ${report.scoring} (score rows with: fedcausal predict --model ${report.scoring} --data FILE.csv)\n` : ''}`);
    const started = await startCoordinator(config, logger().child({ component: 'coordinator' }), buildResults, signal, (r) => void said(r)).catch((e: Error) => {
      // SIGTERM / SIGINT asked for the stop: that is a clean exit, not a failure.
      if (signal.aborted) return undefined;
      throw e;
    });
    if (!started) return out('coordinator stopped on request\n');
    const { outcome } = started;
    const incomplete = incompleteRunError(buildResults(outcome));
    if (incomplete) throw incomplete;
    }),
  site: configCommand('site', SITE_HELP, async (config) => {
    const { startSite } = await import('../site-agent/main.ts');
    const msg = await startSite(config, logger(), abortOnSignals());
    out(`site finished: ${msg}\n`);
    }),
  status: async (argv) => (await import('./status.ts')).statusCommand(argv, false),
  watch: async (argv) => (await import('./status.ts')).statusCommand(argv, true),
  'check-data': async (argv) => (await import('./check-data.ts')).checkData(argv, out),
  // Its own lines say what it did; the log (the backend loaded) only where something is wrong.
  predict: async (argv) => (await import('./predict.ts')).predictCommand(argv, writeStdout, (t) => void process.stderr.write(t), logger(process.env, 'warn')),
  simulate: async (argv) => {
    const [{ parseSimulateArgs, SIMULATE_HELP }, { runSimulation, writePredictions }, { incompleteRunError }] = await Promise.all([import('./simulate-args.ts'), import('./simulate.ts'), import('./results.ts')]);
    const o = parseSimulateArgs(argv);
    if (o === 'help') return out(SIMULATE_HELP), 0;
    // Where the results go is checked before training, not found unwritable at the end.
    const { checkOutputFile, writeFileWhole } = await import('../shared/output-path.ts');
    if (o.out) checkOutputFile(o.out, '--out');
    if (o.predictions) checkOutputFile(o.predictions, '--predictions');
    const { prepareOutputDir } = await import('../shared/output-path.ts');
    if (o.saveModels) prepareOutputDir(o.saveModels, '--save-models');
    // With --out, stdout is free for progress; without it, stdout is the results JSON alone.
    const progress = o.out ? simulateProgress : undefined;
    const { results, predictions, models } = await runSimulation(o, logger(), progress);
    const json = JSON.stringify(results, null, 2);
    // Each site's row counts and figures: its owner's alone (0600), as the coordinator's run report is.
    if (o.out) writeFileWhole(o.out, json + '\n', 0o600);
    else out(json + '\n');
    if (o.predictions) writePredictions(o.predictions, predictions);
    const say = o.out ? out : (t: string) => process.stderr.write(t);
    // The final model's figure after the rounds' "AUROC at its start" (an outside try found it only in the file).
    say((await import('./status-render.ts')).finalText({ ...results.final, sites: results.sites, testSites: results.testSites }));
    if (o.out) out(`results: ${o.out}\n`);
    if (o.predictions) say(`predictions: ${o.predictions}\n`);
    if (o.saveModels) say(await saveSimulatedModels(o.saveModels, models, results.complete));
    // The results' warnings in plain words at the end, not only among the JSON log lines.
    for (const w of results.warnings) say(`warning: ${w}\n`);
    const incomplete = incompleteRunError(results);
    if (incomplete) throw incomplete;
    return 0;
  },
  synth: async (argv) => {
    const [{ SYNTH_KNOBS, compileSynthOptions, synthKnobsHelp }, { writeCohort }] = await Promise.all([import('../shared/synth/options.ts'), import('../shared/synth/write.ts')]);
    // Knobs are checked by compileSynthOptions (the knob table); here they are only collected.
    const knobs = Object.fromEntries(SYNTH_KNOBS.map((k) => [k.flag, z.string().optional()]));
    const flags = parseFlags(argv, { ...knobs, out: text() });
    if (flags === 'help') return out(synthHelp(synthKnobsHelp)), 0;
    const { out: dir, ...given } = flags as Record<string, string | undefined> & { out: string };
    const options = compileSynthOptions(given);
    // Refused at once (not after generating the rows) when the folder cannot be written.
    (await import('../shared/output-path.ts')).prepareOutputDir(dir, '--out');
    const { paths, removed } = await writeCohort(dir, options);
    if (removed.length) out(`removed ${removed.length} site files of the larger cohort written there before: ${removed.map((p) => basename(p)).join(', ')}\n`);
    out(`wrote ${paths.length} files to ${dir}\n`);
    return 0;
  },
  demo: async (argv) => {
    const { DEMO_FLAGS, DEMO_HELP, runDemo } = await import('./demo.ts');
    const flags = parseFlags(argv, DEMO_FLAGS);
    if (flags === 'help') return out(DEMO_HELP), 0;
    return runDemo({ rounds: flags.rounds, model: flags.model, runDir: flags['run-dir'], cohort: flags.cohort }, out);
  },
};

