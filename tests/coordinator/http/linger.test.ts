import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lingerHttp } from '../../../coordinator/http/linger.ts';
import { silentLogger } from '../../../shared/logger.ts';

test('lingers only after a finished or failed run, for the configured time, and a stop ends it at once', async () => {
  let t0 = Date.now();
  await lingerHttp(0, 'finished', undefined, silentLogger);
  await lingerHttp(5, 'stopped', undefined, silentLogger);
  assert.ok(Date.now() - t0 < 100, 'no wait when off or after a stop on request');

  t0 = Date.now();
  await lingerHttp(0.3, 'failed', undefined, silentLogger);
  assert.ok(Date.now() - t0 >= 290, `a failed run's status is served too: waited ${Date.now() - t0} ms`);

  t0 = Date.now();
  await lingerHttp(0.3, 'finished', undefined, silentLogger);
  assert.ok(Date.now() - t0 >= 290, `waited ${Date.now() - t0} ms`);

  const ac = new AbortController();
  t0 = Date.now();
  setTimeout(() => ac.abort(), 100);
  await lingerHttp(30, 'finished', ac.signal, silentLogger);
  assert.ok(Date.now() - t0 < 1000, `a stop ended it after ${Date.now() - t0} ms`);
});
