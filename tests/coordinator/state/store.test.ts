import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import YAML from 'yaml';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { exitCodeFor, InputError, StorageError } from '../../../shared/errors.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinatorStore, nativeModuleMissing, STATE_FORMAT } from '../../../coordinator/state/store.ts';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-store-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a committed round reads back exactly; an uncommitted setup reads as nothing', () => {
  withDir((dir) => {
    const path = join(dir, 'state', 'coordinator.sqlite');
    const s = CoordinatorStore.open(path, 'fed', 'fp');
    assert.equal(s.load(), undefined, 'no setup yet: a restart starts from the statistics rounds');
    const initial = Float32Array.from([0.5, -1, 3e-8]);
    s.commitSetup({ spec: { kind: 'baseline' } }, initial);
    assert.deepEqual(s.load()?.global, initial);
    assert.equal(s.load()?.round, 0);
    const global = Float32Array.from([1, 2, Math.PI]);
    const strategy = new Uint8Array(new Float64Array([0.25, 7]).buffer);
    s.commitRound({ round: 1, record: { round: 1, accepted: true }, global, strategy, loop: { sites: { a: 1 } } });
    s.rememberMessage('m1', 1000);
    s.close();

    const again = CoordinatorStore.open(path, 'fed', 'fp');
    const saved = again.load()!;
    assert.equal(saved.round, 1);
    assert.deepEqual(saved.global, global);
    assert.deepEqual(saved.strategy, strategy);
    assert.deepEqual(saved.loop, { sites: { a: 1 } });
    assert.deepEqual(saved.history, [{ round: 1, accepted: true }]);
    assert.deepEqual(saved.setup, { spec: { kind: 'baseline' } });
    assert.deepEqual(again.seenMessages(0), [['m1', 1000]]);
    again.forgetMessagesBefore(2000);
    assert.deepEqual(again.seenMessages(0), []);
    again.finish('/runs/x/results.json');
    assert.equal(again.load()?.finished?.results, '/runs/x/results.json');
    again.close();
  });
});

test('a state file that is not ours, not this federation\'s or newer is refused and left untouched', () => {
  withDir((dir) => {
    const path = join(dir, 'coordinator.sqlite');
    CoordinatorStore.open(path, 'fed', 'fp').close();
    const before = readFileSync(path);
    assert.throws(() => CoordinatorStore.open(path, 'other', 'fp'), /belongs to federation "fed", not "other".*left as it is/);
    assert.throws(() => CoordinatorStore.open(path, 'fed', 'changed'), /different configuration/);
    assert.deepEqual(readFileSync(path), before);

    const db = new Database(path);
    db.pragma(`user_version = ${STATE_FORMAT + 1}`);
    db.close();
    assert.throws(() => CoordinatorStore.open(path, 'fed', 'fp'), /newer fedcausal \(state format 2/);

    const foreign = join(dir, 'foreign.sqlite');
    const f = new Database(foreign);
    f.exec('CREATE TABLE t (x)');
    f.close();
    assert.throws(() => CoordinatorStore.open(foreign, 'fed', 'fp'), /is not a fedcausal coordinator state file/);

    const garbage = join(dir, 'garbage.sqlite');
    writeFileSync(garbage, 'this is not a database at all, just some text that is long enough'.repeat(100));
    assert.throws(() => CoordinatorStore.open(garbage, 'fed', 'fp'), /cannot be read as a coordinator state file/);
    assert.match(readFileSync(garbage, 'utf8'), /^this is not a database/);
  });
});

test('a corrupted page is found at open', () => {
  withDir((dir) => {
    const path = join(dir, 'coordinator.sqlite');
    const s = CoordinatorStore.open(path, 'fed', 'fp');
    for (let r = 1; r <= 50; r++) s.commitRound({ round: r, record: { round: r, pad: 'x'.repeat(2000) }, global: new Float32Array(1000), loop: {} });
    s.close();
    const bytes = readFileSync(path);
    // Scribble over the middle pages (the b-tree of the rounds table), keeping the header.
    for (let i = 8192; i < bytes.length - 4096; i += 7) bytes[i] = 0xa5;
    writeFileSync(path, bytes);
    assert.throws(() => CoordinatorStore.open(path, 'fed', 'fp'), /corrupt|cannot be read/);
  });
});

test('a second coordinator on the same state file is refused while the first holds it', () => {
  withDir((dir) => {
    const path = join(dir, 'coordinator.sqlite');
    const first = CoordinatorStore.open(path, 'fed', 'fp');
    first.commitSetup({}, new Float32Array(1));
    try {
      assert.throws(() => CoordinatorStore.open(path, 'fed', 'fp'), /in use by another coordinator process \(it holds the file for as long as it runs\): stop that one first/);
    } finally {
      first.close();
    }
    CoordinatorStore.open(path, 'fed', 'fp').close();
  });
});

test('the configuration fingerprint sees the schema\'s sets and maps (a changed categorical list is another configuration)', async () => {
  const { configFingerprint } = await import('../../../coordinator/main.ts');
  const base = { federation: 'f', seed: 1, model: { kind: 'baseline', raw: {} }, strategy: { name: 'fedavg', options: {} }, sites: [], minCellCount: 5, localBaseline: false };
  const schema = (categorical: string[]) => ({ categorical: new Set(categorical), ranges: new Map([['age', [0, 120]]]) });
  const fp = (categorical: string[]) => configFingerprint({ ...base, schema: schema(categorical) } as unknown as Parameters<typeof configFingerprint>[0]);
  assert.equal(fp(['sex']), fp(['sex']));
  assert.notEqual(fp(['sex']), fp(['sex', 'cp']));
});

test("coordinator.yaml's keys and the schema's sets reordered are the same configuration; a value changed is not", async (t) => {
  const { configFingerprint, configParts } = await import('../../../coordinator/main.ts');
  const { loadCoordinatorConfig } = await import('../../../coordinator/config.ts');
  const { coordinatorYaml } = await import('../coordinator-yaml.ts');
  const path = await coordinatorYaml(t, (doc) => {
    doc.model = { kind: 'debiased', hiddenDim: 16, localEpochs: 2, debiasing: { trusted: ['age'], decide: { maxRelative: 0.4, peerLink: 0.3 } } };
    doc.strategy = { name: 'fedadam', serverLearningRate: 0.1, beta1: 0.9 };
  });
  const before = loadCoordinatorConfig(path);
  // What a tidy-up or a tool that sorts keys does between a stop and a restart (it refused to resume: "model, strategy changed since").
  const text = readFileSync(path, 'utf8');
  const doc = YAML.parse(text) as Record<string, unknown>;
  const reordered = Object.fromEntries(Object.keys(doc).reverse().map((k) => [k, doc[k]]));
  reordered.model = { debiasing: { decide: { peerLink: 0.3, maxRelative: 0.4 }, trusted: ['age'] }, localEpochs: 2, hiddenDim: 16, kind: 'debiased' };
  reordered.strategy = { beta1: 0.9, serverLearningRate: 0.1, name: 'fedadam' };
  writeFileSync(path, YAML.stringify(reordered));
  const after = loadCoordinatorConfig(path);
  assert.equal(configFingerprint(after), configFingerprint(before));
  assert.deepEqual(configParts(after), configParts(before));
  const missing = (cfg: typeof before, values: string[]) => ({ ...cfg, schema: { ...cfg.schema, missingValues: new Set(values) } });
  assert.equal(configFingerprint(missing(before, ['?', ''])), configFingerprint(missing(before, ['', '?'])), "a set's members in another order");
  reordered.strategy = { beta1: 0.8, serverLearningRate: 0.1, name: 'fedadam' };
  writeFileSync(path, YAML.stringify(reordered));
  assert.notEqual(configFingerprint(loadCoordinatorConfig(path)), configFingerprint(before), 'a value changed');
});

test('a state file of a build before the canonical fingerprint resumes under its configuration, and names what changed under another', () => {
  withDir((dir) => {
    const path = join(dir, 'coordinator.sqlite');
    CoordinatorStore.open(path, 'fed', 'legacy-fp', { model: 'm1', seed: 's1' }).close();
    // As the earlier build left it: no fingerprintForm.
    const db = new Database(path);
    db.prepare("DELETE FROM meta WHERE key = 'fingerprintForm'").run();
    db.close();
    CoordinatorStore.open(path, 'fed', 'canonical-fp', { model: 'c1', seed: 'c2' }, { fingerprint: 'legacy-fp', parts: { model: 'm1', seed: 's1' } }).close();
    assert.throws(
      () => CoordinatorStore.open(path, 'fed', 'canonical-fp', { model: 'c1', seed: 'c2' }, { fingerprint: 'legacy-fp2', parts: { model: 'm1', seed: 's2' } }),
      /different configuration \(seed changed since\)/,
    );
    // A file this build wrote is compared with the canonical form only.
    const fresh = join(dir, 'fresh.sqlite');
    CoordinatorStore.open(fresh, 'fed', 'canonical-fp', { model: 'c1' }, { fingerprint: 'legacy-fp', parts: { model: 'm1' } }).close();
    assert.throws(() => CoordinatorStore.open(fresh, 'fed', 'other', { model: 'c2' }, { fingerprint: 'canonical-fp', parts: { model: 'c1' } }), /\(model changed since\)/);
  });
});

test('a restart under a changed configuration names the parts that changed', () => {
  withDir((dir) => {
    const path = join(dir, 'coordinator.sqlite');
    CoordinatorStore.open(path, 'fed', 'fp', { model: 'm1', seed: 's1', sites: 'a' }).close();
    assert.throws(
      () => CoordinatorStore.open(path, 'fed', 'fp2', { model: 'm2', seed: 's1', sites: 'b' }),
      /was written with a different configuration \(model, sites changed since\), so the run cannot resume under this one: put the configuration back to resume it; it is left as it is/,
    );
    // Each model setting named on its own (an outside try changed hiddenDim and was told "model changed").
    const fine = join(dir, 'fine.sqlite');
    CoordinatorStore.open(fine, 'fed', 'fp', { model: 'm1', 'model.kind': 'k', 'model.hiddenDim': 'h16', seed: 's1' }).close();
    assert.throws(() => CoordinatorStore.open(fine, 'fed', 'fp2', { model: 'm2', 'model.kind': 'k', 'model.hiddenDim': 'h32', seed: 's1' }), /\(model\.hiddenDim changed since\)/);
    assert.throws(() => CoordinatorStore.open(fine, 'fed', 'fp2', { model: 'm2', 'model.kind': 'k', 'model.hiddenDim': 'h16', 'model.localEpochs': 'e2', seed: 's1' }), /\(model\.localEpochs changed since\)/);
    // A state that kept the model whole only: the part, not a setting it cannot tell.
    assert.throws(() => CoordinatorStore.open(path, 'fed', 'fp2', { model: 'm2', 'model.hiddenDim': 'h32', seed: 's1', sites: 'a' }), /\(model changed since\)/);
    // A state file written before the parts were kept: the general words.
    CoordinatorStore.open(join(dir, 'old.sqlite'), 'fed', 'fp').close();
    assert.throws(() => CoordinatorStore.open(join(dir, 'old.sqlite'), 'fed', 'fp2', { model: 'm' }), /\(model, strategy, seed, schema or sites changed since\)/);
  });
});

test('the SQLite module missing or built for another Node is named as such, not blamed on the state file', () => {
  assert.ok(nativeModuleMissing(new Error('Could not locate the bindings file. Tried:\n → /x/build/better_sqlite3.node')));
  assert.ok(nativeModuleMissing(Object.assign(new Error('was compiled against a different Node.js version using NODE_MODULE_VERSION 115'), { code: 'ERR_DLOPEN_FAILED' })));
  assert.ok(!nativeModuleMissing(new Error('file is not a database')));
});

const commit = (s: CoordinatorStore, round: number) => s.commitRound({ round, record: { round, accepted: true }, global: Float32Array.from([round]), loop: {} });

/** A state at `path` as a running coordinator holds it: the setup and rounds 1..`rounds` committed. */
function running(path: string, rounds: number): CoordinatorStore {
  const s = CoordinatorStore.open(path, 'fed', 'fp');
  s.commitSetup({ spec: { kind: 'baseline' } }, Float32Array.from([0]));
  for (let r = 1; r <= rounds; r++) commit(s, r);
  return s;
}

test('a copy of the state file alone, taken between rounds while the coordinator holds it, is a whole backup (its log is checkpointed into it)', () => {
  withDir((dir) => {
    const path = join(dir, 'coordinator.sqlite');
    const s = running(path, 2);
    const backup = join(dir, 'backup', 'coordinator.sqlite');
    mkdirSync(join(dir, 'backup'));
    copyFileSync(path, backup);
    s.close();
    const restored = CoordinatorStore.open(backup, 'fed', 'fp');
    assert.equal(restored.load()?.round, 2);
    assert.deepEqual(restored.load()?.history.map((h) => (h as { round: number }).round), [1, 2]);
    restored.close();
  });
});

test('a new state file is private to its user; an empty one (a copy that did not complete?) is refused, saying what to do', () => {
  withDir((dir) => {
    const path = join(dir, 'state', 'coordinator.sqlite');
    CoordinatorStore.open(path, 'fed', 'fp').close();
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'state')).mode & 0o777, 0o700);
    const empty = join(dir, 'empty.sqlite');
    writeFileSync(empty, '');
    assert.throws(() => CoordinatorStore.open(empty, 'fed', 'fp'), (e: unknown) => e instanceof InputError && e.message.includes(`${empty} is empty (0 bytes): it holds no run to resume`) && /delete it to start a new run/.test(e.message));
  });
});

test('the state file removed or replaced under a running coordinator, or its disk full, is a StorageError naming the file and the remedy', () => {
  withDir((dir) => {
    const path = join(dir, 'coordinator.sqlite');
    const removed = running(path, 1);
    rmSync(path);
    let saved = '';
    assert.throws(
      () => commit(removed, 2),
      (e: unknown) => {
        assert.ok(e instanceof StorageError && !e.restartable, String(e));
        assert.equal(exitCodeFor(e), 2, 'a person must choose: no supervisor restart');
        saved = /saved as (\S+): to resume the run, move that file to /.exec(e.message)?.[1] ?? '';
        return e.message.includes(`${path} was removed while the coordinator ran`);
      },
    );
    // Writes after the first (message ids still coming in) save no second copy.
    assert.throws(() => removed.rememberMessage('m', 1), StorageError);
    removed.close();
    assert.equal(readdirSync(dir).filter((f) => f.includes('.recovered-')).length, 1);
    // The rescued copy is the state as last committed: moved back, the run resumes from it.
    renameSync(saved, path);
    const back = CoordinatorStore.open(path, 'fed', 'fp');
    assert.equal(back.load()?.round, 1);
    back.close();
    rmSync(path);

    const replaced = CoordinatorStore.open(path, 'fed2', 'fp');
    renameSync(path, `${path}.moved`);
    copyFileSync(`${path}.moved`, path);
    assert.throws(() => commit(replaced, 1), (e: unknown) => e instanceof StorageError && !e.restartable && e.message.includes(`${path} was replaced while the coordinator ran: its last committed state is saved as`));
    replaced.close();

    const full = CoordinatorStore.open(join(dir, 'full.sqlite'), 'fed', 'fp');
    // The database may not grow: SQLite says "database or disk is full" (SQLITE_FULL), as on a full disk.
    (full as unknown as { db: Database.Database }).db.pragma(`max_page_count = ${(full as unknown as { db: Database.Database }).db.pragma('page_count', { simple: true }) as number}`);
    assert.throws(
      () => full.commitRound({ round: 1, record: { pad: 'x'.repeat(100_000) }, global: new Float32Array(50_000), loop: {} }),
      (e: unknown) => e instanceof StorageError && /cannot commit round 1 in the coordinator state .*full\.sqlite \(database or disk is full\): free space on \(or repair\) the disk that holds stateDir/.test(e.message),
    );
    full.close();
  });
});

test('a backup copied over the state in place while the coordinator runs is caught at the next write (the state it holds saved, exit 2); a restored copy is made private again', () => {
  withDir((dir) => {
    const path = join(dir, 'coordinator.sqlite');
    const s = running(path, 1);
    const backup = join(dir, 'backup.sqlite');
    copyFileSync(path, backup);
    commit(s, 2);
    // cp writes into the same file (same inode), a moment later.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    writeFileSync(path, readFileSync(backup));
    assert.throws(() => commit(s, 3), (e: unknown) => e instanceof StorageError && !e.restartable && e.message.includes(`${path} was written by another process while the coordinator ran (a copy over it?): its last committed state is saved as`));
    s.close();
    const saved = readdirSync(dir).find((f) => f.includes('.recovered-'))!;
    assert.equal(statSync(join(dir, saved)).mode & 0o777, 0o600, 'the saved copy is as private as the state');
    chmodSync(backup, 0o644);
    CoordinatorStore.open(backup, 'fed', 'fp').close();
    assert.equal(statSync(backup).mode & 0o777, 0o600);
  });
});
