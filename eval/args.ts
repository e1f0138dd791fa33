/** The flags of `npm run eval`, compiled once into validated options. */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { numberFlag } from '../shared/config/fields.ts';
import { parseFlags } from '../shared/config/flags.ts';
import { parseInput } from '../shared/config/issues.ts';
import { InputError } from '../shared/errors.ts';
import { DEFAULT_DOCS_DIR, DEFAULT_HEART_DIR } from './settings.ts';

export const SECTION_IDS = [1, 2, 3, 4, 5, 6] as const;

export const EVAL_HELP = `usage: npm run eval -- [--quick] [--sections 1,3] [--render] [--jobs N] [--out-dir DIR] [--heart-dir DIR]

Runs the evaluation of docs/results.md: 1 heart disease per site, 2 FLamby's split,
3 heart disease leave-one-site-out, 4 synthetic cohorts (ablation, oracle, sweep),
5 discussion (from the numbers of 1-4), 6 the debiasing default across a cohort family
and data sizes (4 training sites, up to 100,000 rows each: about 45 minutes). Writes DIR/results.md, DIR/results.json and
DIR/results-synthetic.svg.

  --quick          1 seed and fewer synthetic points: a smoke run (written to
                   ${join(tmpdir(), 'fedcausal-eval-quick')} unless --out-dir is given)
  --sections LIST  run only these sections (comma-separated); the others are kept from
                   the existing results.json and the report is rendered from both
  --render         run nothing: render results.md and the plot again from DIR/results.json
  --jobs N         simulations run at once, each in its own process (default 2)
  --only-configs LIST  sections 1 and 2 re-run only these configuration ids (section 2's
                   FLamby-split rows: flamby-split) and keep the rest of the section's runs,
                   and section 2's tuning picks, from results.json (same code, same seeds)
  --out-dir DIR    where the report goes (default docs/)
  --heart-dir DIR  the UCI heart-disease folder (default ../shared/data/heart-disease)
`;

export interface EvalArgs {
  quick: boolean;
  render: boolean;
  sections: number[];
  jobs: number;
  outDir: string;
  heartDir: string;
  /** --only-configs: the configuration ids sections 1 and 2 re-run; absent: everything. */
  onlyConfigs?: string[];
}

/** "1,3" -> [1, 3]: known section numbers, each once, in ascending order. */
export function parseSections(text: string): number[] {
  return parseInput(sectionsFlag, text, { at: '--sections' });
}

const sectionsFlag = z.string().transform((text, ctx) => {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) {
    ctx.addIssue({ code: 'custom', message: `needs a comma-separated list of ${SECTION_IDS.join(', ')}`, input: text });
    return z.NEVER;
  }
  const out = new Set<number>();
  for (const p of parts) {
    const n = Number(p);
    if (!/^\d+$/.test(p) || !(SECTION_IDS as readonly number[]).includes(n)) {
      ctx.addIssue({ code: 'custom', message: `"${p}" is not a section; expected some of ${SECTION_IDS.join(', ')}`, input: text });
      return z.NEVER;
    }
    out.add(n);
  }
  return [...out].sort((a, b) => a - b);
});

/** The flags of `npm run eval`. */
export const EVAL_FLAGS = {
  quick: z.boolean().default(false),
  render: z.boolean().default(false),
  sections: sectionsFlag.optional(),
  jobs: numberFlag({ min: 1, max: 64, int: true }).default(2),
  'out-dir': z.string().optional(),
  'heart-dir': z.string().optional(),
  'only-configs': z.string().optional(),
};

export function parseEvalArgs(argv: string[]): EvalArgs | 'help' {
  const v = parseFlags(argv, EVAL_FLAGS);
  if (v === 'help') return 'help';
  const { quick, render } = v;
  const outDir = v['out-dir'] ?? (quick ? join(tmpdir(), 'fedcausal-eval-quick') : DEFAULT_DOCS_DIR);
  if (render && (v.sections !== undefined || quick))
    throw new InputError('--render runs nothing, so it takes neither --sections nor --quick (give --out-dir to render a quick run)');
  const only = v['only-configs']?.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (only !== undefined && (only.length === 0 || render)) throw new InputError('--only-configs needs a comma-separated list of configuration ids, and runs something (not with --render)');
  return {
    quick,
    render,
    sections: v.sections ?? [...SECTION_IDS],
    jobs: v.jobs,
    outDir: resolve(outDir),
    heartDir: resolve(v['heart-dir'] ?? DEFAULT_HEART_DIR),
    ...(only ? { onlyConfigs: only } : {}),
  };
}
