/**
 * A child process that runs simulations for the evaluation's pool (pool.ts): each
 * tfjs process trains on one thread, so two children use two cores. One job at a
 * time: { id, options } in, { id, ok, outcome | error } out, over the IPC channel.
 */
import * as tf from '@tensorflow/tfjs';
import { runSimulation } from '../cli/simulate.ts';
import { silentLogger } from '../shared/logger.ts';
import type { JobReply, JobRequest } from './jobs.ts';

if (!process.send) throw new Error('eval/worker.ts must be started by the evaluation pool (it needs an IPC channel)');
const send = process.send.bind(process);

// The pool closes the channel when the work is done; nothing else should keep the process alive.
process.on('disconnect', () => process.exit(0));

process.on('message', (msg: JobRequest) => {
  const t0 = performance.now();
  runSimulation(msg.options, silentLogger).then(
    ({ results, predictions }) => {
      const reply: JobReply = {
        id: msg.id,
        ok: true,
        outcome: { results, predictions, backend: tf.getBackend(), seconds: (performance.now() - t0) / 1000, tensors: tf.memory().numTensors },
      };
      send(reply);
    },
    (e: Error) => send({ id: msg.id, ok: false, error: e.stack ?? e.message } satisfies JobReply),
  );
});
