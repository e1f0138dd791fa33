// The model in a worker thread gives the same numbers as in the calling thread, keeps
// that thread free while it trains, and stops at once on a stop request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { derivePrior } from '../../coordinator/priors.ts';
import { countPatternLabels } from '../../shared/data/patterns.ts';
import { silentLogger, type Logger } from '../../shared/logger.ts';
import type { ModelSpecMsg } from '../../shared/protocol/messages.ts';
import { inProcessRunner, type ModelRunner, type RunnerFactory } from '../../site-agent/runner-api.ts';
import { workerRunner } from '../../site-agent/worker-runner.ts';
import { numericSpace, toyData } from '../shared/model/variants/debiased/helpers.ts';

const space = numericSpace({ labs: ['a', 'b'], imaging: ['c'], exam: ['d', 'e'] });
const train = toyData(space, 200, 2);
const test_ = toyData(space, 60, 3);
const prior = derivePrior(countPatternLabels(train.patterns, train.y), 3, 1);
const spec: ModelSpecMsg = { kind: 'debiased', raw: { localEpochs: 2, debiasing: { mode: 'on', weighting: 'adaptive' } }, seed: 4 };

/** Two rounds as an agent runs them, then the local-only baseline; everything the agent would send. */
async function rounds(make: RunnerFactory, log: Logger = silentLogger) {
  const r: ModelRunner = await make(spec, space, 9, log, {});
  try {
    const out: unknown[] = [];
    let w = await r.getWeights();
    for (let round = 1; round <= 2; round++) {
      const c = { round, prior };
      await r.setWeights(w);
      out.push(await r.evaluate(test_, c));
      out.push(await r.train(train, c, {}, w));
      w = await r.getWeights();
      out.push(Array.from(w), await r.health(train, c));
    }
    out.push(Array.from(await r.predict(test_, { round: 2, prior })), await r.trainAlone({ train, test: test_ }, { round: 2, prior }, 2));
    return out;
  } finally {
    r.dispose();
  }
}

test('a worker-thread model gives bit-identical results to the in-thread one', { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const log: Logger = { ...silentLogger, debug: (m) => void lines.push(m), child: () => log };
  assert.deepEqual(await rounds(workerRunner, log), await rounds(inProcessRunner));
  assert.ok(lines.includes('local epoch'), 'the worker logs through the agent\'s logger');
});

test('while the worker trains, this thread runs timers; a stop request ends the work at once', { timeout: 60_000 }, async () => {
  const ac = new AbortController();
  const r = await workerRunner({ kind: 'baseline', raw: { localEpochs: 400, batchSize: 1 }, seed: 1 }, space, 1, silentLogger, { signal: ac.signal, yieldEveryMs: Infinity });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    const training = r.train(train, { round: 1, prior }, {}, await r.getWeights());
    await new Promise((res) => setTimeout(res, 300));
    // The worker never yields (Infinity) and this thread still runs: it does not train here.
    assert.ok(ticks >= 10, `${ticks} timer callbacks while the worker trained`);
    const t0 = performance.now();
    ac.abort();
    await assert.rejects(training, { name: 'AbortError' });
    assert.ok(performance.now() - t0 < 1000, 'stopped at once');
    await assert.rejects(async () => r.getWeights(), { name: 'AbortError' }, 'a stopped worker answers nothing more');
  } finally {
    clearInterval(timer);
    r.dispose();
  }
});
