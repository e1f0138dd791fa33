/**
 * Strategy names -> instances, with the user's options validated here, once, so a bad
 * config value fails at startup with the option's name and allowed range (exit code 2).
 * Options that do not apply to the chosen strategy are validated but ignored (e.g. beta1
 * for FedAdagrad, which fixes its betas at 0 as Flower does).
 */
import { InputError } from '../../shared/errors.ts';
import { FedAdagrad } from './fedadagrad.ts';
import { FedAdam } from './fedadam.ts';
import { FedAvg } from './fedavg.ts';
import { FedMedian } from './fedmedian.ts';
import { FedProx } from './fedprox.ts';
import { FedYogi } from './fedyogi.ts';
import type { Strategy, StrategyOptions } from './strategy.ts';
import { TrimmedMean } from './trimmed-mean.ts';

type Factory = (o: StrategyOptions) => Strategy;

const factories: Record<string, Factory> = {
  fedavg: () => new FedAvg(),
  fedprox: (o) => new FedProx(o.proximalMu),
  fedadam: (o) => new FedAdam({ eta: o.serverLearningRate, beta1: o.beta1, beta2: o.beta2, tau: o.tau }),
  fedyogi: (o) => new FedYogi({ eta: o.serverLearningRate, beta1: o.beta1, beta2: o.beta2, tau: o.tau }),
  fedadagrad: (o) => new FedAdagrad({ eta: o.serverLearningRate, tau: o.tau }),
  fedmedian: () => new FedMedian(),
  'trimmed-mean': (o) => new TrimmedMean(o.trimFraction),
};

export const strategyNames: readonly string[] = Object.freeze(Object.keys(factories));

/** Allowed range of each option: [low, high] bounds with open/closed ends; omitted high = unbounded. */
const ranges: Record<keyof StrategyOptions, { low: number; lowOpen: boolean; high?: number; highOpen?: boolean }> = {
  proximalMu: { low: 0, lowOpen: false },
  serverLearningRate: { low: 0, lowOpen: true },
  beta1: { low: 0, lowOpen: false, high: 1, highOpen: true },
  beta2: { low: 0, lowOpen: false, high: 1, highOpen: true },
  tau: { low: 0, lowOpen: true },
  trimFraction: { low: 0, lowOpen: false, high: 0.5, highOpen: true },
};

function describe(r: (typeof ranges)[keyof StrategyOptions]): string {
  if (r.high === undefined) return `a finite number ${r.lowOpen ? '>' : '>='} ${r.low}`;
  return `a number in ${r.lowOpen ? '(' : '['}${r.low}, ${r.high}${r.highOpen ? ')' : ']'}`;
}

function inRange(x: number, r: (typeof ranges)[keyof StrategyOptions]): boolean {
  if (!Number.isFinite(x)) return false;
  if (r.lowOpen ? x <= r.low : x < r.low) return false;
  if (r.high !== undefined && (r.highOpen ? x >= r.high : x > r.high)) return false;
  return true;
}

/** Throws InputError for an unknown option key or a value outside its range. */
export function validateStrategyOptions(options: StrategyOptions): void {
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const range = (ranges as Partial<typeof ranges>)[key as keyof StrategyOptions]; // key may be any string
    if (!range) {
      throw new InputError(`unknown strategy option "${key}"; expected one of: ${Object.keys(ranges).join(', ')}`);
    }
    if (typeof value !== 'number' || !inRange(value, range)) {
      const got = typeof value === 'number' ? String(value) : JSON.stringify(value);
      throw new InputError(`strategy option ${key} must be ${describe(range)}, got ${got}`);
    }
  }
}

/** Builds strategy `name` with validated `options`; throws InputError on an unknown name or bad option. */
export function createStrategy(name: string, options: StrategyOptions = {}): Strategy {
  const factory = Object.hasOwn(factories, name) ? factories[name] : undefined;
  if (!factory) {
    throw new InputError(`unknown strategy "${name}"; expected one of: ${strategyNames.join(', ')}`);
  }
  validateStrategyOptions(options);
  return factory(options);
}
