// What the site does after a failed connection (site-agent/connection-retry.ts): the refusal of
// another release ends it with exit 2, and only a join's refusal is read as one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../shared/errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import { ConnectionRetry } from '../../site-agent/connection-retry.ts';
import type { SiteConfig } from '../../site-agent/config.ts';
import { UnreachableNotice } from '../../site-agent/unreachable-notice.ts';
import type { KitIdentity } from '../../site-agent/kit-refusal.ts';

const cfg = { site: 'va', coordinatorAddress: '127.0.0.1:1', connectTimeoutSeconds: 600 } as SiteConfig;
const retry = () => new ConnectionRetry(cfg, new UnreachableNotice(cfg.coordinatorAddress, 600), () => ({}) as KitIdentity, silentLogger, undefined);
const words = 'site speaks protocol version 3, this coordinator speaks 2';

test("an older coordinator's refusal of the join in words is another release: exit 2", async () => {
  await assert.rejects(retry().afterFailure(Object.assign(new Error(`3 INVALID_ARGUMENT: ${words}`), { code: 3 }), false), (e: Error) => e instanceof InputError && /another fedcausal release/.test(e.message));
});

test('the same words elsewhere (an end message quoting another site, after joining) are not: the error stands (exit 1)', async () => {
  const ended = new Error(`federation ended incomplete: site "b" left out (its join was refused as another fedcausal release: ${words})`);
  await assert.rejects(retry().afterFailure(ended, true), (e: Error) => e === ended);
});
