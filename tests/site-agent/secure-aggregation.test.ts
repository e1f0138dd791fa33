// A site's side of a secure round on the federation's tasks: what its fit result holds
// (a key advertisement, nothing about its data), and the refusals it answers with.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateIdentity } from '../../shared/crypto/keys.ts';
import { silentLogger } from '../../shared/logger.ts';
import type { ResultMeta, TaskMeta } from '../../shared/protocol/messages.ts';
import { compileSecAggConfig } from '../../shared/secagg/config.ts';
import { toB64 } from '../../shared/secagg/wire.ts';
import { SecureAggregationSite } from '../../site-agent/secure-aggregation.ts';

const ids = new Map(['a', 'b', 'c'].map((s) => [s, generateIdentity()]));
const roster = Object.fromEntries([...ids].map(([s, id]) => [s, toB64(id.signing.publicKey)]));
const secagg = { session: 'f/1/fit', config: compileSecAggConfig({}), roster };
const task = (extra: Partial<TaskMeta> = {}) => ({ federation: 'f', round: 1, kind: 'fit', config: {}, weights: 3, secagg, ...extra }) as TaskMeta;
const base = (kind: ResultMeta['kind'] = 'fit'): ResultMeta => ({ round: 1, kind, numExamples: 120, metrics: {}, weights: 0 });
const evaluation = { n: 40, auroc: 0.8, accuracy: 0.7, balancedAccuracy: 0.7, ece: 0.05 };

test('a secure fit result is a signed key advertisement: no weights, no example count, no per-site metrics', () => {
  const site = new SecureAggregationSite('a', ids.get('a')!.signing, silentLogger);
  const { meta, weights } = site.fitResult(task(), base(), Float32Array.of(0.1, -0.2, 0.3), 120, { loss: 0.6, steps: 4, trainMs: 12 }, evaluation);
  assert.equal(weights, undefined);
  assert.equal(meta.error, undefined, meta.error);
  assert.equal(meta.numExamples, 0);
  assert.equal(meta.weights, 0);
  assert.deepEqual(meta.metrics, { trainMs: 12 });
  assert.equal(meta.evaluation, undefined);
  assert.deepEqual(Object.keys(meta.secagg!), ['advert']);
  assert.deepEqual(Object.keys(meta.secagg!.advert as object).sort(), ['encryptionKey', 'maskKey', 'signature', 'site']);
});

test('a roster without the site\'s own enrolled key, a closed session or a wrong phase is answered with a refusal', async () => {
  const site = new SecureAggregationSite('a', ids.get('a')!.signing, silentLogger);
  const forged = site.fitResult(task({ secagg: { ...secagg, roster: { ...roster, a: roster.b! } } }), base(), Float32Array.of(0), 1, {}, undefined);
  assert.match(forged.meta.error ?? '', /^secure aggregation bad-signature: the roster does not carry a's enrolled signing key/);
  const closed = await site.answer({ federation: 'f', round: 1, kind: 'secagg', config: {}, weights: 0, stage: 1, secagg: { session: 'f/9/fit', adverts: [] } }, base('secagg'));
  assert.match(closed.meta.error ?? '', /^secure aggregation wrong-phase: no secure round f\/9\/fit is open at a/);
  site.fitResult(task(), base(), Float32Array.of(0.1, 0.2, 0.3), 10, {}, undefined);
  const early = await site.answer({ federation: 'f', round: 1, kind: 'secagg', config: {}, weights: 0, stage: 3, secagg: { session: 'f/1/fit', survivors: ['a', 'b', 'c'] } }, base('secagg'));
  assert.match(early.meta.error ?? '', /^secure aggregation wrong-phase: a is in the share phase, not confirm/);
});
