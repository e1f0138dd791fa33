import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { GENERATED_DIR, generateProtoTypes, generatorArgs } from '../../../shared/protocol/codegen.ts';
import { EnvelopeSchema, FrameSchema, SubmitReplySchema } from '../../../shared/protocol/wire.ts';
import { federationService, LOADER_OPTIONS } from '../../../shared/transport/grpc-proto.ts';

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

test('the committed protocol types are what npm run gen:proto makes of proto/ today', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'fedcausal-gen-'));
  try {
    generateProtoTypes(tmp);
    const fresh = files(tmp);
    const committed = files(GENERATED_DIR);
    assert.ok(fresh.size > 0, 'the generator wrote nothing');
    assert.deepEqual([...committed.keys()].sort(), [...fresh.keys()].sort(), 'generated file list differs: run npm run gen:proto');
    for (const [name, text] of fresh) assert.equal(committed.get(name), text, `${name} is stale: run npm run gen:proto`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the generator runs under the loader options the runtime uses, and refuses one it cannot map', () => {
  assert.deepEqual(generatorArgs().slice(0, 3), ['--longs=Number', '--defaults', '--oneofs']);
  assert.equal(LOADER_OPTIONS.keepCase, false);
  assert.ok(!generatorArgs().includes('--keepCase'));
  assert.throws(() => generatorArgs({ ...LOADER_OPTIONS, includeDirs: ['x'] }), /option "includeDirs" has no proto-loader-gen-types flag/);
});

test('what grpc-js decodes under those options passes the schemas, and only the oneof member named by body is kept', () => {
  const { service } = federationService();
  const frame = (f: object) => service.Submit.requestDeserialize(service.Submit.requestSerialize(f));
  const header = FrameSchema.parse(frame({ header: { header: Buffer.from('h'), signature: Buffer.from('s') } }));
  assert.equal(header.body, 'header');
  assert.deepEqual(header.body === 'header' && [...header.header.header], [...Buffer.from('h')]);
  const welcome = FrameSchema.parse(service.Subscribe.responseDeserialize(service.Subscribe.responseSerialize({ welcome: { federation: 'f' } })));
  assert.deepEqual(welcome, { body: 'welcome', welcome: { federation: 'f', protocolVersion: 0, message: '' } });
  // Two members on the wire: proto3 keeps the last, and so does the check.
  const both = FrameSchema.parse(frame({ header: { header: Buffer.from('h') }, chunk: Buffer.from('c') }));
  assert.deepEqual(Object.keys(both).sort(), ['body', 'chunk']);
  // An empty frame names no member.
  assert.equal(FrameSchema.safeParse(frame({})).success, false);
  const env = service.Subscribe.requestDeserialize(service.Subscribe.requestSerialize({}));
  assert.ok(EnvelopeSchema.safeParse(env).success, 'an empty envelope decodes with defaults; verifyHeader refuses it later');
  const reply = service.Submit.responseDeserialize(service.Submit.responseSerialize({ accepted: true, message: 'ok' }));
  assert.deepEqual(SubmitReplySchema.parse(reply), { accepted: true, message: 'ok' });
  assert.equal(SubmitReplySchema.safeParse({ accepted: 'yes', message: 'ok' }).success, false);
});
