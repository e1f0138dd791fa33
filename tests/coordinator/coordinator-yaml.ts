// A provisioned coordinator.yaml with an edit applied: the config tests' one fixture.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { provisionFederation } from '../../cli/provision.ts';
import { federationYaml, tempDir } from '../cli/provision-helpers.ts';

/** Provisions a federation in a temporary folder, applies `edit` to its coordinator.yaml and returns that file's path. */
export async function coordinatorYaml(t: { after(fn: () => void): void }, edit: (doc: Record<string, any>) => void): Promise<string> {
  const dir = tempDir(t);
  const kits = await provisionFederation(federationYaml(dir), join(dir, 'kits'));
  const path = join(kits.coordinatorKit, 'coordinator.yaml');
  const doc = YAML.parse(readFileSync(path, 'utf8')) as Record<string, any>;
  edit(doc);
  writeFileSync(path, YAML.stringify(doc));
  return path;
}
