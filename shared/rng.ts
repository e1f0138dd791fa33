/**
 * Seeded pseudo-random numbers (mulberry32): every random choice in training,
 * splitting and synthesis flows from one seed so runs are reproducible.
 */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = (seed >>> 0) ^ 0x9e3779b9;
  }
  /** The generator's position, to come back to with restore(). */
  save(): number {
    return this.state;
  }
  restore(state: number): void {
    this.state = state >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
  /** A derived generator, so independent streams (per site, per round) stay reproducible. */
  fork(salt: number): Rng {
    return new Rng(Math.floor(this.next() * 2 ** 32) ^ Math.imul(salt + 1, 0x85ebca6b));
  }
}
