// Secure aggregation at the site agent: the statistics sums' guards against differencing,
// the final evaluation's survivor check, and a secure fit's failure. Setup shared in agent-harness.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateIdentity } from '../../shared/crypto/keys.ts';
import type { ResultMeta } from '../../shared/protocol/messages.ts';
import { compileSecAggConfig } from '../../shared/secagg/config.ts';
import { SECAGG_PHASE, secaggStage, toB64 } from '../../shared/secagg/wire.ts';
import { end, fakeRunner, model, prior, serve, site, SITE, space, task } from './agent-harness.ts';

test('secure names round: only for this site\'s own summary session, and once (a second roster would difference out one site)', async () => {
  const config = compileSecAggConfig({});
  const roster = { [SITE]: toB64(site.signing.publicKey), b: toB64(generateIdentity().signing.publicKey), c: toB64(generateIdentity().signing.publicKey) };
  const summary = 'fed/0/stats-1';
  // Each in a round of its own: the replay guard takes one task of a kind per round, and a coordinator picks the round.
  const names = (round: number, session: string, secaggSession: string) =>
    task({ kind: 'stats', round, stage: 4, vocabulary: { session, buckets: { c: [0, 1] } }, secagg: { session: secaggSession, config, roster } });
  const { submitted, ended } = await serve([
    task({ kind: 'stats', round: 0, stage: 1, secagg: { session: summary, config, roster } }),
    names(0, 'fed/0/other', 'fed/0/stats-4a'),
    names(1, summary, 'fed/1/stats-4b'),
    names(2, summary, 'fed/2/stats-4c'),
    end(2),
  ]);
  assert.equal(ended.error, undefined);
  assert.deepEqual(submitted.map((s) => s.kind), ['stats-result-1', 'stats-result-4', 'stats-result-4', 'stats-result-4']);
  const [, foreign, first, second] = submitted.map((s) => s.meta) as [ResultMeta, ResultMeta, ResultMeta, ResultMeta];
  assert.match(foreign.error ?? '', /^secure aggregation malformed: the names task's session "fed\/0\/other" is not this site's summary session/);
  assert.equal(first.error, undefined);
  assert.ok(first.secagg, 'the first names task is answered with a key advertisement');
  assert.match(second.error ?? '', /^secure aggregation double-request: this site already answered the names task of summary session "fed\/0\/stats-1"/);
});

test('secure statistics: every sum invites the first summary\'s sites, and each stage is summed once per summary', async () => {
  const config = compileSecAggConfig({});
  const key = () => toB64(generateIdentity().signing.publicKey);
  const roster = { [SITE]: toB64(site.signing.publicKey), b: key(), c: key(), d: key() };
  const { d: _d, ...withoutD } = roster;
  const stats = (round: number, stage: number, session: string, r: Record<string, string>) =>
    task({ kind: 'stats', round, stage, ...(stage === 2 ? { featureSpace: space } : {}), secagg: { session, config, roster: r } });
  const { submitted, ended } = await serve([
    stats(0, 1, 'fed/0/stats-1', roster),
    stats(0, 2, 'fed/0/stats-2a', withoutD),
    stats(1, 2, 'fed/1/stats-2b', roster),
    stats(2, 2, 'fed/2/stats-2c', roster),
    // A restarted coordinator's new summary, over the same sites, starts afresh; over fewer, it is refused.
    stats(3, 1, 'fed/3/stats-1', roster),
    stats(4, 1, 'fed/4/stats-1', withoutD),
    end(4),
  ]);
  assert.equal(ended.error, undefined);
  const errors = submitted.map((x) => x.meta.error);
  assert.equal(errors[0], undefined);
  assert.match(errors[1] ?? '', /^secure aggregation malformed: statistics stage 2 invites a, b, c, not the sites of this site's first statistics sum/);
  assert.equal(errors[2], undefined, 'the same sites: answered');
  assert.match(errors[3] ?? '', /^secure aggregation double-request: statistics stage 2 was summed already for summary session "fed\/0\/stats-1"/);
  assert.equal(errors[4], undefined);
  assert.match(errors[5] ?? '', /statistics stage 1 invites a, b, c, not the sites/);
});

test('secure statistics: a later stage summed over other sites than the first sum is not signed (a site that left after stage 1)', async () => {
  const config = compileSecAggConfig({});
  const key = () => toB64(generateIdentity().signing.publicKey);
  const roster = { [SITE]: toB64(site.signing.publicKey), b: key(), c: key(), d: key() };
  const confirm = (round: number, stage: number, session: string, survivors: string[]) => task({ kind: 'secagg', round, stage: secaggStage(stage, SECAGG_PHASE.confirm), secagg: { session, survivors } });
  const { submitted, ended } = await serve([
    task({ kind: 'stats', round: 0, stage: 1, secagg: { session: 'fed/0/stats-1', config, roster } }),
    confirm(0, 1, 'fed/0/stats-1', [SITE, 'b', 'c', 'd']),
    task({ kind: 'stats', round: 1, stage: 2, featureSpace: space, secagg: { session: 'fed/1/stats-2', config, roster } }),
    confirm(1, 2, 'fed/1/stats-2', [SITE, 'b', 'c']),
    end(1),
  ]);
  assert.equal(ended.error, undefined);
  const errors = submitted.map((x) => x.meta.error);
  assert.ok(!/summed over/.test(errors[1] ?? ''), `the first sum's list is this site's reference: ${errors[1]}`);
  assert.equal(errors[2], undefined, 'stage 2 invites the same sites: answered');
  assert.match(
    errors[3] ?? '',
    /^secure aggregation malformed: statistics stage 2 would be summed without d, unlike this site's first statistics sum \(a, b, c, d\): the difference would be the figures of d; restart the federation with the same sites online/,
  );
});

test('secure final evaluation: a survivor list leaving too few test-only sites in their scope is not signed', async () => {
  const config = compileSecAggConfig({});
  const roster = Object.fromEntries([SITE, 'b', 'c', 'd', 'e'].map((s) => [s, toB64(s === SITE ? site.signing.publicKey : generateIdentity().signing.publicKey)]));
  const session = 'fed/3/eval';
  const confirm = (round: number, survivors: string[]) => task({ kind: 'secagg', round, stage: 93, secagg: { session, survivors } });
  const { submitted, ended } = await serve([
    task({ kind: 'evaluate', round: 3, featureSpace: space, prior, model, config: { final: true }, secagg: { session, config, roster, testSites: ['c', 'd', 'e'] } }, Float32Array.from([1, 1])),
    confirm(3, [SITE, 'b', 'c', 'd']),
    end(3),
  ]);
  assert.equal(ended.error, undefined);
  assert.ok(submitted[0]!.meta.secagg, 'the evaluation is answered with a key advertisement');
  assert.match(submitted[1]!.meta.error ?? '', /^secure aggregation malformed: the final evaluation's survivor list keeps 2 of the 3 test-only sites \(c, d\)/);
});

test('a secure fit whose training diverges reports the failure without its row count', async () => {
  const runner = fakeRunner({ loss: Number.NaN });
  const secagg = { session: 'fed/1/fit/00', config: compileSecAggConfig({}), roster: { [SITE]: toB64(site.signing.publicKey) } };
  const { submitted } = await serve([task({ kind: 'fit', round: 1, featureSpace: space, prior, model, secagg }, Float32Array.from([1, 2])), end(1)], {}, runner);
  assert.equal(submitted[0]!.meta.error, 'training loss is NaN');
  assert.equal(submitted[0]!.meta.numExamples, 0, 'the row count stays in the sum, which this site never joins');
});
