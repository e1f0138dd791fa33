// The dashboard's pieces that run without a browser: the markup against what the
// scripts look up, the connection states and the bundle itself (the decision in words:
// tests/shared/federation/debiasing-words.test.ts).
// The page as a whole is tested in Chromium: tests/e2e/dashboard.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DASHBOARD_HTML } from '../../../coordinator/http/dashboard.ts';
import { bundleDashboard } from '../../../coordinator/http/dashboard-assets.ts';
import { describe, nextConnection, type Connection } from '../../../coordinator/http/dashboard/src/connection.ts';
import type { FederationStatus } from '../../../shared/federation/status.ts';
import { packagePath } from '../../../shared/package-root.ts';

const SRC = packagePath('coordinator', 'http', 'dashboard', 'src');

function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('every element the scripts look up is in the page', () => {
  const ids = new Set(sources().flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/byId(?:<[^>]+>)?\('([^']+)'\)/g)].map((m) => m[1]!)));
  assert.ok(ids.size >= 20, `found ${ids.size} ids`);
  for (const id of ids) assert.ok(DASHBOARD_HTML.includes(`id="${id}"`), `#${id} missing from the markup`);
});

test('no script writes markup: text goes through textContent', () => {
  for (const f of sources()) assert.doesNotMatch(readFileSync(f, 'utf8'), /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML\(|document\.write\(/, f);
});

const status = (state: FederationStatus['state']): FederationStatus => ({ federation: 'f', round: 2, rounds: 5, state, strategy: 'fedavg', model: 'baseline', sites: [], history: [] });

test('connection: live, then unreachable (never "live" again until an answer), then back', () => {
  let c: Connection = { kind: 'connecting' };
  c = nextConnection(c, { kind: 'ok', status: status('training') }, undefined, 1000);
  assert.deepEqual(c, { kind: 'live', at: 1000 });
  c = nextConnection(c, { kind: 'unreachable', error: 'fetch failed' }, status('training'), 3000);
  assert.deepEqual(c, { kind: 'unreachable', since: 3000, error: 'fetch failed', lastOk: 1000 });
  c = nextConnection(c, { kind: 'unreachable', error: 'fetch failed' }, status('training'), 5000);
  assert.equal(c.kind === 'unreachable' && c.since, 3000, 'unreachable since the first failure');
  assert.match(describe(c).text, /^coordinator unreachable since .* not current$/);
  assert.equal(describe(c).cls, 'bad');
  c = nextConnection(c, { kind: 'ok', status: status('training') }, status('training'), 7000);
  assert.equal(c.kind, 'live');
});

test('connection: a finished run that stops answering is "finished", not "unreachable"', () => {
  let c = nextConnection({ kind: 'live', at: 1 }, { kind: 'ok', status: status('finished') }, status('training'), 2);
  assert.deepEqual(c, { kind: 'finished', at: 2, serving: true, state: 'finished' });
  c = nextConnection(c, { kind: 'unreachable', error: 'fetch failed' }, status('finished'), 4);
  assert.deepEqual(c, { kind: 'finished', at: 2, serving: false, state: 'finished' });
  assert.match(describe(c).text, /^run finished \(finished\) · the coordinator has stopped/);
  assert.equal(describe(c).cls, 'done');
});

test('connection: a run that ended incomplete or failed says so, as a problem', () => {
  const incomplete = nextConnection({ kind: 'live', at: 1 }, { kind: 'ok', status: { ...status('finished'), outcome: 'incomplete' } }, status('evaluating'), 2);
  assert.deepEqual(describe(incomplete), { text: 'run finished (incomplete) · the coordinator still serves its results', cls: 'bad' });
  const complete = nextConnection({ kind: 'live', at: 1 }, { kind: 'ok', status: { ...status('finished'), outcome: 'complete' } }, status('evaluating'), 2);
  assert.deepEqual(describe(complete), { text: 'run finished (complete) · the coordinator still serves its results', cls: 'done' });
  const failed = nextConnection({ kind: 'live', at: 1 }, { kind: 'ok', status: { ...status('failed'), outcome: 'failed' } }, status('training'), 2);
  assert.deepEqual(describe(failed), { text: 'run finished (failed) · the coordinator still serves its results', cls: 'bad' });
});

test('connection: 401 asks for a token, or says the one given was refused', () => {
  assert.match(describe(nextConnection({ kind: 'connecting' }, { kind: 'unauthorized', hadToken: false }, undefined, 1)).text, /^token required \(HTTP 401\)/);
  assert.match(describe(nextConnection({ kind: 'connecting' }, { kind: 'unauthorized', hadToken: true }, undefined, 1)).text, /^token refused \(HTTP 401\)/);
});

test('the bundle: one script with uPlot and no Node module, one stylesheet with uPlot\'s CSS', async () => {
  const { js, css } = await bundleDashboard();
  assert.match(js.slice(0, 40), /^("use strict";)?\(\(\)=>\{/, 'an IIFE: no module scope leaks into the page');
  assert.ok(js.includes('uplot'), 'uPlot is in the bundle');
  assert.doesNotMatch(js, /require\("node:|from"node:/);
  assert.match(css, /\.uplot\{/);
  assert.match(css, /\.conn\.bad\{/);
  assert.ok(js.length < 200_000, `bundle is ${js.length} bytes`);
});
