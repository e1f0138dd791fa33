/** `fedcausal simulate`'s run: a whole federation in one process, the real coordinator and site agents over an in-memory transport (its flags: simulate-args.ts). */
import { DEFAULT_MIN_CATEGORY_COUNT } from '../shared/data/vocabulary.ts';
import { writeFileWhole } from '../shared/output-path.ts';
import { createFederation } from '../coordinator/federation.ts';
import { DEFAULT_MIN_CELL_COUNT } from '../coordinator/priors.ts';
import { createStrategy } from '../coordinator/strategy/registry.ts';
import { compileSecureAggregation } from '../coordinator/secure-config.ts';
import { generateIdentity, type Identity } from '../shared/crypto/keys.ts';
import { checkModelFeatures, compileModelSpec } from '../shared/model/factory.ts';
import { featureList, loadSchema, type Schema } from '../shared/data/schema.ts';
import { loadSiteTable } from '../shared/data/table.ts';
import { InputError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { inMemoryTransport } from '../shared/transport/in-memory.ts';
import { prepareLocalData } from '../site-agent/local-data.ts';
import { SiteAgent } from '../site-agent/agent.ts';
import { buildResults, type ResultsFile } from './results.ts';
import type { BundleInput } from '../shared/model/bundle.ts';
import { codingWarnings, splitWarnings, startWarnings } from './simulate-warnings.ts';
import { SIMULATE_DP_NAMES, type SimulateOptions, type SiteFlag } from './simulate-args.ts';
import { largeEpsilonWarning } from '../shared/privacy/budget.ts';

export type { SimulateOptions } from './simulate-args.ts';

/** One in-process agent per site over the in-memory transport; a crashed site stops the run. */
function startAgents(c: {
  o: SimulateOptions;
  locals: ReturnType<typeof siteData>['locals'];
  ids: Map<string, Identity>;
  coordinatorId: Identity;
  fed: ReturnType<typeof createFederation>;
  schema: Schema;
  log: Logger;
  predictions: Prediction[];
}) {
  const { o, locals, ids, coordinatorId, fed, schema, log, predictions } = c;
  return locals.map((s) => {
    const inner = inMemoryTransport(fed.service);
    const transport = o.siteTransport ? o.siteTransport(s.name, inner, { site: ids.get(s.name)!, coordinator: coordinatorId }) : inner;
    const agent = new SiteAgent({
      site: s.name,
      federation: 'simulation',
      schema,
      data: s.data,
      identity: ids.get(s.name)!,
      coordinator: { signingPublicKey: coordinatorId.signing.publicKey, boxPublicKey: coordinatorId.box.publicKey },
      transport,
      seed: siteSeed(o.seed + 7, s.name),
      log: log.child({ site: s.name }),
      // No keepalive to serve in one process; yielding on the clock would let the clock decide
      // the order sites deliver in, and the float sums of the aggregate with it.
      trainYieldEveryMs: Infinity,
      // Said at start against the other sites' values (codingWarnings).
      vocabularyNotes: false,
      onPredictions: (p) =>
        p.rows.forEach((row, i) => predictions.push({ site: p.site, row, label: p.labels[i]!, score: p.scores[i]! })),
    });
    const done = agent.run().catch((e: Error) => {
      // A crashed site ends the run: in a simulation nothing else would make it answer.
      log.error('site agent failed', { site: s.name, error: e.message });
      fed.loop.stop(`site ${s.name} failed: ${e.message}`);
      throw e;
    });
    done.catch(() => {});
    return { transport, done, agent };
  });
}

/**
 * Each site's data, read and split as its agent would; with what the sites say at start about
 * their data, and the test sites whose figures it leaves undefined (kept in the results too).
 */
function siteData(o: SimulateOptions, all: (SiteFlag & { testOnly: boolean })[], schema: Schema, log: Logger) {
  const dataWarnings: string[] = [];
  const locals = all.map((s) => {
    const table = loadSiteTable(schema, s.path);
    const h = o.holdouts.find((x) => x.name === s.name);
    dataWarnings.push(...startWarnings(s, table, schema, log));
    const data = prepareLocalData(table, {
      testFraction: o.testFraction,
      seed: siteSeed(o.seed, s.name),
      holdout: h ? loadSiteTable(schema, h.path) : undefined,
      testOnly: s.testOnly,
      minTrainingRows: o.minTrainingRows,
      minTrainingRowsSetting: '--min-training-rows',
    });
    dataWarnings.push(...splitWarnings(s, data, schema));
    return { ...s, data, table };
  });
  dataWarnings.push(...codingWarnings(locals, schema, log, o.minCategoryCount ?? DEFAULT_MIN_CATEGORY_COUNT));
  return { locals, dataWarnings };
}

/** A refusal of the secureAggregation settings said as the flag's (the flag only sets `enabled`). */
function onFlag<T>(flag: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof InputError) throw new InputError(e.message.replace(/^secureAggregation\.(enabled|minSites): /gm, `${flag}: `), { cause: e });
    throw e;
  }
}

/** A stable per-site seed, so adding a site does not reshuffle the others' splits. */
function siteSeed(seed: number, name: string): number {
  let h = seed >>> 0;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h;
}

export interface Prediction {
  site: string;
  row: number;
  label: number;
  score: number;
}

/** Runs the federation in-process and returns the results file object and the predictions. */
/** Told of each committed round (the CLI prints progress when stdout is not taken by the results). */
export type RoundProgress = (r: { round: number; rounds: number; participants: number; metrics: Record<string, number> }) => void;

export async function runSimulation(o: SimulateOptions, log: Logger, onRound?: RoundProgress): Promise<{ results: ResultsFile; predictions: Prediction[]; models: BundleInput[] }> {
  // The whole model section and the strategy, checked before any data is read (as the coordinator does at start).
  compileModelSpec({ ...o.modelSettings, kind: o.model });
  for (const n of o.notices ?? []) log.warn(n);
  warnOfLargeEpsilon(o, log);
  const strategy = createStrategy(o.strategy, o.strategyOptions ?? {});
  log.info('strategy', { strategy: o.strategy, ...o.strategyOptions });
  const schema = loadSchema(o.schema);
  // A trusted or suspect feature the schema lacks is refused now, as coordinator.yaml's is at start.
  checkModelFeatures({ raw: o.modelSettings ?? {} }, featureList(schema), { file: o.modelConfigFile ?? '--model-config', at: 'model', schema: o.schema });
  const secureAggregation = onFlag('--secure-aggregation', () =>
    compileSecureAggregation({ ...o.secureAggregationSettings, enabled: o.secureAggregation }, { strategy: o.strategy, model: o.model, trainingSites: o.sites.length, modalities: schema.modalities.length }));
  const coordinatorId = generateIdentity();
  const all = [...o.sites.map((s) => ({ ...s, testOnly: false })), ...o.testSites.map((s) => ({ ...s, testOnly: true }))];
  const ids = new Map<string, Identity>(all.map((s) => [s.name, generateIdentity()]));
  const { locals, dataWarnings } = siteData(o, all, schema, log);
  const fed = createFederation(
    {
      federation: 'simulation',
      rounds: o.rounds,
      model: { kind: o.model, raw: o.modelSettings ?? {}, seed: o.seed },
      strategy,
      schema,
      sites: all.map((s) => ({ name: s.name, signingPublicKey: ids.get(s.name)!.signing.publicKey })),
      testSites: o.testSites.map((s) => s.name),
      quorum: { minSitesToStart: o.sites.length, minSitesToAccept: o.minSitesToAccept ?? o.sites.length, roundDeadlineMs: 3_600_000, startTimeoutMs: 60_000, rejoinGraceMs: 0, waitForAllMs: 0 },
      minCellCount: o.minCellCount ?? DEFAULT_MIN_CELL_COUNT,
      minCategoryCount: o.minCategoryCount,
      ...(o.dp ? { dp: o.dp } : {}),
      localBaseline: o.localBaseline,
      identity: coordinatorId,
      limits: { maxPayloadBytes: 2 ** 31, maxChunkSize: 1 << 20, maxMessageAgeMs: 3_600_000 },
      spool: 'memory',
      ...(secureAggregation ? { secureAggregation } : {}),
      ...(o.bounds ? { bounds: o.bounds } : {}),
    },
    log,
    (e) => {
      if (e.type !== 'round') return;
      log.info('round done', { round: e.record.round, sites: e.record.participants, ...e.record.metrics });
      onRound?.({ round: e.record.round, rounds: o.rounds, participants: e.record.participants, metrics: e.record.metrics });
    },
  );
  const predictions: Prediction[] = [];
  const agents = startAgents({ o, locals, ids, coordinatorId, fed, schema, log, predictions });
  try {
    const outcome = await fed.loop.run();
    const privacy = fed.privacy();
    if (privacy) outcome.privacy = privacy;
    outcome.warnings.unshift(...dataWarnings);
    await fed.loop.end('simulation complete', 'complete');
    await Promise.all(agents.map((a) => a.done));
    const order = all.map((s) => s.name);
    predictions.sort((a, b) => order.indexOf(a.site) - order.indexOf(b.site) || a.row - b.row);
    const results = buildResults(outcome);
    if (results.secureAggregation) withHeldOutCounts(results, new Map(locals.map((l) => [l.name, l.data.test.labels.length])));
    // Each training site's final model as its agent keeps it (--save-models); a test site trains none.
    const models = agents.flatMap((a) => a.agent.trainedModel() ?? []).filter((m) => !o.testSites.some((t) => t.name === m.site));
    return { results, predictions, models };
  } finally {
    for (const a of agents) a.transport.close();
  }
}

/** As the coordinator warns at start (a run past ε 10 with no budget): ε is otherwise only reported as it is spent. */
function warnOfLargeEpsilon(o: Pick<SimulateOptions, 'dp' | 'rounds'>, log: Logger): void {
  const large = o.dp && largeEpsilonWarning(o.dp, o.rounds, SIMULATE_DP_NAMES);
  if (large) log.warn(large.message, { remedy: large.remedy });
}

/**
 * A secure run's per-site `n`: in a deployment each site's held-out count stays in the sum,
 * but simulate holds every file, so its results keep INTERFACES.md's `n` (an outside try's
 * script failed on its absence), first as in the plain run.
 */
function withHeldOutCounts(results: ResultsFile, counts: ReadonlyMap<string, number>): void {
  for (const scope of [results.sites, results.testSites, results.localSites ?? {}])
    for (const [site, m] of Object.entries(scope)) if (m.n === undefined && counts.has(site)) scope[site] = { n: counts.get(site)!, ...m };
}

/** Scores as JS writes them (the shortest text that reads back the same number): 6 figures made ties near 1, and an AUROC from the file missed the results' (an outside try: 0.4585 vs 0.4459). */
export function writePredictions(path: string, preds: Prediction[]): void {
  const lines = ['site,row,label,score', ...preds.map((p) => `${p.site},${p.row},${p.label},${String(p.score)}`)];
  // A score and label per patient: kept like the rows they come from (0600), as predict's output is.
  writeFileWhole(path, lines.join('\n') + '\n', 0o600);
}
