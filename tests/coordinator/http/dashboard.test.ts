import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import {
  DASHBOARD_CSP,
  DASHBOARD_HTML,
  DASHBOARD_SCRIPT,
  DASHBOARD_STYLE,
  POLL_INTERVAL_MS,
} from '../../../coordinator/http/dashboard.ts';
import type { FederationStatus, RoundSummary } from '../../../shared/federation/status.ts';
import { RoundCollector } from '../../../coordinator/collector.ts';
import { aggregateRound } from '../../../coordinator/round-outcome.ts';
import { createStrategy } from '../../../coordinator/strategy/registry.ts';
import { silentLogger } from '../../../shared/logger.ts';

/** Just enough DOM for the dashboard script: elements with children, attributes and text. */
class FakeNode {
  children: FakeNode[] = [];
  attrs: Record<string, string> = {};
  className = '';
  title = '';
  private text = '';
  constructor(
    readonly tag: string,
    readonly ns?: string,
  ) {}
  get textContent(): string {
    return this.text + this.children.map((c) => c.textContent).join('');
  }
  set textContent(v: string) {
    this.text = v;
    this.children = [];
  }
  appendChild(c: FakeNode): FakeNode {
    this.children.push(c);
    return c;
  }
  replaceChildren(...cs: FakeNode[]): void {
    this.text = '';
    this.children = cs;
  }
  setAttribute(k: string, v: string): void {
    this.attrs[k] = v;
  }
  all(tag: string): FakeNode[] {
    return this.children.flatMap((c) => [...(c.tag === tag ? [c] : []), ...c.all(tag)]);
  }
}

/** The page's clock, fixed so "last seen" text does not depend on how fast the test runs. */
const NOW = Date.parse('2024-05-01T10:00:00.000Z');
class FixedDate extends Date {
  static override now(): number {
    return NOW;
  }
}

/**
 * One round's entry in /api/status as production makes it: the round's record from
 * aggregateRound (the metric keys it emits: train_*, eval_*), mapped as coordinator/main.ts
 * maps fed.loop.history. Each site trained with loss `loss` and evaluated the global
 * model at AUROC `auroc`; `failed` sites failed the round.
 */
function roundSummary(round: number, answers: { site: string; n: number; loss: number; auroc: number }[], failed: string[], durationMs: number): RoundSummary {
  const strategy = createStrategy('fedavg');
  const collector = new RoundCollector(round, 'fit', [...answers.map((a) => a.site), ...failed], 60_000);
  const aggregation = strategy.beginAggregation(round, new Float32Array(2));
  for (const a of answers) {
    const evaluation = { n: a.n, auroc: a.auroc, accuracy: 0.7, balancedAccuracy: 0.65, ece: 0.05 };
    collector.resolve(a.site, { round, kind: 'fit', numExamples: a.n, metrics: { loss: a.loss, steps: 4, trainMs: 12 }, evaluation, weights: 2 });
    aggregation.add(a.site, a.n, 0, Float32Array.from([1, 2]));
  }
  for (const site of failed) collector.fail(site, 'no answer within the 60s round deadline');
  const { record } = aggregateRound(round, collector, aggregation, strategy, { minSitesToAccept: 1 }, silentLogger);
  return { round: record.round, participants: record.participants, failures: record.failures, metrics: record.metrics, durationMs };
}

function status(): FederationStatus {
  return {
    federation: 'heart',
    round: 3,
    rounds: 20,
    state: 'training',
    strategy: 'fedprox',
    model: 'debiased',
    sites: [
      { name: 'cleveland', online: true, lastSeen: new Date(NOW - 5000).toISOString(), roundsCompleted: 3 },
      { name: 'hungary', online: false, lastSeen: null, roundsCompleted: 1, lastError: '<b>timeout</b>' },
    ],
    history: [
      roundSummary(1, [{ site: 'cleveland', n: 100, loss: 0.6, auroc: 0.7 }, { site: 'hungary', n: 100, loss: 0.62, auroc: 0.7 }], [], 1500),
      roundSummary(2, [{ site: 'cleveland', n: 100, loss: 0.58, auroc: 0.76 }, { site: 'hungary', n: 300, loss: 0.58, auroc: 0.73 }], [], 1400),
      roundSummary(3, [{ site: 'cleveland', n: 100, loss: 0.52, auroc: 0.78 }], ['hungary'], 2000),
    ],
    prior: { version: 2, patterns: [{ pattern: '1111111', p: 0.6 }, { pattern: '1111100', p: 0.4 }] },
    debiasing: { version: 2, mode: 'auto', decision: 'on', weighting: 'group-balanced', dualBranch: true, share: 0.5, flagged: [], markers: [], reason: 'auto: test' },
  };
}

/** Runs the page script against a fake DOM and a fetch that answers `reply`; returns the elements by id. */
async function runDashboard(reply: () => Promise<unknown>) {
  const ids = [...DASHBOARD_HTML.matchAll(/id="([^"]+)"/g)].map((m) => m[1]!);
  const byId = new Map(ids.map((id) => [id, new FakeNode('div')]));
  const timers: [() => void, number][] = [];
  const fetched: string[] = [];
  const document = {
    getElementById: (id: string) => {
      const n = byId.get(id);
      if (!n) throw new Error(`script asked for #${id}, which the page lacks`);
      return n;
    },
    createElement: (tag: string) => new FakeNode(tag),
    createElementNS: (ns: string, tag: string) => new FakeNode(tag, ns),
  };
  runInNewContext(DASHBOARD_SCRIPT, {
    document,
    fetch: (url: string) => {
      fetched.push(url);
      return reply();
    },
    setTimeout: (fn: () => void, ms: number) => timers.push([fn, ms]),
    Date: FixedDate,
  });
  // Let the fetch promise chain settle.
  for (let i = 0; i < 20 && timers.length === 0; i++) await new Promise((r) => setImmediate(r));
  return { byId, timers, fetched };
}

test('the page contains every element the script uses and polls api/status every 2 s', async () => {
  const { byId, timers, fetched } = await runDashboard(async () => ({ ok: true, json: async () => status() }));
  assert.deepEqual(fetched, ['api/status']);
  assert.equal(timers.length, 1);
  assert.equal(timers[0]![1], POLL_INTERVAL_MS);
  assert.equal(POLL_INTERVAL_MS, 2000);

  const get = (id: string) => byId.get(id)!;
  assert.equal(get('federation').textContent, 'heart');
  assert.equal(get('round').textContent, '3 / 20');
  assert.equal(get('state').textContent, 'training');
  assert.equal(get('online').textContent, '1 / 2');
  assert.equal(get('conn').className, 'ok');

  // Sites table: a dot per site, last seen, rounds done, last error as plain text.
  const rows = get('sites').children;
  assert.equal(rows.length, 2);
  const cells = (r: FakeNode) => r.children.map((c) => c.textContent);
  assert.deepEqual(cells(rows[0]!).slice(1, 4), ['cleveland', '5 s ago', '3']);
  assert.deepEqual(cells(rows[1]!).slice(1), ['hungary', 'never', '1', '<b>timeout</b>']);
  assert.equal(rows[0]!.children[0]!.children[0]!.className, 'dot on');
  assert.equal(rows[1]!.children[0]!.children[0]!.className, 'dot');

  // Per-round table: fixed columns, then every metric the coordinator emits, sorted.
  assert.deepEqual(get('history-head').children[0]!.children.map((c) => c.textContent), [
    'round',
    'participants',
    'failures',
    'duration (s)',
    'eval_accuracy',
    'eval_auroc',
    'eval_balancedAccuracy',
    'eval_ece',
    'train_loss',
    'train_steps',
  ]);
  assert.deepEqual(cells(get('history').children[1]!), ['2', '2', '0', '1.400', '0.700', '0.738', '0.650', '0.050', '0.580', '4']);
  assert.deepEqual(cells(get('history').children[2]!), ['3', '1', '1', '2', '0.700', '0.780', '0.650', '0.050', '0.520', '4']);

  // The AUROC line (eval_auroc, the global model's held-out AUROC): one SVG polyline through the three rounds, left to right, rising.
  assert.equal(get('chart-title').textContent, 'Mean eval_auroc per round');
  const svgs = get('chart').all('svg');
  assert.equal(svgs.length, 1);
  assert.equal(svgs[0]!.ns, 'http://www.w3.org/2000/svg');
  assert.equal(svgs[0]!.attrs['aria-label'], 'eval_auroc per round');
  const line = svgs[0]!.all('polyline');
  assert.equal(line.length, 1);
  const pts = line[0]!.attrs.points!.split(' ').map((p) => p.split(',').map(Number));
  assert.equal(pts.length, 3);
  assert.ok(pts[0]![0]! < pts[1]![0]! && pts[1]![0]! < pts[2]![0]!);
  assert.ok(pts[0]![1]! > pts[1]![1]! && pts[1]![1]! > pts[2]![1]!, 'higher AUROC is drawn higher (smaller y)');
  assert.equal(svgs[0]!.all('circle').length, 3);

  assert.match(get('prior').textContent, /1111100/);
  assert.match(get('debiasing').textContent, /"decision": "on"/);
});

test('an unreachable coordinator is shown and polling continues', async () => {
  const { byId, timers } = await runDashboard(async () => {
    throw new Error('connection refused');
  });
  assert.equal(byId.get('conn')!.className, 'bad');
  assert.match(byId.get('conn')!.textContent, /coordinator unreachable \(connection refused\)/);
  assert.equal(timers.length, 1);
});

test('an empty federation renders placeholders, not errors', async () => {
  const empty: FederationStatus = { ...status(), round: 0, sites: [], history: [], prior: undefined, debiasing: undefined };
  const { byId } = await runDashboard(async () => ({ ok: true, json: async () => empty }));
  assert.equal(byId.get('conn')!.className, 'ok');
  assert.match(byId.get('sites')!.textContent, /no sites/);
  assert.match(byId.get('chart')!.textContent, /no AUROC yet/);
  assert.match(byId.get('history')!.textContent, /no finished rounds yet/);
});

test('the CSP allows exactly the inline script and style, by hash', () => {
  const hash = (s: string) => createHash('sha256').update(s).digest('base64');
  assert.ok(DASHBOARD_HTML.includes(`<script>${DASHBOARD_SCRIPT}</script>`));
  assert.ok(DASHBOARD_HTML.includes(`<style>${DASHBOARD_STYLE}</style>`));
  assert.ok(DASHBOARD_CSP.includes(`script-src 'sha256-${hash(DASHBOARD_SCRIPT)}'`));
  assert.ok(DASHBOARD_CSP.includes(`style-src 'sha256-${hash(DASHBOARD_STYLE)}'`));
  assert.ok(DASHBOARD_CSP.includes("connect-src 'self'"));
  // The script never injects markup.
  assert.doesNotMatch(DASHBOARD_SCRIPT, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
});
