import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../../../shared/errors.ts';
import type { FedAdam } from '../../../coordinator/strategy/fedadam.ts';
import type { FedProx } from '../../../coordinator/strategy/fedprox.ts';
import type { TrimmedMean } from '../../../coordinator/strategy/trimmed-mean.ts';
import { createStrategy, strategyNames } from '../../../coordinator/strategy/registry.ts';

const inputError = (message: string) => (e: unknown) => e instanceof InputError && e.message === message;

test('registry builds every named strategy under its name', () => {
  assert.deepEqual(strategyNames, ['fedavg', 'fedprox', 'fedadam', 'fedyogi', 'fedadagrad', 'scaffold', 'fedmedian', 'trimmed-mean']);
  for (const name of strategyNames) assert.equal(createStrategy(name).name, name);
});

test('registry passes options through', () => {
  const prox = createStrategy('fedprox', { proximalMu: 0.3 }) as FedProx;
  assert.equal(prox.configureFit(1, {}).proximalMu, 0.3);
  const adam = createStrategy('fedadam', { serverLearningRate: 0.5, beta1: 0.8 }) as FedAdam;
  assert.deepEqual({ ...adam.config }, { eta: 0.5, beta1: 0.8, beta2: 0.99, tau: 1e-9 });
  assert.equal((createStrategy('trimmed-mean', { trimFraction: 0.1 }) as TrimmedMean).trimFraction, 0.1);
  assert.equal((createStrategy('trimmed-mean', { trimFraction: 0 }) as TrimmedMean).trimFraction, 0);
});

test('registry: unknown strategy name', () => {
  assert.throws(
    () => createStrategy('fedsgd'),
    inputError('strategy.name: must be one of fedavg, fedprox, fedadam, fedyogi, fedadagrad, scaffold, fedmedian, trimmed-mean (got "fedsgd")'),
  );
  assert.throws(() => createStrategy('toString'), /strategy.name: must be one of .* \(got "toString"\)/);
});

test('registry: option values out of range', () => {
  assert.throws(
    () => createStrategy('trimmed-mean', { trimFraction: 0.7 }),
    inputError('strategy.trimFraction: must be a number in [0, 0.5) (got 0.7)'),
  );
  assert.throws(
    () => createStrategy('trimmed-mean', { trimFraction: 0.5 }),
    inputError('strategy.trimFraction: must be a number in [0, 0.5) (got 0.5)'),
  );
  assert.throws(
    () => createStrategy('fedprox', { proximalMu: -0.1 }),
    inputError('strategy.proximalMu: must be a number in [0, 100] (got -0.1)'),
  );
  assert.throws(
    () => createStrategy('fedadam', { serverLearningRate: 0 }),
    inputError('strategy.serverLearningRate: must be a number in (0, 10] (got 0)'),
  );
  // Values that only overflow the model (an outside try: 1e300 committed a NaN model and every site died).
  assert.throws(
    () => createStrategy('fedadam', { serverLearningRate: 1e300 }),
    inputError('strategy.serverLearningRate: must be a number in (0, 10] (got 1e+300)'),
  );
  assert.throws(
    () => createStrategy('fedprox', { proximalMu: 1e300 }),
    inputError('strategy.proximalMu: must be a number in [0, 100] (got 1e+300)'),
  );
  assert.throws(
    () => createStrategy('fedyogi', { beta2: 1 }),
    inputError('strategy.beta2: must be a number in [0, 1) (got 1)'),
  );
  assert.throws(
    () => createStrategy('fedadam', { tau: Number.NaN }),
    inputError('strategy.tau: must be a number in (0, 10] (got NaN)'),
  );
  assert.throws(
    () => createStrategy('fedadam', { beta1: '0.9' as unknown as number }),
    inputError('strategy.beta1: must be a number in [0, 1) (got "0.9")'),
  );
  assert.throws(
    () => createStrategy('fedavg', { trimFraction: 0.2, mu: 1 } as never),
    inputError(
      'strategy.mu: is not a known field; expected one of: name, proximalMu, serverLearningRate, beta1, beta2, tau, controlNormMultiple, trimFraction\n' +
        'strategy.trimFraction: does not apply to strategy fedavg, which would ignore it (it applies to trimmed-mean) (got 0.2)',
    ),
  );
});

test('registry: an option the strategy does not read is refused, naming the strategies that read it', () => {
  assert.throws(
    () => createStrategy('fedavg', { proximalMu: 1 }),
    inputError('strategy.proximalMu: does not apply to strategy fedavg, which would ignore it (it applies to fedprox) (got 1)'),
  );
  assert.throws(
    () => createStrategy('fedadagrad', { beta1: 0.8 }),
    inputError('strategy.beta1: does not apply to strategy fedadagrad, which would ignore it (it applies to fedadam, fedyogi) (got 0.8)'),
  );
  assert.throws(() => createStrategy('fedmedian', { trimFraction: 0.1 }), /strategy\.trimFraction: does not apply to strategy fedmedian.*\(it applies to trimmed-mean\)/);
  // Every option each strategy reads is accepted.
  createStrategy('fedyogi', { serverLearningRate: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
  createStrategy('scaffold', { controlNormMultiple: 3 });
});
