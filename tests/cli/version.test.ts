import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runCli } from '../e2e/helpers/cli.ts';

const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

test('--version prints the package version, alone or after any command, exit 0', async () => {
  for (const args of [['--version'], ['-V'], ['site', '--version'], ['coordinator', 'start', '--version'], ['simulate', '--version']]) {
    const r = await runCli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, `fedcausal ${VERSION}\n`, args.join(' '));
  }
});
