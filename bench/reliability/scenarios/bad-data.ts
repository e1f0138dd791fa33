// One bad cell (or a bad file) at a hospital: `fedcausal check-data` should refuse it with
// exit 2 naming file, row and column, and the same file at a site should stop that site
// with the same message while the others finish. All the bad sites of a run join one
// federation (three good heart-disease sites, quorum 3 to start and 2 to accept), since
// each stops before it connects: one federation shows every one of them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { misnamedHeader, heartSchemaWith, oneRowFile, withCell } from '../../../tests/e2e/helpers/bad-data.ts';
import { runCli } from '../../../tests/e2e/helpers/cli.ts';
import { HEART_FILES, HEART_SCHEMA } from '../../../tests/e2e/helpers/federation.ts';
import { describeRun, exitText, reasonText, roundsLost, settle, type ExitFact, type RunFacts } from '../facts.ts';
import { faultRun, inFederation, SITES } from '../phases.ts';
import { Checks, type Observed, type Scenario, type ScenarioContext } from '../scenario.ts';

interface BadInput {
  key: string;
  what: string;
  make(dir: string): { data: string; schema: string };
  /** Where check-data should point: line (1-based, as in the file) and column. */
  at?: { line: number; column: string };
  /** False where the input needs its own schema, which a federation's sites cannot have. */
  atSite: boolean;
}

function cell(key: string, site: string, line: number, column: string, value: string, declare?: (s: Record<string, unknown>) => void): BadInput {
  return {
    key,
    what: `${column} = ${value} (${site}, line ${line})${declare ? ', schema declaring label.values 0-4' : column === 'num' ? ', stock heart schema (no label.values)' : ''}`,
    make: (dir) => ({ data: withCell(dir, site, line, column, value, key), schema: declare ? heartSchemaWith(dir, declare, `${key}-schema`) : HEART_SCHEMA }),
    at: { line, column },
    atSite: !declare,
  };
}

const INPUTS: BadInput[] = [
  cell('huge', 'hungary', 3, 'chol', '1e308'),
  cell('label-minus-1', 'cleveland', 5, 'num', '-1'),
  cell('label-7', 'cleveland', 5, 'num', '7'),
  cell('label-7-declared', 'cleveland', 5, 'num', '7', (s) => ((s.label as Record<string, unknown>).values = [0, 1, 2, 3, 4])),
  cell('label-half', 'cleveland', 5, 'num', '0.5'),
  cell('hex', 'cleveland', 10, 'thalach', '0x1F'),
  cell('category-nan', 'hungary', 8, 'cp', 'NaN'),
  cell('category-banana', 'cleveland', 12, 'thal', 'banana'),
  { key: 'one-row', what: "one data row (cleveland's first)", make: (dir) => ({ data: oneRowFile(dir), schema: HEART_SCHEMA }), atSite: true },
  {
    key: 'misnamed-header',
    what: 'a header line spelling "chol" as "Chol"',
    make: (dir) => ({ data: misnamedHeader(dir).data, schema: HEART_SCHEMA }),
    at: { line: 1, column: 'Chol' },
    atSite: true,
  },
];

/** The files live for the whole run (several scenarios read them), then go. */
let filesDir: string | undefined;
function inputFiles(input: BadInput): { data: string; schema: string } {
  if (!filesDir) {
    const dir = mkdtempSync(join(tmpdir(), 'fedcausal-bad-data-'));
    filesDir = dir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return input.make(filesDir);
}

/** Without the temporary folder, so the report reads "huge.csv:3: ..." and stays the same from run to run. */
const shown = (s: string) => (filesDir ? s.replaceAll(`${filesDir}/`, '') : s);

const checkData = (ctx: ScenarioContext, input: BadInput) =>
  ctx.shared(`check-data:${input.key}`, async () => {
    const files = inputFiles(input);
    const r = await runCli(['check-data', '--schema', files.schema, '--data', files.data], 60_000);
    return { ...files, code: r.code, messages: r.messages };
  });

async function checkDataRun(ctx: ScenarioContext, input: BadInput): Promise<Observed> {
  const r = await checkData(ctx, input);
  const reason = r.messages.join(' / ');
  const c = new Checks()
    .equal('exit 2', r.code, 2, `exit ${r.code}`)
    .expect('one line of reason', r.messages.length === 1, `${r.messages.length} lines`)
    .expect('names the file', reason.includes(r.data), reason || 'no reason printed');
  if (input.at) c.expect('names the row and column', reason.includes(`${r.data}:${input.at.line}`) && reason.includes(`"${input.at.column}"`), reason || 'no reason printed');
  return { outcome: `exit ${r.code}${reason ? `: "${shown(reasonText(reason))}"` : ' (no message)'}`, roundsLost: null, checks: c.list, facts: { code: r.code, messages: r.messages } };
}

const siteName = (input: BadInput) => `bad-${input.key}`;

/** One federation: the good sites and every selected bad site. */
const badSitesRun = (ctx: ScenarioContext) =>
  ctx.shared('bad-sites', async () => {
    const bad = INPUTS.filter((i) => i.atSite && ctx.selected.has(`bad-data-site-${i.key}`));
    const files = { ...HEART_FILES, ...Object.fromEntries(bad.map((i) => [siteName(i), inputFiles(i).data])) };
    const opts = faultRun({ minSitesToStart: SITES.length, minSitesToAccept: 2, startTimeoutSeconds: 60 }, { sites: [...SITES, ...bad.map(siteName)], cohort: { schema: HEART_SCHEMA, files } });
    return inFederation(opts, async (fed) => {
      const coordinator = await fed.startCoordinator();
      const t0 = Date.now();
      const procs = fed.opts.sites.map((s) => fed.startSite(s));
      const facts = await settle(fed, coordinator, procs, 150_000, t0);
      return { facts, bySite: new Map(facts.sites.map((s) => [s.name.replace(/^site /, ''), s])) };
    });
  });

async function siteRun(ctx: ScenarioContext, input: BadInput): Promise<Observed> {
  const [check, run] = await Promise.all([checkData(ctx, input), badSitesRun(ctx)]);
  const site: ExitFact = run.bySite.get(siteName(input))!;
  const good = SITES.map((s) => run.bySite.get(s)!);
  const facts: RunFacts = run.facts;
  const want = reasonText(check.messages[0]);
  const got = reasonText(site.reason);
  const c = new Checks()
    .expect('the site stops (exit non-zero)', site.code !== 0 && site.code !== null, exitText(site))
    .expect('with the message check-data gives', got !== '' && got === want, got ? `"${shown(got)}" where check-data says "${shown(want)}"` : 'no message')
    .expect('the good sites finish (exit 0)', good.every((s) => s.code === 0), good.map((s) => `${s.name} ${exitText(s)}`).join(', '))
    .expect('every round accepted', facts.results?.accepted === facts.rounds, `${facts.results?.accepted ?? 0} of ${facts.rounds}`);
  return {
    outcome: `${siteName(input)} ${exitText(site)}${got ? `: "${shown(got)}"` : ''}. Shared run: ${shown(describeRun(facts))}`,
    roundsLost: roundsLost(facts),
    checks: c.list,
    facts: { site, goodSites: good, coordinator: facts.coordinator },
  };
}

export const scenarios: Scenario[] = [
  ...INPUTS.map((input) => ({
    id: `bad-data-check-${input.key}`,
    group: 'Bad data: check-data',
    fault: `fedcausal check-data on a file with ${input.what}`,
    expected: `exit 2, one line naming the file${input.at ? ', row and column' : ''}`,
    quick: input.key === 'huge',
    run: (ctx: ScenarioContext) => checkDataRun(ctx, input),
  })),
  ...INPUTS.filter((i) => i.atSite).map((input) => ({
    id: `bad-data-site-${input.key}`,
    group: 'Bad data: at a site',
    fault: `a site (${siteName(input)}) whose file has ${input.what}, beside three good sites`,
    expected: 'that site stops with the message check-data gives; the good sites finish and every round is accepted',
    quick: input.key === 'huge',
    run: (ctx: ScenarioContext) => siteRun(ctx, input),
  })),
];
