// site.yaml as a hospital edits it: a coordinator.address that cannot be dialled is refused at
// start (exit 2) naming the fault; it was retried for the whole connect window (an outside try).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { provisionFederation } from '../../cli/provision.ts';
import { InputError } from '../../shared/errors.ts';
import { loadSiteConfig } from '../../site-agent/config.ts';
import { federationYaml, tempDir } from '../cli/provision-helpers.ts';

/** A provisioned site's site.yaml and its parsed content. */
async function siteYaml(t: TestContext): Promise<{ yaml: string; doc: Record<string, unknown> }> {
  const dir = tempDir(t);
  const kits = await provisionFederation(federationYaml(dir), join(dir, 'kits'));
  const yaml = join(kits.siteKits[0]!.dir, 'site.yaml');
  return { yaml, doc: YAML.parse(readFileSync(yaml, 'utf8')) as Record<string, unknown> };
}

test('coordinator.address in site.yaml: HOST:PORT, checked at start', async (t) => {
  const { yaml, doc } = await siteYaml(t);
  const withAddress = (address: string) => {
    writeFileSync(yaml, YAML.stringify({ ...doc, coordinator: { address } }));
    return () => loadSiteConfig(yaml);
  };
  assert.equal(withAddress('[::1]:31443')().coordinatorAddress, '[::1]:31443');
  for (const [address, why] of [
    ['https://127.0.0.1:31443', 'has a scheme'],
    ['127.0.0.1', 'has no port'],
    ['127.0.0.1:314430', 'has port 314430, not in 1-65535'],
  ] as const)
    assert.throws(withAddress(address), (e: unknown) => e instanceof InputError && e.message.includes('coordinator.address') && e.message.includes(why), address);
});

test('privacy in site.yaml: the hospital\'s floor, absent = the coordinator\'s settings accepted, each fault named', async (t) => {
  const { yaml, doc } = await siteYaml(t);
  const withPrivacy = (privacy: unknown) => {
    writeFileSync(yaml, YAML.stringify(privacy === undefined ? doc : { ...doc, privacy }));
    return () => loadSiteConfig(yaml);
  };
  assert.deepEqual(withPrivacy(undefined)().privacy, { requireSecureAggregation: false, requireDifferentialPrivacy: false });
  assert.deepEqual(withPrivacy({ requireSecureAggregation: true, minCellCount: 10, minCategoryCount: 20 })().privacy, {
    requireSecureAggregation: true,
    requireDifferentialPrivacy: false,
    minCellCount: 10,
    minCategoryCount: 20,
  });
  for (const [privacy, words] of [
    [{ minCellCount: 0 }, 'privacy.minCellCount: must be an integer in [1, 1000000] (got 0)'],
    [{ minCategoryCount: 2.5 }, 'privacy.minCategoryCount: must be an integer in [1, 1000000] (got 2.5)'],
    [{ requireSecureAggregation: 'yes' }, 'privacy.requireSecureAggregation: must be true or false (got "yes")'],
    [{ requireDifferentialPrivacy: 1 }, 'privacy.requireDifferentialPrivacy: must be true or false (got 1)'],
    [{ requireSecureAgregation: true }, 'privacy.requireSecureAgregation: is not a known field (did you mean "requireSecureAggregation"?)'],
    ['on', 'privacy: must be a mapping (got "on")'],
  ] as const)
    assert.throws(withPrivacy(privacy), (e: unknown) => e instanceof InputError && e.message.includes(`site.yaml: ${words}`), JSON.stringify(privacy));
});
