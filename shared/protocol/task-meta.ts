/**
 * The JSON meta of a task (coordinator -> site), checked on the site before any of it is
 * used. The task is signed by the coordinator, so this guards against a coordinator of
 * another version or a bug, not a forger: unknown fields are dropped (the site never read
 * them), and what a task kind needs must be there (a fit task without a feature space used to
 * fail as a TypeError deep in training).
 */
import { z } from 'zod';
import type { FeatureSpace } from '../data/feature-space.ts';
import type { OutcomeBalance } from '../data/outcome-balance.ts';
import type { PatternPrior } from '../data/patterns.ts';

const count = z.number().int().nonnegative();

export const ModelSpecSchema = z.object({
  kind: z.string().min(1),
  /** The model section of the federation config (sizes, training, debiasing); the model factory checks it. */
  raw: z.record(z.string(), z.unknown()),
  seed: z.number().int(),
});

export const FeatureSpaceSchema = z.object({
  modalities: z.array(z.object({ name: z.string(), start: count, end: count })),
  columns: z.array(
    z.object({
      feature: z.string(),
      featureIndex: count,
      kind: z.enum(['numeric', 'category']),
      category: z.string().optional(),
      other: z.boolean().optional(),
      mean: z.number(),
      std: z.number(),
    }),
  ),
});

export const PatternPriorSchema = z.object({
  version: z.number(),
  patterns: z.array(z.object({ pattern: z.string(), p: z.number() })),
  balancing: z.record(z.string(), z.tuple([z.number(), z.number()])),
  minCount: z.number(),
  totalRows: z.number(),
});

/** Checked in full where it is used (validateOutcomeBalance), with its own messages. */
const OutcomeBalanceSchema = z.custom<OutcomeBalance>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'expected an object');

/** The statistics stages (a task's `stage` when its kind is 'stats'). */
export const STATS_STAGE = { summary: 1, moments: 2, cells: 3, names: 4, vocabulary: 5, slots: 6 } as const;

/** A secure run's vocabulary stages (slots, names, counts): secure sums only, each carrying `vocabulary`. */
export function isVocabularyStage(stage: number | undefined): boolean {
  return stage === STATS_STAGE.slots || stage === STATS_STAGE.names || stage === STATS_STAGE.vocabulary;
}

export const TaskKindSchema = z.enum(['stats', 'fit', 'evaluate', 'end', 'secagg']);

export const TaskMetaSchema = z
  .object({
    federation: z.string(),
    round: count,
    kind: TaskKindSchema,
    config: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
    /** Present from the first fit round on: the agreed encoding, the prior and the model. */
    featureSpace: FeatureSpaceSchema.optional(),
    prior: PatternPriorSchema.optional(),
    model: ModelSpecSchema.optional(),
    /**
     * stats stage (STATS_STAGE): 1 = feature stats and pattern counts, 2 = class moments (needs the feature space), 3 = (cell, label)
     * counts of the flagged readings, 6, 4 and 5 = a secure run's vocabulary (rows per slot of the heavy buckets, names in heavy slots, then their exact counts).
     * A 'secagg' task's stage is its phase plus ten times the statistics stage it sums (0 for a fit round).
     */
    stage: z.number().int().min(1).max(99).optional(),
    /** Secure statistics, stages 6, 4 and 5: the stage-1 session and heavy sketch buckets (and for 4 the heavy [bucket, slot] pairs), then the candidate values to count. */
    vocabulary: z
      .object({
        session: z.string().optional(),
        buckets: z.record(z.string(), z.array(count)).optional(),
        slots: z.record(z.string(), z.array(z.tuple([count, count]))).optional(),
        candidates: z.record(z.string(), z.array(z.string())).optional(),
      })
      .optional(),
    /** Secure aggregation (shared/secagg/wire.ts): on a fit task, the round's session, settings and roster; on a 'secagg' task (stage = phase), that phase's input. */
    secagg: z.record(z.string(), z.unknown()).optional(),
    /** SCAFFOLD fit rounds (config.controlVariates): the federation's control variate c, one number per model parameter, from round 2 on. */
    controlVariate: z.array(z.number()).optional(),
    /** Stage 3: the flagged readings whose bins make a cell. */
    balanceFeatures: z.array(z.string()).optional(),
    /** From the first fit round on, when outcome balancing is on: the published weight table. */
    balance: OutcomeBalanceSchema.optional(),
    /** Number of float32 weights following the meta in the payload (0 when none). */
    weights: count,
    /** Why the federation ended (kind 'end'). */
    message: z.string().optional(),
    /** How it ended (kind 'end'): a site exits non-zero unless 'complete'. */
    outcome: z.enum(['complete', 'incomplete', 'failed']).optional(),
  })
  .superRefine((t, ctx) => {
    const need = (field: 'featureSpace' | 'prior' | 'model' | 'balanceFeatures', why: string) => {
      if (t[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `required ${why}` });
    };
    if (t.kind === 'fit' || t.kind === 'evaluate') {
      for (const f of ['featureSpace', 'prior', 'model'] as const) need(f, `in a ${t.kind} task`);
    } else if (t.kind === 'secagg') {
      if (t.stage === undefined) ctx.addIssue({ code: 'custom', path: ['stage'], message: 'required in a secagg task (its phase)' });
      if (t.secagg === undefined) ctx.addIssue({ code: 'custom', path: ['secagg'], message: 'required in a secagg task' });
    } else if (t.kind === 'stats') {
      const stage = t.stage ?? STATS_STAGE.summary;
      const last = Math.max(...Object.values(STATS_STAGE));
      if (stage > last) ctx.addIssue({ code: 'custom', path: ['stage'], message: `a stats task has stages 1 to ${last}` });
      if (stage === STATS_STAGE.moments || stage === STATS_STAGE.cells) need('featureSpace', `in a stats task of stage ${stage}`);
      if (stage === STATS_STAGE.cells) need('balanceFeatures', `in a stats task of stage ${stage}`);
      if (isVocabularyStage(stage))
        if (t.vocabulary === undefined) ctx.addIssue({ code: 'custom', path: ['vocabulary'], message: `required in a stats task of stage ${stage}` });
    }
  });

export type ModelSpecMsg = z.output<typeof ModelSpecSchema>;
export type TaskMeta = z.output<typeof TaskMetaSchema>;

// The shared data types stay declared where they are computed; these fail to compile if a schema drifts from them.
type Holds<T extends true> = T;
export type TaskSchemasMatchDataTypes = [
  Holds<z.output<typeof FeatureSpaceSchema> extends FeatureSpace ? true : false>,
  Holds<z.output<typeof PatternPriorSchema> extends PatternPrior ? true : false>,
];
