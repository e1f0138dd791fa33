/**
 * Lets long synchronous work (a site's local training) give the event loop a turn
 * every so often, so gRPC keepalive pings are answered, streams are read and a stop
 * request is seen while it runs. A site whose loop is blocked longer than the
 * keepalive's ping interval plus timeout (10 s + 5 s) is cut off by the coordinator.
 */

/** How long a stretch of work may hold the event loop before it yields (ms). */
export const DEFAULT_YIELD_EVERY_MS = 25;

export class LoopYielder {
  private last = performance.now();

  /** `everyMs`: Infinity never yields (in-process simulation, where the order sites finish in must not depend on the clock). */
  constructor(private readonly everyMs: number = DEFAULT_YIELD_EVERY_MS) {}

  /** True once `everyMs` passed since the last yield; checked before paying for a yield. */
  get due(): boolean {
    return performance.now() - this.last >= this.everyMs;
  }

  /**
   * One turn of the event loop: setImmediate runs after the poll phase, so pending I/O
   * (keepalive pings, stream data, signals) is handled first. Restarts the clock.
   */
  async yield(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.last = performance.now();
  }
}

