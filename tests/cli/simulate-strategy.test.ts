// SimulateOptions.strategyOptions: the strategy's own settings (server learning rate,
// proximal mu) reach the in-process federation, validated by the registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation } from '../../cli/simulate.ts';
import { parseSimulateArgs } from '../../cli/simulate-args.ts';
import { simOptions } from '../../eval/jobs.ts';
import { InputError } from '../../shared/errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import { HEART_FILES, HEART_SCHEMA } from '../e2e/helpers/federation.ts';
import { describeRun, runCli } from '../e2e/helpers/cli.ts';

const options = (strategy: string, strategyOptions?: Record<string, number>) =>
  simOptions({
    schema: HEART_SCHEMA,
    sites: ['cleveland', 'hungary'].map((name) => ({ name, path: HEART_FILES[name]! })),
    model: 'logreg',
    rounds: 2,
    seed: 1,
    strategy,
    ...(strategyOptions ? { strategyOptions } : {}),
    modelSettings: { localEpochs: 1 },
  });

test('a strategy option changes the run; absent options keep the defaults', { timeout: 60_000 }, async () => {
  const scores = async (o: ReturnType<typeof options>) => (await runSimulation(o, silentLogger)).predictions.map((p) => p.score);
  const byDefault = await scores(options('fedadam'));
  const explicitDefault = await scores(options('fedadam', { serverLearningRate: 0.1 }));
  const other = await scores(options('fedadam', { serverLearningRate: 0.01 }));
  assert.deepEqual(explicitDefault, byDefault, "eta 0.1 is FedAdam's default");
  assert.notDeepEqual(other, byDefault);
});

test('a bad strategy option is an input error naming the option', async () => {
  await assert.rejects(runSimulation(options('fedadam', { serverLearningRate: 0 }), silentLogger), (e: Error) => e instanceof InputError && /serverLearningRate/.test(e.message));
});

// `simulate --strategy-option KEY=VALUE`: the options coordinator.yaml's strategy section takes, from the command line.
const cliArgs = ['simulate', '--schema', HEART_SCHEMA, '--site', `cleveland=${HEART_FILES.cleveland}`, '--site', `hungary=${HEART_FILES.hungary}`, '--model', 'logreg', '--rounds', '2', '--local-epochs', '1'];

test('--strategy-option KEY=VALUE: repeatable, numbers read as numbers, checked as coordinator.yaml checks them', () => {
  const parsed = parseSimulateArgs([...cliArgs.slice(1), '--strategy', 'fedadam', '--strategy-option', 'serverLearningRate=0.01', '--strategy-option', 'beta1=0.8']);
  assert.ok(parsed !== 'help');
  assert.deepEqual(parsed.strategyOptions, { serverLearningRate: 0.01, beta1: 0.8 });
  const refused: [string[], string][] = [
    [['mu=0.1'], '--strategy-option: strategy.mu: is not a known field; expected one of: proximalMu, serverLearningRate, beta1, beta2, tau, controlNormMultiple, trimFraction'],
    [['proximalMu=-1'], '--strategy-option: strategy.proximalMu: must be a number in [0, 100] (got -1)'],
    [['proximalMu=0.1x'], '--strategy-option: strategy.proximalMu: must be a number in [0, 100] (got "0.1x")'],
    [['proximalMu=0.1', 'proximalMu=0.2'], '--strategy-option: proximalMu given twice; give it once'],
    [['name=fedavg'], '--strategy-option: "name" is not an option; the strategy is named by --strategy'],
    [['proximalMu'], '--strategy-option[0]: expects KEY=VALUE (got "proximalMu")'],
    [['serverLearningRate=0.1'], '--strategy-option: strategy.serverLearningRate: does not apply to strategy fedprox, which would ignore it (it applies to fedadam, fedyogi, fedadagrad) (got 0.1)'],
    [
      ['proximalMu=-1', 'mu=0.1'],
      '--strategy-option: strategy.mu: is not a known field; expected one of: proximalMu, serverLearningRate, beta1, beta2, tau, controlNormMultiple, trimFraction\n' +
        '--strategy-option: strategy.proximalMu: must be a number in [0, 100] (got -1)',
    ],
  ];
  for (const [values, message] of refused)
    assert.throws(
      () => parseSimulateArgs([...cliArgs.slice(1), '--strategy', 'fedprox', ...values.flatMap((v) => ['--strategy-option', v])]),
      (e: Error) => e instanceof InputError && e.message === message,
      values.join(' '),
    );
});

test('simulate --strategy-option: an accepted option changes the run and is logged; an unknown key exits 2 naming it', { timeout: 60_000 }, async () => {
  const run = async (extra: string[]) => {
    const r = await runCli([...cliArgs, ...extra]);
    assert.equal(r.code, 0, describeRun(r));
    const logged = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    return { results: JSON.parse(r.stdout), strategy: logged.find((e: any) => e.message === 'strategy') };
  };
  const byDefault = await run(['--strategy', 'fedprox']);
  const strong = await run(['--strategy', 'fedprox', '--strategy-option', 'proximalMu=5']);
  assert.equal(byDefault.strategy.proximalMu, undefined, 'no option given: the default (0.01)');
  assert.equal(strong.strategy.strategy, 'fedprox');
  assert.equal(strong.strategy.proximalMu, 5, 'the log names the option used, as a number');
  assert.notDeepEqual(strong.results.sites, byDefault.results.sites, 'mu 5 pulls the sites back to the global model: another result');
  assert.deepEqual([strong.results.strategy, strong.results.strategyOptions], ['fedprox', { proximalMu: 5 }], 'the results file records the option');
  assert.equal(byDefault.results.strategyOptions, undefined, 'none set: none recorded');
  const bad = await runCli([...cliArgs, '--strategy', 'fedprox', '--strategy-option', 'mu=5'], 30_000);
  assert.equal(bad.code, 2, describeRun(bad));
  assert.deepEqual(bad.messages, ['fedcausal simulate: --strategy-option: strategy.mu: is not a known field; expected one of: proximalMu, serverLearningRate, beta1, beta2, tau, controlNormMultiple, trimFraction']);
  assert.equal(bad.stdout, '');
});
