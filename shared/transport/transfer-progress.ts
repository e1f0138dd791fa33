/**
 * A long transfer's progress in words. Over a slow hospital link a 2.6 MB update took minutes
 * to send, and the site's log said nothing between "training" and the round's end (an outside
 * try on a 1 Mbit/s link): an operator could not tell a slow link from a hung site. A transfer
 * that ends within the first interval says nothing.
 */

/** How often a transfer in progress is said, and how long one runs before it is said at all. */
export const TRANSFER_PROGRESS_MS = 15_000;

/** Bytes in megabytes (decimal, as link speeds are given), to one decimal; below 0.1 MB in kB. */
export function sizeText(bytes: number): string {
  return bytes < 100_000 ? `${Math.round(bytes / 1000)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

export interface ProgressLine {
  text: string;
  doneBytes: number;
  totalBytes: number;
  seconds: number;
  kbitPerSecond: number;
}

export class TransferProgress {
  private done = 0;
  private readonly started: number;
  private lastSaid: number;

  /**
   * `what` begins the line ("sending round 3's fit result to the coordinator"); `total` is the
   * bytes announced; `say` hears each line.
   */
  constructor(
    private readonly what: string,
    private readonly total: number,
    private readonly say: (line: ProgressLine) => void,
    private readonly everyMs = TRANSFER_PROGRESS_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.started = this.lastSaid = now();
  }

  /** `bytes` more have gone (or come). */
  add(bytes: number): void {
    this.done += bytes;
    const t = this.now();
    if (t - this.lastSaid < this.everyMs || this.done >= this.total) return;
    this.lastSaid = t;
    const seconds = (t - this.started) / 1000;
    const kbitPerSecond = Math.round((this.done * 8) / 1000 / seconds);
    const pct = Math.floor((100 * this.done) / this.total);
    this.say({
      text: `${this.what}: ${sizeText(this.done)} of ${sizeText(this.total)} (${pct}%) in ${Math.round(seconds)} s, about ${kbitPerSecond} kbit/s`,
      doneBytes: this.done,
      totalBytes: this.total,
      seconds: Math.round(seconds),
      kbitPerSecond,
    });
  }
}

/** A task's envelope kind in a person's words ("task-fit": "training task"). */
export function taskWords(kind: string): string {
  const m = /^task-(fit|evaluate|stats|secagg|end)(?:-(\d+))?$/.exec(kind);
  if (!m) return kind;
  const words = { fit: 'training task', evaluate: 'final evaluation task', stats: 'statistics task', secagg: 'secure-sum task', end: 'end' }[m[1] as 'fit'];
  return m[1] === 'stats' && m[2] ? `${words} (stage ${m[2]})` : words;
}

/** A result's envelope kind in a person's words: "fit-result" is jargon in a line an IT person reads (a re-try). */
export function resultWords(kind: string): string {
  const [base, stage] = kind.split(/-(?=\d+$)/);
  const words: Record<string, string> = { 'fit-result': 'training update', 'eval-result': 'final evaluation', 'stats-result': 'statistics', 'secagg-result': 'secure-sum share', 'end-ack': 'end acknowledgement' };
  const w = words[base!] ?? kind;
  return base === 'stats-result' && stage ? `${w} (stage ${stage})` : w;
}
