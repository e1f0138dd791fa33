/**
 * Every scenario of the report: each file in ./scenarios exports `scenarios: Scenario[]`,
 * read in file-name order. A new family of faults (e.g. the durable coordinator's
 * kill -9 and resume) is one new file there; nothing else needs to change.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Scenario } from './scenario.ts';

const DIR = join(import.meta.dirname, 'scenarios');

export async function loadScenarios(): Promise<Scenario[]> {
  const files = readdirSync(DIR)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  const all: Scenario[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(DIR, f)).href)) as { scenarios?: Scenario[] };
    if (!Array.isArray(mod.scenarios)) throw new Error(`bench/reliability/scenarios/${f} exports no "scenarios" array`);
    all.push(...mod.scenarios);
  }
  const seen = new Set<string>();
  for (const s of all) {
    if (seen.has(s.id)) throw new Error(`two scenarios have the id "${s.id}"`);
    seen.add(s.id);
  }
  return all;
}

/**
 * The scenarios a run takes: `only` names ids or id prefixes (comma-separated, e.g.
 * "site-kill,nan-update"); `quick` keeps those marked quick.
 */
export function select(all: Scenario[], only: string[] | undefined, quick: boolean): Scenario[] {
  const picked = only ? all.filter((s) => only.some((o) => s.id === o || s.id.startsWith(o))) : all;
  return quick ? picked.filter((s) => s.quick) : picked;
}
