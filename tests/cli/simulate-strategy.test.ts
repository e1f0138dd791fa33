// SimulateOptions.strategyOptions: the strategy's own settings (server learning rate,
// proximal mu) reach the in-process federation, validated by the registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation } from '../../cli/simulate.ts';
import { simOptions } from '../../eval/jobs.ts';
import { InputError } from '../../shared/errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import { HEART_FILES, HEART_SCHEMA } from '../e2e/helpers/federation.ts';

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
