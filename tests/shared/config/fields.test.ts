// The field bounds every config file and flag states through shared/config/fields.ts: here
// TEST_FRACTION, the share of a site's rows held out for testing, where site.yaml's
// testFraction and the --test-fraction flags read it. Both parts must keep rows: 0 and 1 are refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SIMULATE_FLAGS } from '../../../cli/simulate-args.ts';
import { DEFAULT_TEST_FRACTION, TEST_FRACTION } from '../../../shared/config/fields.ts';
import { parseFlags } from '../../../shared/config/flags.ts';
import { parseInput } from '../../../shared/config/issues.ts';
import { InputError } from '../../../shared/errors.ts';
import { siteFileSchema } from '../../../site-agent/config.ts';

const site = { site: 'a', federation: 'f', data: 'a.csv' };
const refused = (f: () => unknown, message: RegExp, what: string) => assert.throws(f, (e: unknown) => e instanceof InputError && message.test(e.message), what);

test('TEST_FRACTION keeps rows on both sides: [0.01, 0.99]', () => {
  assert.deepEqual(TEST_FRACTION, { min: 0.01, max: 0.99 });
  assert.ok(DEFAULT_TEST_FRACTION >= TEST_FRACTION.min && DEFAULT_TEST_FRACTION <= TEST_FRACTION.max, 'the default is within');
});

test('site.yaml: a testFraction of 0 or 1 is refused, naming the field and the range; the bounds themselves are kept', () => {
  for (const bad of [0, 1, 0.009, 0.991])
    refused(() => parseInput(siteFileSchema, { ...site, testFraction: bad }, { file: 'site.yaml' }), /^site\.yaml: testFraction: must be a number in \[0\.01, 0\.99\]/, `testFraction ${bad}`);
  for (const ok of [0.01, 0.99]) assert.equal(parseInput(siteFileSchema, { ...site, testFraction: ok }).testFraction, ok);
  assert.equal(parseInput(siteFileSchema, site).testFraction, DEFAULT_TEST_FRACTION);
});

test('simulate --test-fraction 0 or 1 is refused, naming the flag and the range', () => {
  for (const bad of ['0', '1'])
    // Its only fault: the other flags are given.
    refused(() => parseFlags(['--schema', 's.json', '--model', 'baseline', '--test-fraction', bad], SIMULATE_FLAGS), new RegExp(`^--test-fraction: must be a number in \\[0\\.01, 0\\.99\\] \\(got "${bad}"\\)$`), `--test-fraction ${bad}`);
});
