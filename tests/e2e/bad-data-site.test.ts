// One hospital's file has a poisoned cell (1e308): `check-data` refuses it with exit 2
// naming file, line and column; the same file at a running site stops that site at
// start-up with the same message, before it touches the network. The other sites do not
// wait for it forever: after quorum.waitForAllSeconds they start without it and finish
// every round; the run, resting on a quorum throughout, is complete and names the
// missing site in its warnings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEART_FILES, withFederation } from './helpers/federation.ts';
import { runCli } from './helpers/cli.ts';

interface Results {
  complete: boolean;
  problems?: string[];
  warnings?: string[];
  sites: Record<string, unknown>;
  history: { accepted: boolean; participants: number }[];
}

test('a site with a poisoned cell stops with check-data\'s message; the others finish without it', { timeout: 120_000 }, async () => {
  const sites = ['cleveland', 'hungary', 'va'];
  await withFederation({ sites, rounds: 2, quorum: { waitForAllSeconds: 3, rejoinGraceSeconds: 2 }, hardTimeoutMs: 110_000 }, async (fed) => {
    const lines = readFileSync(HEART_FILES.hungary!, 'utf8').split('\n');
    lines[2] = lines[2]!.replace(/^([^,]*,[^,]*,[^,]*,[^,]*,)[^,]*/, '$11e308'); // line 3, column chol
    const bad = join(fed.dir, 'hungary-poisoned.csv');
    writeFileSync(bad, lines.join('\n'));
    fed.editYaml(fed.siteYaml('hungary'), (c) => ({ ...c, data: bad }));

    const check = await runCli(['check-data', '--schema', join(fed.siteKit('hungary'), 'schema.json'), '--data', bad], 30_000);
    assert.equal(check.code, 2, check.stderr);
    const message = /(\S*hungary-poisoned\.csv:3: column "chol".*)/.exec(check.stderr)?.[1];
    assert.ok(message, check.stderr);

    const coordinator = await fed.startCoordinator();
    const hungary = fed.startSite('hungary');
    const others = ['cleveland', 'va'].map((s) => fed.startSite(s));
    assert.equal(await hungary.exitCode(30_000), 2, hungary.tail());
    assert.ok(hungary.otherStderr.join('\n').includes(message), `the site says what check-data says:\n${hungary.tail()}`);
    assert.equal(await coordinator.exitCode(90_000), 0, coordinator.tail());
    const r = fed.results<Results>(coordinator);
    assert.ok(r.history.length === 2 && r.history.every((h) => h.accepted && h.participants === 2), JSON.stringify(r.history));
    assert.deepEqual(Object.keys(r.sites).sort(), ['cleveland', 'va']);
    assert.equal(r.complete, true, JSON.stringify(r.problems));
    assert.ok(r.warnings?.some((p) => /final evaluation missing from hungary/.test(p)), JSON.stringify(r.warnings));
    assert.ok(coordinator.logs.some((l) => l.message === 'starting without every site' && JSON.stringify(l.missing) === '["hungary"]'));
    for (const s of others) assert.equal(await s.exitCode(20_000), 0, s.tail());
  });
});
