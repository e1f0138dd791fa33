/**
 * Renders the coordinator's Helm chart without helm (no helm binary, Go toolchain or network
 * on the development machine): the subset of Go templates the chart uses, `{{ .Values.x }}`,
 * `.Release.Name`, `.Chart.AppVersion`, `| quote`, `toYaml X | nindent N`, `if`/`end` and
 * `{{-` trimming. Anything else throws, so a chart that grows past the subset fails here
 * loudly instead of rendering wrong. Not helm: docs/deploy-coordinator.md says so.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

export interface RenderContext {
  Values: Record<string, unknown>;
  Release: { Name: string };
  Chart: { AppVersion: string };
}

/** `a.b.c` looked up in the context; undefined when any step is missing (Go templates print nothing then). */
function lookup(ctx: RenderContext, path: string): unknown {
  if (!path.startsWith('.')) throw new Error(`helm subset: ${JSON.stringify(path)} is not a field reference`);
  let v: unknown = ctx;
  for (const k of path.slice(1).split('.')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/** Go template truth: false, 0, "", nil and empty collections are false. */
function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object' && v !== null) return Object.keys(v).length > 0;
  return Boolean(v);
}

function evaluate(expr: string, ctx: RenderContext): string {
  const [head, ...pipes] = expr.split('|').map((s) => s.trim());
  let value: unknown;
  let text: string;
  const toYaml = /^toYaml (\S+)$/.exec(head!);
  if (toYaml) {
    value = lookup(ctx, toYaml[1]!);
    text = stringify(value).replace(/\n$/, '');
  } else {
    value = lookup(ctx, head!);
    if (typeof value === 'object' && value !== null) throw new Error(`helm subset: ${head} is a map or list; use toYaml`);
    text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
  }
  for (const p of pipes) {
    const nindent = /^nindent (\d+)$/.exec(p);
    if (p === 'quote') text = JSON.stringify(text);
    else if (nindent) text = '\n' + text.split('\n').map((l) => ' '.repeat(Number(nindent[1])) + l).join('\n');
    else throw new Error(`helm subset: unsupported pipe ${JSON.stringify(p)}`);
  }
  return text;
}

export function renderTemplate(source: string, ctx: RenderContext): string {
  let out = '';
  const skipping: boolean[] = [];
  const active = () => skipping.every((s) => !s);
  let rest = source;
  for (;;) {
    const open = rest.indexOf('{{');
    if (open < 0) {
      if (active()) out += rest;
      break;
    }
    const close = rest.indexOf('}}', open);
    if (close < 0) throw new Error('helm subset: an action is not closed');
    let literal = rest.slice(0, open);
    let action = rest.slice(open + 2, close);
    if (action.startsWith('-')) {
      action = action.slice(1);
      literal = literal.replace(/\s+$/, '');
    }
    if (action.endsWith('-')) throw new Error('helm subset: right trimming is not supported');
    action = action.trim();
    if (active()) out += literal;
    rest = rest.slice(close + 2);
    const cond = /^if (\S+)$/.exec(action);
    if (cond) skipping.push(!truthy(lookup(ctx, cond[1]!)));
    else if (action === 'end') {
      if (skipping.pop() === undefined) throw new Error('helm subset: end without if');
    } else if (/^(else|range|with|define|include|template)\b/.test(action)) throw new Error(`helm subset: unsupported action ${JSON.stringify(action)}`);
    else if (active()) out += evaluate(action, ctx);
  }
  if (skipping.length > 0) throw new Error('helm subset: if without end');
  return out;
}

/** Every template of the chart rendered with its values.yaml (deep-merged with `overrides`), by file name. */
export function renderChart(chartDir: string, release: string, overrides: Record<string, unknown> = {}): Map<string, string> {
  const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { appVersion: string };
  const values = merge(parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>, overrides);
  const ctx: RenderContext = { Values: values, Release: { Name: release }, Chart: { AppVersion: chart.appVersion } };
  const dir = join(chartDir, 'templates');
  return new Map(readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => [f, renderTemplate(readFileSync(join(dir, f), 'utf8'), ctx)]));
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = typeof v === 'object' && v !== null && !Array.isArray(v) && typeof b === 'object' && b !== null ? merge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}
