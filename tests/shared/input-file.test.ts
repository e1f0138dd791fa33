import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfigFile } from '../../shared/config/load.ts';
import { loadSchema } from '../../shared/data/schema.ts';
import { InputError } from '../../shared/errors.ts';
import { readInputFile, readInputPieces } from '../../shared/input-file.ts';

const refused = (f: () => unknown, message: string) => assert.throws(f, (e: unknown) => e instanceof InputError && e.message === message);

test('user files as Windows tools write them: a UTF-8 byte-order mark is dropped; UTF-16, binary and empty files are refused, saying what to do', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-input-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, bytes: Buffer) => (writeFileSync(join(dir, name), bytes), join(dir, name));
  const schema = { columns: ['a', 'y'], label: { column: 'y', threshold: 0 }, modalities: { m: ['a'] } };
  const bom = file('bom.json', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(schema))]));
  assert.equal(readInputFile(bom, 'schema').charCodeAt(0), '{'.charCodeAt(0));
  assert.deepEqual(loadSchema(bom).modalities, [{ name: 'm', features: ['a'] }]);
  const utf16 = file('c.yaml', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('rounds: 3\n', 'utf16le')]));
  refused(() => readConfigFile(utf16), `${utf16}: the config is UTF-16 encoded; save it as UTF-8 text (in PowerShell: Out-File -Encoding utf8)`);
  const binary = file('s.json', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00]));
  refused(() => loadSchema(binary), `${binary}: the schema is not a text file (it holds NUL bytes): give the schema itself, as UTF-8 text`);
  const empty = file('e.yaml', Buffer.from('\n# nothing yet\n'));
  refused(() => readConfigFile(empty), `${empty}: the config file is empty`);
  const list = file('l.yaml', Buffer.from('- rounds: 3\n'));
  refused(() => readConfigFile(list), `${list}: config must be a mapping of fields (got a list)`);
});

test('a device is refused by name, not read without end (a schema.json linked to /dev/zero reached 6.5 GB)', () => {
  assert.throws(() => readInputFile('/dev/zero', 'schema'), (e: unknown) => e instanceof InputError && e.message === '/dev/zero: is a device, not a file: give the schema itself');
});

test('read in pieces (a file to score of any size): the text readInputFile gives, a character split across pieces whole; the same refusals', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedcausal-input-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, bytes: Buffer) => (writeFileSync(join(dir, name), bytes), join(dir, name));
  const joined = async (path: string) => {
    let text = '';
    for await (const piece of readInputPieces(path, 'data file')) text += piece;
    return text;
  };
  // A two-byte character across the first 1 MiB piece's end, and a three-byte one across the second's.
  const big = file('big.csv', Buffer.concat([Buffer.from('a'.repeat((1 << 20) - 1)), Buffer.from('é,'), Buffer.from('b'.repeat((1 << 20) - 4)), Buffer.from('€\n')]));
  assert.equal(await joined(big), readInputFile(big, 'data file'));
  const small = file('small.csv', Buffer.from('\uFEFFa,b\n1,2\n'));
  assert.equal(await joined(small), '\uFEFFa,b\n1,2\n', 'the byte-order mark is left to CsvReader');
  const rejected = (path: string, message: string) => assert.rejects(joined(path), (e: unknown) => e instanceof InputError && e.message === message);
  const utf16 = file('u.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\n', 'utf16le')]));
  await rejected(utf16, `${utf16}: the data file is UTF-16 encoded; save it as UTF-8 text (in PowerShell: Out-File -Encoding utf8)`);
  const binary = file('b.csv', Buffer.concat([Buffer.from('a'.repeat(9000)), Buffer.from([0])]));
  await assert.doesNotReject(joined(binary), 'a NUL past the first 8 KiB is not looked for, as readInputFile');
  const nul = file('n.csv', Buffer.concat([Buffer.from('a,b\n'), Buffer.from([0]), Buffer.from('x'.repeat(20000))]));
  await rejected(nul, `${nul}: the data file is not a text file (it holds NUL bytes): give the data file itself, as UTF-8 text`);
  await rejected('/dev/zero', '/dev/zero: is a device, not a file: give the data file itself');
  await assert.rejects(joined(join(dir, 'none.csv')), (e: unknown) => e instanceof InputError && /none\.csv: cannot read data file \(ENOENT/.test(e.message));
});
