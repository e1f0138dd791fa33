import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../e2e/helpers/cli.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol/messages.ts';
import { FEDCAUSAL_BUILD, gitCommit } from '../../shared/version.ts';

const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

test('--version prints the package version, the build and the protocol, alone or after any command, exit 0', async () => {
  // A checkout knows its commit: every build said "0.1.0" alone, so builds could not be told apart.
  assert.match(FEDCAUSAL_BUILD ?? '', /^[0-9a-f]{7}$/);
  for (const args of [['--version'], ['-V'], ['site', '--version'], ['coordinator', 'start', '--version'], ['simulate', '--version']]) {
    const r = await runCli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, `fedcausal ${VERSION} (build ${FEDCAUSAL_BUILD}, protocol ${PROTOCOL_VERSION})\n`, args.join(' '));
  }
});

test('the commit is read from a checkout\'s files: a branch ref, a packed ref, a detached head; nothing where there is none', (t) => {
  const git = mkdtempSync(join(tmpdir(), 'fedcausal-git-'));
  t.after(() => rmSync(git, { recursive: true, force: true }));
  const hash = 'abcdef0123456789abcdef0123456789abcdef01';
  assert.equal(gitCommit(git), undefined);
  writeFileSync(join(git, 'HEAD'), 'ref: refs/heads/main\n');
  assert.equal(gitCommit(git), undefined, 'a ref that exists nowhere');
  writeFileSync(join(git, 'packed-refs'), `# pack-refs with: peeled\n${hash} refs/heads/main\n`);
  assert.equal(gitCommit(git), 'abcdef0');
  mkdirSync(join(git, 'refs', 'heads'), { recursive: true });
  writeFileSync(join(git, 'refs', 'heads', 'main'), `${hash.replace('a', '1')}\n`);
  assert.equal(gitCommit(git), '1bcdef0');
  writeFileSync(join(git, 'HEAD'), `${hash}\n`);
  assert.equal(gitCommit(git), 'abcdef0');
});

test('a worktree: .git is a file naming its git folder, whose branch refs live in the main repository', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'fedcausal-worktree-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const main = join(root, 'repo', '.git');
  const wt = join(main, 'worktrees', 'wt');
  mkdirSync(join(main, 'refs', 'heads'), { recursive: true });
  mkdirSync(wt, { recursive: true });
  mkdirSync(join(root, 'wt'));
  writeFileSync(join(main, 'refs', 'heads', 'topic'), `${'c'.repeat(40)}\n`);
  writeFileSync(join(wt, 'HEAD'), 'ref: refs/heads/topic\n');
  writeFileSync(join(wt, 'commondir'), '../..\n');
  writeFileSync(join(root, 'wt', '.git'), `gitdir: ${wt}\n`);
  assert.equal(gitCommit(join(root, 'wt', '.git')), 'ccccccc');
  // A SHA-256 repository's longer hashes too.
  writeFileSync(join(wt, 'HEAD'), `${'d'.repeat(64)}\n`);
  assert.equal(gitCommit(join(root, 'wt', '.git')), 'ddddddd');
});
