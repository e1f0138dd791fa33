/**
 * Strategy names -> instances, with the user's options validated here, once, so a bad
 * config value fails at startup with the option's name and allowed range (exit code 2).
 * An option the chosen strategy does not read is refused, naming the strategies that do
 * (`proximalMu` with fedavg was a setting a user believed in and that did nothing).
 */
import { z } from 'zod';
import { choice, strict } from '../../shared/config/fields.ts';
import { STRATEGY_OPTION_FIELDS, strategyOptionsSchema } from './options.ts';
import { parseInput } from '../../shared/config/issues.ts';
import { FedAdagrad } from './fedadagrad.ts';
import { FedAdam } from './fedadam.ts';
import { FedAvg } from './fedavg.ts';
import { FedMedian } from './fedmedian.ts';
import { FedProx } from './fedprox.ts';
import { FedYogi } from './fedyogi.ts';
import { Scaffold } from './scaffold.ts';
import type { Strategy, StrategyOptions } from './strategy.ts';
import { TrimmedMean } from './trimmed-mean.ts';

type Factory = (o: StrategyOptions) => Strategy;

const factories: Record<string, Factory> = {
  fedavg: () => new FedAvg(),
  fedprox: (o) => new FedProx(o.proximalMu),
  fedadam: (o) => new FedAdam({ eta: o.serverLearningRate, beta1: o.beta1, beta2: o.beta2, tau: o.tau }),
  fedyogi: (o) => new FedYogi({ eta: o.serverLearningRate, beta1: o.beta1, beta2: o.beta2, tau: o.tau }),
  fedadagrad: (o) => new FedAdagrad({ eta: o.serverLearningRate, tau: o.tau }),
  scaffold: (o) => new Scaffold(o.controlNormMultiple),
  fedmedian: () => new FedMedian(),
  'trimmed-mean': (o) => new TrimmedMean(o.trimFraction),
};

/** The options each strategy reads (FedAdagrad fixes its betas at 0, as Flower does). */
const READS: Record<string, readonly (keyof StrategyOptions)[]> = {
  fedprox: ['proximalMu'],
  fedadam: ['serverLearningRate', 'beta1', 'beta2', 'tau'],
  fedyogi: ['serverLearningRate', 'beta1', 'beta2', 'tau'],
  fedadagrad: ['serverLearningRate', 'tau'],
  scaffold: ['controlNormMultiple'],
  'trimmed-mean': ['trimFraction'],
};

/**
 * Strategies whose sites send a plain gradient of their rows besides the update (SCAFFOLD's
 * control variate): differential privacy would not cover it, so they are refused with it.
 */
export const SENDS_GRADIENTS: readonly string[] = ['scaffold'];

/** Strategy names, from the table above: the one list every config and flag accepts. */
export const strategyNames = Object.freeze(Object.keys(factories)) as readonly [string, ...string[]];
export const DEFAULT_STRATEGY = 'fedavg';


/** A strategy section: `fedprox`, or `{ name: fedprox, proximalMu: 0.01 }`; the name defaults to fedavg. */
export const strategySpecSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { name: v } : v),
  strict({ name: choice(strategyNames).default(DEFAULT_STRATEGY), ...STRATEGY_OPTION_FIELDS }, 'a strategy name or a mapping { name, ...options }').superRefine(
    ({ name, ...options }, ctx) => {
      for (const key of Object.keys(options) as (keyof StrategyOptions)[]) {
        if (options[key] === undefined || (READS[name] ?? []).includes(key)) continue;
        const readers = Object.keys(READS).filter((s) => READS[s]!.includes(key));
        ctx.addIssue({ code: 'custom', path: [key], input: options[key], message: `does not apply to strategy ${name}, which would ignore it (it applies to ${readers.join(', ')})` });
      }
    },
  ),
).transform(({ name, ...options }) => ({ name, options: options satisfies StrategyOptions }));
export type StrategySpec = z.output<typeof strategySpecSchema>;


/** Builds strategy `name` with validated `options`; throws InputError on an unknown name or bad option. */
export function createStrategy(name: string, options: StrategyOptions = {}): Strategy {
  const spec = parseInput(strategySpecSchema, { ...options, name }, { at: 'strategy' });
  const strategy = factories[spec.name]!(spec.options);
  return Object.keys(spec.options).length ? Object.assign(strategy, { options: spec.options }) : strategy;
}

/** Throws InputError for an unknown option key, a value outside its range, or an option strategy `name` does not read. */
export function validateStrategyOptions(name: string, options: StrategyOptions, where = 'strategy'): void {
  parseInput(strategyOptionsSchema, options, { at: where });
  createStrategy(name, options);
}
