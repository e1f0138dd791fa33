// A peer's text made one line with no terminal or bidi controls (shared/text/one-line.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oneLine } from '../../../shared/text/one-line.ts';
import { formatTable } from '../../../shared/report/table.ts';

// What a hostile site sent as its failure: a CR LF and a forged line, a screen clear and colour, a
// window-title OSC with a bell, a C1 CSI, a bidi override, a line separator.
const HOSTILE = 'x\r\ncleveland online 0.1.0 revoke it\x1b[2J\x1b[32mALL SITES HEALTHY\x1b]0;title\x07\u009b31m\u202eevil\u2028end\u2066';

test('controls, separators and bidi marks become one space a run; other text stays', () => {
  assert.equal(oneLine(HOSTILE), 'x cleveland online 0.1.0 revoke it [2J [32mALL SITES HEALTHY ]0;title 31m evil end ');
  assert.equal(oneLine('plain text, ünïcode 🙂 and "quotes"'), 'plain text, ünïcode 🙂 and "quotes"');
});

test('a table cell cannot break its row or reach the terminal as a control', () => {
  const t = formatTable(['site', 'last error'], [['evil', HOSTILE]]);
  assert.equal(t.split('\n').filter(Boolean).length, 3, t);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(t, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u202e]/);
});
