// `fedcausal watch` and `status` against a real federation (separate processes on loopback):
// the progress of the round being collected, the final evaluation named as such (never
// "round 3/2"), "rounds answered" counting training rounds only, and exit 1 once the
// coordinator is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { withFederation } from '../e2e/helpers/federation.ts';
import { describeRun, runCli } from '../e2e/helpers/cli.ts';
import { FEDCAUSAL_BUILD_VERSION } from '../../shared/version.ts';

const SITES = ['cleveland', 'hungary'];
const ROUNDS = 2;

test('watch follows a real run to its end; status afterwards; watch exits 1 once the coordinator is gone', { timeout: 120_000 }, async () => {
  await withFederation({ sites: SITES, rounds: ROUNDS, hardTimeoutMs: 110_000 }, async (fed) => {
    fed.editYaml(fed.coordinatorYaml, (c) => ({ ...c, listen: { ...(c.listen as object), httpLingerSeconds: 6 } }));
    const coordinator = await fed.startCoordinator();
    const tokenFile = join(fed.kits.coordinatorKit, 'http-token');
    // Without a scheme: http:// is assumed.
    const address = fed.httpUrl.replace(/^http:\/\//, '');
    const watching = runCli(['watch', '--coordinator', address, '--token-file', tokenFile], 100_000);
    const sites = SITES.map((s) => fed.startSite(s));
    // hungary paused once it has joined: the statistics round waits for it, long enough for
    // watch (every 2 s) to show the round under collection (a run of ~2 s could slip between polls).
    await coordinator.waitForLog((l) => l.message === 'site joined' && l.site === 'hungary', 60_000, 'hungary joined');
    sites[1]!.kill('SIGSTOP');
    // 4 s: at least one poll of watch, and under the keepalive's 5 s answer window.
    await new Promise((r) => setTimeout(r, 4000));
    sites[1]!.kill('SIGCONT');
    const watch = await watching;
    assert.equal(watch.code, 0, describeRun(watch));
    assert.match(watch.stdout, /federation e2e: finished/);
    assert.match(watch.stdout, /federation e2e: finished \(federation complete\), round 2\/2 \|/);
    assert.doesNotMatch(watch.stdout, /round 3\/2|NaN/);
    // The round being collected, with its bar and deadline, was shown at least once.
    assert.match(watch.stdout, /(training round \d\/2|statistics round \d|final evaluation) \[[#-]+\] \d\/2 reported.*deadline/);

    // Each site said which fedcausal it runs when it joined: /api/status and the table show it.
    const api = await fed.status();
    assert.deepEqual(api.sites.map((x) => [x.name, x.version, x.roundsCompleted]), SITES.map((x) => [x, FEDCAUSAL_BUILD_VERSION, ROUNDS]));
    const st = await runCli(['status', '--coordinator', fed.httpUrl, '--token-file', tokenFile]);
    assert.equal(st.code, 0, describeRun(st));
    for (const s of SITES) assert.match(st.stdout, new RegExp(`${s}\\s+(online|offline)\\s+${FEDCAUSAL_BUILD_VERSION.replace(/[.+]/g, '\\$&')}\\s.*\\s${ROUNDS}\\s`), `${s}: version, ${ROUNDS} rounds`);

    assert.equal(await coordinator.exitCode(30_000), 0, 'coordinator exit code');
    for (const s of sites) await s.exitCode(10_000);
    const gone = await runCli(['watch', '--coordinator', fed.httpUrl, '--token-file', tokenFile]);
    assert.equal(gone.code, 1, describeRun(gone));
    assert.match(gone.messages.join('\n'), /fedcausal watch: cannot reach the coordinator at http:\/\/127\.0\.0\.1:\d+/);
    // It waited first, saying so, for a coordinator that may be starting (an outside try started watch beside one).
    assert.match(gone.stdout, /^\(cannot reach the coordinator at .*; waiting up to 30 s for it to answer\)$/m);
  });
});
