/**
 * A tiny Prometheus registry: counters and gauges with labels, rendered in the
 * text exposition format 0.0.4. Enough for /metrics without a client library.
 *
 * Every metric name carries the `fedcausal_` prefix; callers may write it or
 * leave it out (`inc('rounds_total', ...)` and `inc('fedcausal_rounds_total', ...)`
 * are the same series).
 */

export type Labels = Record<string, string | number>;

export const METRIC_PREFIX = 'fedcausal_';
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Kind = 'counter' | 'gauge';

interface Family {
  name: string;
  help: string;
  kind: Kind;
  /** Series key (canonical label string) -> labels and value. */
  series: Map<string, { labels: [string, string][]; value: number }>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Label values: backslash, double quote and newline are escaped (format 0.0.4). */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and newline only. */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class MetricsRegistry {
  private readonly families = new Map<string, Family>();

  /** Adds `by` (default 1, must be >= 0: counters only go up) to a counter. */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    if (!(by >= 0) || !Number.isFinite(by)) throw new Error(`counter ${name}: increment must be a finite number >= 0, got ${by}`);
    const s = this.series(name, help, 'counter', labels);
    s.value += by;
  }

  /** Sets a gauge: `set(name, help, value)` or `set(name, help, labels, value)`. */
  set(name: string, help: string, value: number): void;
  set(name: string, help: string, labels: Labels | undefined, value: number): void;
  set(name: string, help: string, a: Labels | number | undefined, b?: number): void {
    const [labels, value] = typeof a === 'number' ? [{}, a] : [a ?? {}, b];
    if (typeof value !== 'number') throw new Error(`gauge ${name}: value must be a number, got ${JSON.stringify(value)}`);
    this.series(name, help, 'gauge', labels).value = value;
  }

  /** Current value of a series, or undefined if it was never written (for tests and status pages). */
  get(name: string, labels: Labels = {}): number | undefined {
    const fam = this.families.get(fullName(name));
    return fam?.series.get(seriesKey(normalizeLabels(fam.name, labels)))?.value;
  }

  /** The whole registry in Prometheus text format 0.0.4 (families in first-use order). */
  render(): string {
    const lines: string[] = [];
    for (const fam of this.families.values()) {
      lines.push(`# HELP ${fam.name} ${escapeHelp(fam.help)}`);
      lines.push(`# TYPE ${fam.name} ${fam.kind}`);
      for (const s of fam.series.values()) {
        const labels = s.labels.length ? `{${s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}` : '';
        lines.push(`${fam.name}${labels} ${formatValue(s.value)}`);
      }
    }
    return lines.length ? lines.join('\n') + '\n' : '';
  }

  private series(name: string, help: string, kind: Kind, labels: Labels) {
    const full = fullName(name);
    let fam = this.families.get(full);
    if (!fam) {
      fam = { name: full, help, kind, series: new Map() };
      this.families.set(full, fam);
    } else if (fam.kind !== kind) {
      // One name, one type: Prometheus rejects a scrape that mixes them.
      throw new Error(`metric ${full} is a ${fam.kind}; cannot use it as a ${kind}`);
    }
    const norm = normalizeLabels(full, labels);
    const key = seriesKey(norm);
    let s = fam.series.get(key);
    if (!s) {
      s = { labels: norm, value: 0 };
      fam.series.set(key, s);
    }
    return s;
  }
}

function fullName(name: string): string {
  const full = name.startsWith(METRIC_PREFIX) ? name : METRIC_PREFIX + name;
  if (!METRIC_NAME.test(full)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
  return full;
}

/** Labels sorted by name, values as strings: {b:1,a:'x'} and {a:'x',b:'1'} are one series. */
function normalizeLabels(metric: string, labels: Labels): [string, string][] {
  return Object.keys(labels)
    .sort()
    .map((k) => {
      if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new Error(`metric ${metric}: invalid label name ${JSON.stringify(k)}`);
      return [k, String(labels[k])];
    });
}

function seriesKey(labels: [string, string][]): string {
  return JSON.stringify(labels);
}
