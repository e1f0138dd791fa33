// Sixteen hospitals, each its own process, with a ~1M-parameter model (4 MiB of
// weights each way per site per round): every site takes part in every round. When
// training held the agent's thread, keepalive dropped 11 of 16 such sites; yielding
// between batches alone was not enough here (17 processes on two cores: one step, or
// the model's creation, took longer than the 5 s a ping waits), so the model runs in
// a worker thread. Slow: about four minutes on a loaded two-core machine, most of it
// sixteen processes starting (tsx, tfjs) and their first steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultsFile } from '../../cli/results.ts';
import { buildFeatureSpace } from '../../shared/data/feature-space.ts';
import { compileSchema } from '../../shared/data/schema.ts';
import { computeFeatureStats } from '../../shared/data/stats.ts';
import { parseSiteTable } from '../../shared/data/table.ts';
import { loadBackend } from '../../shared/model/backend.ts';
import { createModel } from '../../shared/model/factory.ts';
import { compileSynthOptions } from '../../shared/synth/options.ts';
import { siteCsv, writeCohort, type SynthCohort } from '../../shared/synth/write.ts';
import { withFederation } from './helpers/federation.ts';

const SITES = 16;
const ROUNDS = 2;
// On the synthetic cohort (9 columns in 4 modalities): (4*64 + 4) * 3800 + the rest, about 1.0M parameters.
const MODEL = { kind: 'baseline', modalityDim: 64, hiddenDim: 3800, localEpochs: 1 };

/** The model's size on this cohort's feature space (the layout does not depend on the statistics). */
async function parameterCount(cohort: SynthCohort): Promise<number> {
  await loadBackend('cpu');
  const schema = compileSchema(cohort.schema, 'synthetic schema');
  const table = parseSiteTable(schema, siteCsv(cohort.sites[0]!), cohort.sites[0]!.name);
  const { kind, ...raw } = MODEL;
  const model = createModel(kind, buildFeatureSpace(schema, computeFeatureStats(schema, table)), raw, 1);
  const n = model.params.getFlat().length;
  model.dispose();
  return n;
}

test('16 site processes with a ~1M-parameter model complete every round', { timeout: 400_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fedcausal-synth-'));
  try {
    const { cohort } = await writeCohort(dataDir, compileSynthOptions({ sites: String(SITES), rows: '100', seed: '3' }));
    const names = cohort.sites.map((s) => s.name);
    const files = Object.fromEntries(names.map((n) => [n, join(dataDir, `${n}.csv`)]));
    const params = await parameterCount(cohort);
    assert.ok(params > 950_000 && params < 1_050_000, `${params} parameters`);
    await withFederation(
      {
        sites: names,
        rounds: ROUNDS,
        model: MODEL,
        cohort: { schema: join(dataDir, 'schema.json'), files },
        // Sixteen processes loading tfjs on a small machine take a while to all be there.
        quorum: { startTimeoutSeconds: 300, roundDeadlineSeconds: 300 },
        hardTimeoutMs: 380_000,
      },
      async (fed) => {
        const t0 = Date.now();
        const coordinator = await fed.startCoordinator();
        const sites = names.map((n) => fed.startSite(n));
        assert.equal(await coordinator.exitCode(360_000), 0, 'coordinator exit code');
        for (const s of sites) assert.equal(await s.exitCode(30_000), 0, `${s.name} exit code`);

        const r = fed.results<ResultsFile>(coordinator);
        assert.deepEqual(
          r.history.map((h) => [h.round, h.participants, h.failures, h.accepted]),
          Array.from({ length: ROUNDS }, (_, i) => [i + 1, SITES, 0, true]),
          'every site in every round',
        );
        assert.deepEqual(Object.keys(r.sites).sort(), [...names].sort(), 'every site in the final evaluation');
        assert.ok(!coordinator.logs.some((l) => l.message === 'site disconnected'), 'no site was dropped');
        process.stderr.write(`# 16 sites, ${params} parameters, ${ROUNDS} rounds: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
      },
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
