import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  escapeXml,
  lineChartSvg,
  smallMultiplesSvg,
  type LineChartOptions,
} from '../../../shared/report/svg-plot.ts';

/**
 * A minimal well-formedness check: every '<' opens a valid tag, comment-free
 * text and attribute values contain only escaped '&' and no '<', tags nest and
 * close properly, and there is exactly one root element.
 */
function assertWellFormed(xml: string): void {
  let s = xml;
  const decl = /^<\?xml [^?]*\?>\s*/.exec(s);
  if (decl) s = s.slice(decl[0].length);
  const text = /(?:[^<&]|&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)*/y;
  const attr = String.raw`\s+[A-Za-z_:][\w:.-]*="(?:[^"<&]|&(?:amp|lt|gt|quot|apos|#\d+);)*"`;
  const open = new RegExp(String.raw`<([A-Za-z_][\w:.-]*)((?:${attr})*)\s*(/?)>`, 'y');
  const close = /<\/([A-Za-z_][\w:.-]*)\s*>/y;
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  while (i < s.length) {
    text.lastIndex = i;
    const t = text.exec(s)!;
    if (stack.length === 0) assert.match(t[0], /^\s*$/, `text outside the root at ${i}`);
    i += t[0].length;
    if (i >= s.length) break;
    assert.equal(s[i], '<', `unescaped '&' or bad entity at offset ${i}: ${s.slice(i, i + 30)}`);
    close.lastIndex = i;
    const c = close.exec(s);
    if (c) {
      assert.equal(stack.pop(), c[1], `mismatched </${c[1]}> at offset ${i}`);
      i = close.lastIndex;
      continue;
    }
    open.lastIndex = i;
    const o = open.exec(s);
    assert.ok(o, `malformed tag at offset ${i}: ${s.slice(i, i + 60)}`);
    if (stack.length === 0) roots++;
    if (o[3] !== '/') stack.push(o[1]!);
    i = open.lastIndex;
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1, 'exactly one root element');
}

function viewBox(svg: string): { w: number; h: number } {
  const m = /<svg [^>]*viewBox="0 0 ([\d.]+) ([\d.]+)"/.exec(svg);
  assert.ok(m, 'svg has a viewBox');
  return { w: Number(m[1]), h: Number(m[2]) };
}

/** Every plotted coordinate, per series group, in document order. */
function seriesCoords(svg: string): { name: string; stroke: string[]; poly: number[][][]; dots: number[][] }[] {
  const groups = [...svg.matchAll(/<g class="series" data-name="([^"]*)">([\s\S]*?)<\/g>/g)];
  return groups.map((g) => ({
    name: g[1]!,
    stroke: [...g[2]!.matchAll(/<polyline [^>]*stroke="([^"]+)"/g)].map((m) => m[1]!),
    poly: [...g[2]!.matchAll(/<polyline points="([^"]*)"/g)].map((m) =>
      m[1]!.split(' ').map((p) => p.split(',').map(Number)),
    ),
    dots: [...g[2]!.matchAll(/<circle cx="([^"]+)" cy="([^"]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]),
  }));
}

const auroc: LineChartOptions = {
  title: 'Held-out AUROC',
  xLabel: 'round',
  yLabel: 'AUROC',
  yMin: 0,
  yMax: 1,
  series: [
    { name: 'cleveland', points: [[1, 0.5], [2, 0.75], [3, 1.0]] },
    { name: 'hungary', points: [[1, 0.6], [2, 0.65], [3, 0.7]] },
    { name: 'A<&B "quoted"', points: [[1, 0.2], [3, 0.3]] },
  ],
};

test('lineChartSvg is a well-formed standalone SVG 1.1 document', () => {
  const svg = lineChartSvg(auroc);
  assertWellFormed(svg);
  assert.match(svg, /<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" version="1\.1"/);
  assert.match(svg, /<title>Held-out AUROC<\/title>/);
  assert.deepEqual(viewBox(svg), { w: 640, h: 400 });
  assert.ok(!svg.includes('NaN') && !svg.includes('undefined'));
});

test('series names appear in the legend, XML special characters escaped', () => {
  const svg = lineChartSvg(auroc);
  for (const name of ['cleveland', 'hungary']) assert.ok(svg.includes(`>${name}</text>`), name);
  assert.ok(svg.includes('>A&lt;&amp;B &quot;quoted&quot;</text>'));
  assert.ok(!svg.includes('A<&B'));
  assert.equal(escapeXml(`<a href='x'>&</a>`), '&lt;a href=&apos;x&apos;&gt;&amp;&lt;/a&gt;');
});

test('axes carry ticks with numeric labels spanning the fixed y range', () => {
  const svg = lineChartSvg(auroc);
  for (const label of ['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']) {
    assert.ok(svg.includes(`>${label}</text>`), `y tick ${label}`);
  }
  for (const label of ['1', '2', '3']) assert.ok(svg.includes(`>${label}</text>`), `x tick ${label}`);
  assert.ok(svg.includes('>round</text>') && svg.includes('>AUROC</text>'));
});

test('points map linearly into the viewbox, y growing upwards', () => {
  const svg = lineChartSvg(auroc);
  const { w, h } = viewBox(svg);
  const series = seriesCoords(svg);
  assert.equal(series.length, 3);
  for (const s of series) {
    for (const [x, y] of [...s.poly.flat(), ...s.dots]) {
      assert.ok(x! >= 0 && x! <= w && y! >= 0 && y! <= h, `${s.name}: (${x}, ${y}) outside ${w}x${h}`);
    }
  }
  const [p1, p2, p3] = series[0]!.poly[0]!;
  // x = 1, 2, 3 and y = 0.5, 0.75, 1.0 are evenly spaced, so the pixels are too.
  assert.ok(Math.abs(p2![0]! - p1![0]! - (p3![0]! - p2![0]!)) < 0.05);
  assert.ok(Math.abs(p2![1]! - p1![1]! - (p3![1]! - p2![1]!)) < 0.05);
  assert.ok(p1![0]! < p2![0]! && p1![1]! > p2![1]!, 'larger x to the right, larger y higher');
  // y = 0.5 sits exactly halfway between the y = 0 and y = 1 gridlines.
  const grid = (label: string) => {
    const m = new RegExp(`<text [^>]*y="([\\d.]+)"[^>]*>${label.replace('.', '\\.')}</text>`).exec(svg);
    assert.ok(m, `tick ${label}`);
    return Number(m[1]);
  };
  assert.ok(Math.abs(p1![1]! - (grid('0.0') + grid('1.0')) / 2) < 0.05);
  assert.ok(Math.abs(p3![1]! - grid('1.0')) < 0.05);
  // The dots sit on the line's vertices.
  assert.deepEqual(series[0]!.dots, series[0]!.poly[0]);
});

test('series get distinct colours, also past the palette size', () => {
  const many: LineChartOptions = {
    title: 't',
    xLabel: 'x',
    yLabel: 'y',
    series: Array.from({ length: 10 }, (_, i) => ({ name: `s${i}`, points: [[0, i], [1, i + 1]] as [number, number][] })),
  };
  const svg = lineChartSvg(many);
  assertWellFormed(svg);
  const styles = [...svg.matchAll(/<polyline [^>]*\/>/g)].map((m) => {
    const stroke = /stroke="([^"]+)"/.exec(m[0])![1];
    const dash = /stroke-dasharray="([^"]+)"/.exec(m[0])?.[1] ?? '';
    return `${stroke}|${dash}`;
  });
  assert.equal(styles.length, 10);
  assert.equal(new Set(styles).size, 10, `styles: ${styles.join(', ')}`);
  assert.equal(new Set(styles.slice(0, 8).map((s) => s.split('|')[0])).size, 8, 'first 8 colours differ');
});

test('non-finite points break the line instead of producing NaN coordinates', () => {
  const svg = lineChartSvg({
    title: 'gaps',
    xLabel: 'round',
    yLabel: 'AUROC',
    series: [{ name: 'va', points: [[1, 0.5], [2, NaN], [3, 0.7], [4, 0.8]] }],
  });
  assertWellFormed(svg);
  assert.ok(!svg.includes('NaN'));
  const [s] = seriesCoords(svg);
  assert.equal(s!.poly.length, 1, 'the isolated first point is not joined across the gap');
  assert.equal(s!.poly[0]!.length, 2);
  assert.equal(s!.dots.length, 3);
});

test('auto y range, flat series and empty charts still render', () => {
  for (const series of [
    [{ name: 'loss', points: [[1, 0.69], [2, 0.52], [3, 0.48]] as [number, number][] }],
    [{ name: 'flat', points: [[5, 0.7], [5, 0.7]] as [number, number][] }],
    [],
  ]) {
    const svg = lineChartSvg({ title: 'x', xLabel: 'round', yLabel: 'loss', series, width: 300, height: 200 });
    const below = lineChartSvg({ title: 'x', xLabel: 'round', yLabel: 'loss', series, yMin: 2 });
    assertWellFormed(below);
    assert.ok(!below.includes('NaN') && !below.includes('Infinity'), 'one fixed bound above all data');
    assertWellFormed(svg);
    assert.deepEqual(viewBox(svg), { w: 300, h: 200 });
    assert.ok(!svg.includes('NaN') && !svg.includes('Infinity'));
    for (const s of seriesCoords(svg)) {
      for (const [x, y] of s.dots) assert.ok(x! >= 0 && x! <= 300 && y! >= 0 && y! <= 200);
    }
  }
});

test('bad options are rejected with the chart named', () => {
  assert.throws(() => lineChartSvg({ ...auroc, yMin: 1, yMax: 1 }), /"Held-out AUROC".*yMin/);
  assert.throws(() => lineChartSvg({ ...auroc, width: 0 }), /width/);
  assert.throws(() => lineChartSvg({ ...auroc, yMax: NaN }), /yMax must be a finite number/);
});

test('smallMultiplesSvg lays panels out in a grid in one well-formed document', () => {
  const loss: LineChartOptions = {
    title: 'Training loss',
    xLabel: 'round',
    yLabel: 'loss',
    series: [{ name: 'cleveland', points: [[1, 0.7], [2, 0.5], [3, 0.45]] }],
  };
  const side = smallMultiplesSvg([auroc, loss], 2);
  assertWellFormed(side);
  assert.deepEqual(viewBox(side), { w: 1280, h: 400 });
  assert.ok(side.includes('>Held-out AUROC</text>') && side.includes('>Training loss</text>'));
  assert.ok(side.includes('translate(0,0)') && side.includes('translate(640,0)'));
  const ids = [...side.matchAll(/<clipPath id="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(new Set(ids).size, 2, 'clip path ids are unique');
  const stacked = smallMultiplesSvg([auroc, loss, loss], 2);
  assertWellFormed(stacked);
  assert.deepEqual(viewBox(stacked), { w: 1280, h: 800 });
  assert.ok(stacked.includes('translate(0,400)'));
  assert.throws(() => smallMultiplesSvg([auroc], 0), /columns/);
  assert.throws(() => smallMultiplesSvg([], 2), /at least one panel/);
});

test('the well-formedness check itself rejects broken markup', () => {
  assert.throws(() => assertWellFormed('<svg><g></svg>'));
  assert.throws(() => assertWellFormed('<svg><text>a<b</text></svg>'));
  assert.throws(() => assertWellFormed('<svg><text>a & b</text></svg>'));
  assert.throws(() => assertWellFormed('<svg x="<"/>'));
  assertWellFormed('<?xml version="1.0"?>\n<svg a="1"><g/><text>a &amp; b</text></svg>\n');
});
