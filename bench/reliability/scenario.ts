/**
 * The shape of a reliability scenario: a fault, the outcome the issue asks for, and a
 * `run` that injects the fault into real processes and reports what happened. Every
 * file in bench/reliability/scenarios/ exports `scenarios: Scenario[]`; the registry
 * picks them up, so a new family of faults is one new file there.
 */

/** What a scenario may use while it runs. */
export interface ScenarioContext {
  /** A scratch folder of its own, removed afterwards. */
  dir: string;
  /** The ids selected for this run (a shared fixture builds only what they need). */
  selected: ReadonlySet<string>;
  progress(message: string): void;
  /**
   * One value per key for the whole run: a fixture several scenarios read (e.g. one
   * federation holding every bad-data site) is made once, by the first that asks.
   */
  shared<T>(key: string, make: () => Promise<T>): Promise<T>;
}

/** One expectation, checked against what happened. */
export interface Check {
  what: string;
  ok: boolean;
  /** What was seen, in a few words (shown where the check fails). */
  got: string;
}

export interface Observed {
  /** What happened, in a sentence or two: exit codes, the reason printed, round counts. */
  outcome: string;
  /** Rounds not accepted or not run, of the rounds configured; null where no federation ran. */
  roundsLost: { lost: number; of: number; note?: string } | null;
  checks: Check[];
  /** Raw facts for docs/reliability.json. */
  facts?: Record<string, unknown>;
}

export interface Scenario {
  /** Stable id, for --only and for the JSON. */
  id: string;
  /** The family the report groups it under. */
  group: string;
  fault: string;
  expected: string;
  /** Part of `--quick`. */
  quick?: boolean;
  run(ctx: ScenarioContext): Promise<Observed>;
}

/** A scenario's row in docs/reliability.json. */
export interface ScenarioResult {
  id: string;
  group: string;
  fault: string;
  expected: string;
  /** 'as expected': every check held; 'differs': one did not; 'error': the harness could not measure it. */
  verdict: 'as expected' | 'differs' | 'error';
  outcome: string;
  roundsLost: Observed['roundsLost'];
  checks: Check[];
  facts?: Record<string, unknown>;
  seconds: number;
  ranAt: string;
  commit: string;
}

/** Collects the checks of one scenario. */
export class Checks {
  readonly list: Check[] = [];

  expect(what: string, ok: boolean, got: string): this {
    this.list.push({ what, ok, got });
    return this;
  }

  /** `actual` equals `want`; `got` names the actual value. */
  equal<T>(what: string, actual: T, want: T, got = String(actual)): this {
    return this.expect(what, actual === want, got);
  }
}

export function verdictOf(checks: Check[]): ScenarioResult['verdict'] {
  return checks.every((c) => c.ok) ? 'as expected' : 'differs';
}
