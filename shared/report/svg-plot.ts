/**
 * Dependency-free SVG line charts for run reports (AUROC and loss per round).
 * Output is a standalone SVG 1.1 document that opens in any browser and embeds
 * in Markdown/HTML without a plotting library.
 */

export interface LineSeries {
  name: string;
  points: [number, number][];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** Fixed y-axis range (e.g. 0..1 for AUROC); otherwise taken from the data and rounded out to ticks. */
  yMin?: number;
  yMax?: number;
  width?: number;
  height?: number;
}

/**
 * Okabe-Ito palette, reordered so the first colours contrast best on white;
 * distinguishable under the common forms of colour blindness. Past 8 series the
 * colours repeat with a dash pattern so lines stay distinct.
 */
export const PALETTE = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#000000',
  '#F0E442',
] as const;
const DASHES = ['', '6 3', '2 3', '8 3 2 3'] as const;

const DEFAULT_WIDTH = 640;
const DEFAULT_HEIGHT = 400;
const FONT = 'font-family="sans-serif"';
// Rough glyph width at font-size 12, used only to size the legend margin.
const CHAR_W = 7;

/** Escapes text for XML content and attribute values. */
export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** A complete SVG document holding one line chart. */
export function lineChartSvg(opts: LineChartOptions): string {
  const { width, height } = sizeOf(opts);
  return document(width, height, opts.title, chartBody(opts, 'c0'));
}

/**
 * Several charts in one SVG document, laid out row by row in `columns` columns;
 * every cell is as large as the largest panel.
 */
export function smallMultiplesSvg(panels: LineChartOptions[], columns: number): string {
  if (panels.length === 0) throw new Error('smallMultiplesSvg needs at least one panel, got 0');
  if (!Number.isInteger(columns) || columns < 1) {
    throw new Error(`smallMultiplesSvg columns must be a positive integer, got ${columns}`);
  }
  const sizes = panels.map(sizeOf);
  const cellW = Math.max(...sizes.map((s) => s.width));
  const cellH = Math.max(...sizes.map((s) => s.height));
  const cols = Math.min(columns, panels.length);
  const rows = Math.ceil(panels.length / cols);
  const parts = panels.map((p, i) => {
    const x = (i % cols) * cellW;
    const y = Math.floor(i / cols) * cellH;
    // Unique id prefix per panel: clipPath ids share one document namespace.
    return `<g transform="translate(${x},${y})">\n${chartBody(p, `c${i}`)}</g>\n`;
  });
  const title = panels.map((p) => p.title).join(' | ');
  return document(cols * cellW, rows * cellH, title, parts.join(''));
}

function sizeOf(opts: LineChartOptions): { width: number; height: number } {
  const width = opts.width ?? DEFAULT_WIDTH;
  const height = opts.height ?? DEFAULT_HEIGHT;
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isFinite(v) || v <= 0) {
      throw new Error(`chart "${opts.title}": ${name} must be a positive number, got ${v}`);
    }
  }
  return { width, height };
}

function document(width: number, height: number, title: string, body: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' +
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n` +
    `<title>${escapeXml(title)}</title>\n` +
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>\n` +
    body +
    '</svg>\n'
  );
}

interface Axis {
  min: number;
  max: number;
  ticks: number[];
  decimals: number;
}

/** "Nice" tick step (1, 2 or 5 times a power of ten) giving about `target` intervals. */
function niceStep(span: number, target: number): number {
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/** No finite data: a unit range rather than failing the whole report. */
function finiteRange(lo: number, hi: number): { lo: number; hi: number } {
  if (Number.isFinite(lo) && Number.isFinite(hi)) return { lo, hi };
  const l = Number.isFinite(lo) ? lo : Number.isFinite(hi) ? hi - 1 : 0;
  return { lo: l, hi: Number.isFinite(hi) && hi > l ? hi : l + 1 };
}

/** A finite, non-empty range from the data's and the fixed bounds. */
function axisRange(dataMin: number, dataMax: number, fixedMin?: number, fixedMax?: number): { lo: number; hi: number } {
  let { lo, hi } = finiteRange(fixedMin ?? dataMin, fixedMax ?? dataMax);
  if (!(hi > lo)) {
    // A flat series (or data wholly beyond a single fixed bound) still needs a non-empty range.
    const v = fixedMin ?? fixedMax ?? lo;
    const pad = v === 0 ? 1 : Math.abs(v) * 0.1;
    if (fixedMin === undefined && fixedMax === undefined) {
      lo -= pad;
      hi += pad;
    } else if (fixedMin === undefined) lo = hi - 2 * pad;
    else hi = lo + 2 * pad;
  }
  return { lo, hi };
}

/**
 * Axis range and ticks. With fixed bounds the range is kept exactly and ticks
 * fall inside it; otherwise the data range is rounded out to whole ticks.
 */
function makeAxis(
  dataMin: number,
  dataMax: number,
  integral: boolean,
  fixedMin?: number,
  fixedMax?: number,
): Axis {
  let { lo, hi } = axisRange(dataMin, dataMax, fixedMin, fixedMax);
  // Whole-number data (rounds) gets whole-number ticks: "2.5" rounds make no sense.
  const data = fixedMin === undefined && fixedMax === undefined;
  const step = integral && data ? Math.max(1, niceStep(hi - lo, 5)) : niceStep(hi - lo, 5);
  if (fixedMin === undefined) lo = Math.floor(lo / step + 1e-9) * step;
  if (fixedMax === undefined) hi = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  for (let k = first; k <= last; k++) ticks.push(k * step);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return { min: lo, max: hi, ticks, decimals };
}

function fmt(v: number, decimals: number): string {
  const s = v.toFixed(decimals);
  return /^-0(\.0+)?$/.test(s) ? s.slice(1) : s;
}

/** Coordinates rounded to 0.01 px keep files small without visible loss. */
function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** yMin and yMax, where given, finite and in order. */
function checkYBounds(opts: LineChartOptions): void {
  for (const [name, v] of [
    ['yMin', opts.yMin],
    ['yMax', opts.yMax],
  ] as const) {
    if (v !== undefined && !Number.isFinite(v)) {
      throw new Error(`chart "${opts.title}": ${name} must be a finite number, got ${v}`);
    }
  }
  if (opts.yMin !== undefined && opts.yMax !== undefined && !(opts.yMin < opts.yMax)) {
    throw new Error(`chart "${opts.title}": yMin (${opts.yMin}) must be below yMax (${opts.yMax})`);
  }
}

/** Both axes, from the series' finite points and the fixed y bounds. */
function axesOf(opts: LineChartOptions): { xAxis: Axis; yAxis: Axis } {
  let xLo = Infinity;
  let xHi = -Infinity;
  let yLo = Infinity;
  let yHi = -Infinity;
  let xIntegral = true;
  let yIntegral = true;
  for (const s of opts.series) {
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      xIntegral &&= Number.isInteger(x);
      yIntegral &&= Number.isInteger(y);
      xLo = Math.min(xLo, x);
      xHi = Math.max(xHi, x);
      yLo = Math.min(yLo, y);
      yHi = Math.max(yHi, y);
    }
  }
  return { xAxis: makeAxis(xLo, xHi, xIntegral), yAxis: makeAxis(yLo, yHi, yIntegral, opts.yMin, opts.yMax) };
}

/** Where the plot area sits in a panel, and data-to-pixel maps. */
interface Frame {
  left: number;
  top: number;
  plotW: number;
  plotH: number;
  height: number;
  sx: (x: number) => number;
  sy: (y: number) => number;
}

function frameOf(opts: LineChartOptions, xAxis: Axis, yAxis: Axis): Frame {
  const { width, height } = sizeOf(opts);
  const longestName = Math.max(0, ...opts.series.map((s) => s.name.length));
  const legendW = opts.series.length > 0 ? Math.min(40 + longestName * CHAR_W, width * 0.35) : 0;
  const left = 64;
  const right = 16 + legendW;
  const top = 36;
  const bottom = 52;
  const plotW = Math.max(10, width - left - right);
  const plotH = Math.max(10, height - top - bottom);
  const sx = (x: number) => left + ((x - xAxis.min) / (xAxis.max - xAxis.min)) * plotW;
  const sy = (y: number) => top + plotH - ((y - yAxis.min) / (yAxis.max - yAxis.min)) * plotH;
  return { left, top, plotW, plotH, height, sx, sy };
}

/** Grid lines, ticks and their labels, the axes and their labels. */
function axesMarkup(opts: LineChartOptions, f: Frame, xAxis: Axis, yAxis: Axis): string[] {
  const { left, top, plotW, plotH, height, sx, sy } = f;
  const out: string[] = [];
  for (const t of yAxis.ticks) {
    const y = px(sy(t));
    out.push(
      `<line x1="${left}" y1="${y}" x2="${px(left + plotW)}" y2="${y}" stroke="#e0e0e0" stroke-width="1"/>`,
      `<line x1="${left - 5}" y1="${y}" x2="${left}" y2="${y}" stroke="#333333" stroke-width="1"/>`,
      `<text x="${left - 8}" y="${y}" dy="0.35em" text-anchor="end" ${FONT} font-size="11">${fmt(t, yAxis.decimals)}</text>`,
    );
  }
  for (const t of xAxis.ticks) {
    const x = px(sx(t));
    const yb = px(top + plotH);
    out.push(
      `<line x1="${x}" y1="${top}" x2="${x}" y2="${yb}" stroke="#f0f0f0" stroke-width="1"/>`,
      `<line x1="${x}" y1="${yb}" x2="${x}" y2="${px(top + plotH + 5)}" stroke="#333333" stroke-width="1"/>`,
      `<text x="${x}" y="${px(top + plotH + 18)}" text-anchor="middle" ${FONT} font-size="11">${fmt(t, xAxis.decimals)}</text>`,
    );
  }
  out.push(
    `<line x1="${left}" y1="${px(top + plotH)}" x2="${px(left + plotW)}" y2="${px(top + plotH)}" stroke="#333333" stroke-width="1"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${px(top + plotH)}" stroke="#333333" stroke-width="1"/>`,
    `<text x="${px(left + plotW / 2)}" y="${px(height - 12)}" text-anchor="middle" ${FONT} font-size="12">${escapeXml(opts.xLabel)}</text>`,
    `<text x="16" y="${px(top + plotH / 2)}" text-anchor="middle" ${FONT} font-size="12" transform="rotate(-90 16 ${px(top + plotH / 2)})">${escapeXml(opts.yLabel)}</text>`,
  );
  return out;
}

/** Series i's colour and dash attribute (colours repeat past the palette with a dash pattern). */
function styleOf(i: number): { colour: string; dashAttr: string } {
  const colour = PALETTE[i % PALETTE.length]!;
  const dash = DASHES[Math.floor(i / PALETTE.length) % DASHES.length]!;
  return { colour, dashAttr: dash ? ` stroke-dasharray="${dash}"` : '' };
}

/** One series: its polylines (broken at non-finite points) and, for short series, markers. */
function seriesMarkup(s: LineSeries, i: number, f: Frame): string[] {
  const { colour, dashAttr } = styleOf(i);
  // Non-finite points (e.g. a NaN AUROC round) break the line instead of being invented.
  const segments: [number, number][][] = [[]];
  for (const [x, y] of s.points) {
    if (Number.isFinite(x) && Number.isFinite(y)) segments[segments.length - 1]!.push([x, y]);
    else if (segments[segments.length - 1]!.length > 0) segments.push([]);
  }
  const out = [`<g class="series" data-name="${escapeXml(s.name)}">`];
  for (const seg of segments) {
    if (seg.length >= 2) {
      const pts = seg.map(([x, y]) => `${px(f.sx(x))},${px(f.sy(y))}`).join(' ');
      out.push(`<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="2"${dashAttr} stroke-linejoin="round"/>`);
    }
  }
  // Markers make short series and isolated points visible.
  const finite = segments.flat();
  if (finite.length <= 40) {
    for (const [x, y] of finite) out.push(`<circle cx="${px(f.sx(x))}" cy="${px(f.sy(y))}" r="2.5" fill="${colour}"/>`);
  }
  out.push('</g>');
  return out;
}

/** The legend, right of the plot area so it never covers data. */
function legendMarkup(series: readonly LineSeries[], f: Frame): string[] {
  if (series.length === 0) return [];
  const lx = f.left + f.plotW + 16;
  const out = [`<g class="legend">`];
  series.forEach((s, i) => {
    const { colour, dashAttr } = styleOf(i);
    const ly = f.top + 8 + i * 18;
    out.push(
      `<line x1="${px(lx)}" y1="${ly}" x2="${px(lx + 22)}" y2="${ly}" stroke="${colour}" stroke-width="2"${dashAttr}/>`,
      `<text x="${px(lx + 28)}" y="${ly}" dy="0.35em" ${FONT} font-size="12">${escapeXml(s.name)}</text>`,
    );
  });
  out.push('</g>');
  return out;
}

function chartBody(opts: LineChartOptions, id: string): string {
  sizeOf(opts);
  checkYBounds(opts);
  const { xAxis, yAxis } = axesOf(opts);
  const f = frameOf(opts, xAxis, yAxis);
  const out: string[] = [
    `<defs><clipPath id="${id}-plot"><rect x="${f.left}" y="${f.top}" width="${px(f.plotW)}" height="${px(f.plotH)}"/></clipPath></defs>`,
    `<text x="${px(f.left + f.plotW / 2)}" y="22" text-anchor="middle" ${FONT} font-size="15" font-weight="bold">${escapeXml(opts.title)}</text>`,
    ...axesMarkup(opts, f, xAxis, yAxis),
    // Series: clipped to the plot area so a fixed y range never spills over the axes.
    `<g clip-path="url(#${id}-plot)">`,
    ...opts.series.flatMap((s, i) => seriesMarkup(s, i, f)),
    '</g>',
    ...legendMarkup(opts.series, f),
  ];
  return out.join('\n') + '\n';
}
