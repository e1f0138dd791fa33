// site.yaml as a hospital edits it: a coordinator.address that cannot be dialled is refused at
// start (exit 2) naming the fault; it was retried for the whole connect window (an outside try).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { provisionFederation } from '../../cli/provision.ts';
import { InputError } from '../../shared/errors.ts';
import { loadSiteConfig } from '../../site-agent/config.ts';
import { federationYaml, tempDir } from '../cli/provision-helpers.ts';

test('coordinator.address in site.yaml: HOST:PORT, checked at start', async (t) => {
  const dir = tempDir(t);
  const kits = await provisionFederation(federationYaml(dir), join(dir, 'kits'));
  const yaml = join(kits.siteKits[0]!.dir, 'site.yaml');
  const doc = YAML.parse(readFileSync(yaml, 'utf8')) as Record<string, unknown>;
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
