import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SiteDirectory } from '../../coordinator/directory.ts';
import { EndNotice } from '../../coordinator/end-notice.ts';
import type { Logger } from '../../shared/logger.ts';
import type { TaskSink, WireMessage } from '../../shared/transport/types.ts';

const sink = (): TaskSink => ({ send: async () => {}, end: () => {} });

function setup(names: string[]) {
  const directory = new SiteDirectory(names.map((name) => ({ name, signingPublicKey: new Uint8Array(32) })));
  const sent: string[] = [];
  const notice = new EndNotice(
    (site) => ({ header: new TextEncoder().encode(site) }) as unknown as WireMessage,
    async (site) => void sent.push(site),
  );
  const said: string[] = [];
  const log: Logger = { debug: () => {}, info: (m) => void said.push(m), warn: (m) => void said.push(m), error: () => {}, child: () => log };
  return { directory, sent, notice, said, log };
}

test('every site acknowledged the end: returns at once', async () => {
  const { directory, notice, log, said } = setup(['a', 'b']);
  directory.connect('a', sink());
  await notice.tell('a');
  notice.heard('a');
  const started = Date.now();
  await notice.awaitAway(directory, 60_000, log);
  assert.ok(Date.now() - started < 1000);
  assert.deepEqual(said, []);
});

test('a site that went away as the end went out is waited for, and the wait ends when it acknowledges', async () => {
  const { directory, notice, sent, log, said } = setup(['a', 'b']);
  const s = sink();
  directory.connect('b', s);
  directory.disconnect('b', s);
  const started = Date.now();
  const waiting = notice.awaitAway(directory, 60_000, log);
  // Back after the first notice: it is told again, and acknowledges.
  setTimeout(() => void notice.tell('b').then(() => notice.heard('b')), 1500);
  await waiting;
  assert.ok(Date.now() - started < 5000, 'not the whole grace');
  assert.deepEqual(sent, ['b']);
  assert.ok(notice.wasHeard('b'));
  assert.deepEqual(notice.expectation('b', 3), undefined, 'nothing more is taken from it');
  assert.match(said[0] ?? '', /the federation ended while sites were away or had not acknowledged it/);
  assert.match(said.at(-1)!, /every site away at the end came back and was told/);
});

test('a connected site that has not acknowledged yet is waited for; a quick acknowledgement says nothing', async () => {
  const { directory, notice, log, said } = setup(['a']);
  directory.connect('a', sink());
  assert.deepEqual(notice.expectation('a', 7), { round: 7, kind: 'end-ack', maxPayloadBytes: 4096 });
  const waiting = notice.awaitAway(directory, 60_000, log);
  setTimeout(() => notice.heard('a'), 50);
  await waiting;
  assert.deepEqual(said, []);
});

test('the wait lasts only the rest of the grace, and says who was not told', async () => {
  const { directory, notice, log, said } = setup(['a']);
  const s = sink();
  directory.connect('a', s);
  directory.disconnect('a', s);
  const started = Date.now();
  await notice.awaitAway(directory, 300, log);
  const waited = Date.now() - started;
  assert.ok(waited >= 250 && waited < 3000, `waited ${waited} ms`);
  assert.match(said.at(-1)!, /did not acknowledge the end before their grace ran out/);
});

test('a site gone for longer than the grace, or never seen, is not waited for; a stop ends the wait', async () => {
  const { directory, notice, log, said } = setup(['old', 'never', 'recent']);
  const s = sink();
  directory.connect('old', s);
  directory.disconnect('old', s);
  await new Promise((r) => setTimeout(r, 60));
  const started = Date.now();
  await notice.awaitAway(directory, 50, log);
  assert.ok(Date.now() - started < 40);
  assert.deepEqual(said, []);

  const r = sink();
  directory.connect('recent', r);
  directory.disconnect('recent', r);
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 50);
  const t0 = Date.now();
  await notice.awaitAway(directory, 60_000, log, stop.signal);
  assert.ok(Date.now() - t0 < 5000, 'the stop ended the wait');
});
