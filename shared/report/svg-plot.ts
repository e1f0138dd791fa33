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
  let lo = fixedMin ?? dataMin;
  let hi = fixedMax ?? dataMax;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    // No finite data: show a unit range rather than failing the whole report.
    lo = Number.isFinite(lo) ? lo : Number.isFinite(hi) ? hi - 1 : 0;
    hi = Number.isFinite(hi) && hi > lo ? hi : lo + 1;
  }
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

function chartBody(opts: LineChartOptions, id: string): string {
  const { width, height } = sizeOf(opts);
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
  const xAxis = makeAxis(xLo, xHi, xIntegral);
  const yAxis = makeAxis(yLo, yHi, yIntegral, opts.yMin, opts.yMax);

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

  const out: string[] = [];
  out.push(
    `<defs><clipPath id="${id}-plot"><rect x="${left}" y="${top}" width="${px(plotW)}" height="${px(plotH)}"/></clipPath></defs>`,
  );
  out.push(
    `<text x="${px(left + plotW / 2)}" y="22" text-anchor="middle" ${FONT} font-size="15" font-weight="bold">${escapeXml(opts.title)}</text>`,
  );

  // Grid lines and tick labels.
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
  // Axes.
  out.push(
    `<line x1="${left}" y1="${px(top + plotH)}" x2="${px(left + plotW)}" y2="${px(top + plotH)}" stroke="#333333" stroke-width="1"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${px(top + plotH)}" stroke="#333333" stroke-width="1"/>`,
    `<text x="${px(left + plotW / 2)}" y="${px(height - 12)}" text-anchor="middle" ${FONT} font-size="12">${escapeXml(opts.xLabel)}</text>`,
    `<text x="16" y="${px(top + plotH / 2)}" text-anchor="middle" ${FONT} font-size="12" transform="rotate(-90 16 ${px(top + plotH / 2)})">${escapeXml(opts.yLabel)}</text>`,
  );

  // Series: clipped to the plot area so a fixed y range never spills over the axes.
  out.push(`<g clip-path="url(#${id}-plot)">`);
  opts.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    const dash = DASHES[Math.floor(i / PALETTE.length) % DASHES.length]!;
    const dashAttr = dash ? ` stroke-dasharray="${dash}"` : '';
    // Non-finite points (e.g. a NaN AUROC round) break the line instead of being invented.
    const segments: [number, number][][] = [[]];
    for (const [x, y] of s.points) {
      if (Number.isFinite(x) && Number.isFinite(y)) segments[segments.length - 1]!.push([x, y]);
      else if (segments[segments.length - 1]!.length > 0) segments.push([]);
    }
    const name = escapeXml(s.name);
    out.push(`<g class="series" data-name="${name}">`);
    for (const seg of segments) {
      if (seg.length >= 2) {
        const pts = seg.map(([x, y]) => `${px(sx(x))},${px(sy(y))}`).join(' ');
        out.push(
          `<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="2"${dashAttr} stroke-linejoin="round"/>`,
        );
      }
    }
    // Markers make short series and isolated points visible.
    const finite = segments.flat();
    if (finite.length <= 40) {
      for (const [x, y] of finite) {
        out.push(`<circle cx="${px(sx(x))}" cy="${px(sy(y))}" r="2.5" fill="${colour}"/>`);
      }
    }
    out.push('</g>');
  });
  out.push('</g>');

  // Legend, right of the plot area so it never covers data.
  if (opts.series.length > 0) {
    const lx = left + plotW + 16;
    out.push(`<g class="legend">`);
    opts.series.forEach((s, i) => {
      const colour = PALETTE[i % PALETTE.length]!;
      const dash = DASHES[Math.floor(i / PALETTE.length) % DASHES.length]!;
      const dashAttr = dash ? ` stroke-dasharray="${dash}"` : '';
      const ly = top + 8 + i * 18;
      out.push(
        `<line x1="${px(lx)}" y1="${ly}" x2="${px(lx + 22)}" y2="${ly}" stroke="${colour}" stroke-width="2"${dashAttr}/>`,
        `<text x="${px(lx + 28)}" y="${ly}" dy="0.35em" ${FONT} font-size="12">${escapeXml(s.name)}</text>`,
      );
    });
    out.push('</g>');
  }
  return out.join('\n') + '\n';
}
