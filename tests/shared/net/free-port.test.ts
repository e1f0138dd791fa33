import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { freePort, freePorts } from '../../../shared/net/free-port.ts';

test('freePorts gives distinct ports, each free again afterwards', async () => {
  for (let k = 0; k < 20; k++) {
    const ports = await freePorts(3);
    assert.equal(new Set(ports).size, 3, `distinct: ${ports.join(', ')}`);
  }
  const [p] = await freePorts(1);
  const s = createServer();
  await new Promise<void>((res, rej) => (s.on('error', rej), s.listen(p, '127.0.0.1', () => res())));
  await new Promise((res) => s.close(res));
  assert.ok((await freePort()) > 0);
});
