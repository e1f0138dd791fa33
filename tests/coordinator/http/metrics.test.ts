import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRegistry, escapeHelp, escapeLabelValue } from '../../../coordinator/http/metrics.ts';

test('counters and gauges render with HELP and TYPE lines and the fedcausal_ prefix', () => {
  const m = new MetricsRegistry();
  m.inc('updates_total', 'Updates accepted.', { site: 'cleveland' });
  m.inc('fedcausal_updates_total', 'Updates accepted.', { site: 'cleveland' }, 2); // same series, prefix optional
  m.inc('updates_total', 'Updates accepted.', { site: 'hungary' });
  m.set('round', 'Current round.', 3);
  m.set('round_seconds', 'Duration of the last round.', undefined, 1.5);
  assert.equal(
    m.render(),
    [
      '# HELP fedcausal_updates_total Updates accepted.',
      '# TYPE fedcausal_updates_total counter',
      'fedcausal_updates_total{site="cleveland"} 3',
      'fedcausal_updates_total{site="hungary"} 1',
      '# HELP fedcausal_round Current round.',
      '# TYPE fedcausal_round gauge',
      'fedcausal_round 3',
      '# HELP fedcausal_round_seconds Duration of the last round.',
      '# TYPE fedcausal_round_seconds gauge',
      'fedcausal_round_seconds 1.5',
      '',
    ].join('\n'),
  );
  assert.equal(m.get('updates_total', { site: 'cleveland' }), 3);
  assert.equal(m.get('updates_total', { site: 'nowhere' }), undefined);
});

test('label order does not matter and values are stringified; gauges overwrite', () => {
  const m = new MetricsRegistry();
  m.set('x', 'X.', { b: 1, a: 'p' }, 5);
  m.set('x', 'X.', { a: 'p', b: '1' }, 7);
  assert.equal(m.get('x', { b: '1', a: 'p' }), 7);
  assert.ok(m.render().includes('fedcausal_x{a="p",b="1"} 7\n'));
});

test('label values and HELP text are escaped', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(escapeHelp('one\\two\nthree "q"'), 'one\\\\two\\nthree "q"');
  const m = new MetricsRegistry();
  m.inc('errors_total', 'Errors\nby "reason".', { reason: 'bad "sig"\\x\nend' });
  const text = m.render();
  assert.ok(text.includes('# HELP fedcausal_errors_total Errors\\nby "reason".\n'), text);
  assert.ok(text.includes('fedcausal_errors_total{reason="bad \\"sig\\"\\\\x\\nend"} 1\n'), text);
  // Every sample stays on one line.
  assert.equal(text.trimEnd().split('\n').length, 3);
});

test('special values render as Prometheus spells them', () => {
  const m = new MetricsRegistry();
  m.set('a', 'A.', NaN);
  m.set('b', 'B.', Infinity);
  m.set('c', 'C.', -Infinity);
  const t = m.render();
  assert.ok(t.includes('fedcausal_a NaN\n'));
  assert.ok(t.includes('fedcausal_b +Inf\n'));
  assert.ok(t.includes('fedcausal_c -Inf\n'));
});

test('misuse throws: negative increments, type clashes, bad names', () => {
  const m = new MetricsRegistry();
  assert.throws(() => m.inc('c_total', 'C.', {}, -1), /increment must be a finite number >= 0/);
  m.inc('c_total', 'C.');
  assert.throws(() => m.set('c_total', 'C.', 1), /fedcausal_c_total is a counter; cannot use it as a gauge/);
  assert.throws(() => m.inc('bad-name', 'B.'), /invalid metric name "bad-name"/);
  assert.throws(() => m.inc('ok_total', 'O.', { 'bad-label': 'x' }), /invalid label name "bad-label"/);
  assert.throws(() => m.inc('ok_total', 'O.', { __reserved: 'x' }), /invalid label name "__reserved"/);
  assert.equal(new MetricsRegistry().render(), '');
});
