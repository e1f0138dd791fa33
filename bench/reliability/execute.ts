/**
 * Runs scenarios one after another (they share two cores; in parallel their timings
 * and keepalives would disturb each other) and turns each into a report row. A
 * scenario that throws is an 'error' row: the harness could not measure it, which is
 * not the same as the product behaving wrongly, and the report says which.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verdictOf, type Scenario, type ScenarioContext, type ScenarioResult } from './scenario.ts';

/** The checkout's commit, marked "+changes" when the working tree differs from it. */
export function commitId(cwd: string): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

export async function execute(scenarios: Scenario[], commit: string, say: (m: string) => void): Promise<ScenarioResult[]> {
  const fixtures = new Map<string, Promise<unknown>>();
  const selected = new Set(scenarios.map((s) => s.id));
  const rows: ScenarioResult[] = [];
  for (const [i, s] of scenarios.entries()) {
    const dir = mkdtempSync(join(tmpdir(), `fedcausal-reliability-${s.id}-`));
    const ctx: ScenarioContext = {
      dir,
      selected,
      progress: (m) => say(`  ${s.id}: ${m}`),
      shared: <T>(key: string, make: () => Promise<T>) => {
        if (!fixtures.has(key)) fixtures.set(key, make());
        return fixtures.get(key) as Promise<T>;
      },
    };
    say(`[${i + 1}/${scenarios.length}] ${s.id}`);
    const t0 = Date.now();
    const base = { id: s.id, group: s.group, fault: s.fault, expected: s.expected, ranAt: new Date().toISOString(), commit };
    try {
      const o = await s.run(ctx);
      const row: ScenarioResult = { ...base, verdict: verdictOf(o.checks), outcome: o.outcome, roundsLost: o.roundsLost, checks: o.checks, seconds: (Date.now() - t0) / 1000 };
      if (o.facts) row.facts = o.facts;
      rows.push(row);
    } catch (e) {
      const message = (e as Error).message;
      rows.push({ ...base, verdict: 'error', outcome: `not measured: ${message.split('\n')[0]}`, roundsLost: null, checks: [], facts: { error: message.slice(0, 4000) }, seconds: (Date.now() - t0) / 1000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const r = rows[rows.length - 1]!;
    say(`  -> ${r.verdict} (${r.seconds.toFixed(0)} s): ${r.outcome.slice(0, 300)}`);
  }
  return rows;
}
