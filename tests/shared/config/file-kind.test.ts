import { test } from 'node:test';
import assert from 'node:assert/strict';
import { otherFileKind } from '../../../shared/config/file-kind.ts';

test('a config file is named as the other kind only where it has every sign of that kind', () => {
  const site = { site: 'cleveland', federation: 'f', coordinator: {}, data: 'x.csv' };
  const coordinator = { federation: 'f', listen: { host: '127.0.0.1' }, model: 'debiased' };
  const federation = { name: 'f', coordinator: { host: '127.0.0.1' }, sites: [], rounds: 3, model: 'debiased' };
  assert.equal(otherFileKind(site, 'coordinator.yaml'), 'site.yaml');
  assert.equal(otherFileKind(site, 'federation file'), 'site.yaml');
  assert.equal(otherFileKind(coordinator, 'site.yaml'), 'coordinator.yaml');
  assert.equal(otherFileKind(federation, 'coordinator.yaml'), 'federation file');
  // Its own kind, a file with a typo or two, and a file that looks like two kinds: no guess.
  assert.equal(otherFileKind(site, 'site.yaml'), undefined);
  assert.equal(otherFileKind({ federation: 'f', sit: 'x', data: 'x.csv' }, 'site.yaml'), undefined);
  assert.equal(otherFileKind({ ...site, listen: {} }, 'federation file'), undefined);
});
