import * as tf from '@tensorflow/tfjs';
import type { Logger } from '../logger.ts';

/**
 * The tfjs backend loader. Preference: tfjs-node-gpu > tfjs-node > wasm > cpu.
 * The native packages are optionalDependencies (their install downloads libtensorflow,
 * which fails on machines without network), so each is tried and skipped on failure.
 */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export const BACKEND_PREFERENCE = ['node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_PREFERENCE)[number] | 'auto';

let chosen: string | undefined;

async function tryNative(pkg: string): Promise<boolean> {
  try {
    // The native packages register the 'tensorflow' backend on import.
    await import(pkg);
    return await tf.setBackend('tensorflow');
  } catch {
    return false;
  }
}

async function tryWasm(): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    return await tf.setBackend('wasm');
  } catch {
    return false;
  }
}

/**
 * Loads the best available backend once per process (or the one named by
 * `choice`, e.g. from FEDCAUSAL_BACKEND) and logs which one was chosen.
 */
export async function loadBackend(choice: BackendChoice = 'auto', log?: Logger): Promise<string> {
  if (chosen) return chosen;
  const order = choice === 'auto' ? BACKEND_PREFERENCE : [choice];
  const tried: string[] = [];
  for (const c of order) {
    let ok = false;
    if (c === 'node-gpu') ok = await tryNative('@tensorflow/tfjs-node-gpu');
    else if (c === 'node') ok = await tryNative('@tensorflow/tfjs-node');
    else if (c === 'wasm') ok = await tryWasm();
    else ok = await tf.setBackend('cpu');
    tried.push(`${c}:${ok ? 'ok' : 'unavailable'}`);
    if (ok) {
      await tf.ready();
      chosen = tf.getBackend();
      log?.info('tfjs backend loaded', { backend: chosen, choice: c, tried });
      return chosen;
    }
  }
  throw new Error(`no tfjs backend could be loaded (tried ${tried.join(', ')})`);
}

/** Backend choice from the environment (FEDCAUSAL_BACKEND=auto|node-gpu|node|wasm|cpu). */
export function backendFromEnv(env: NodeJS.ProcessEnv): BackendChoice {
  const v = env.FEDCAUSAL_BACKEND ?? 'auto';
  if (v === 'auto' || (BACKEND_PREFERENCE as readonly string[]).includes(v)) return v as BackendChoice;
  throw new Error(`FEDCAUSAL_BACKEND must be one of auto, ${BACKEND_PREFERENCE.join(', ')}; got "${v}"`);
}
