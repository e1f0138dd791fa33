/**
 * Lets long synchronous work (a site's local training) give the event loop a turn
 * every so often, so gRPC keepalive pings are answered, streams are read and a stop
 * request is seen while it runs. A site whose loop is blocked longer than the
 * keepalive's ping timeout (shared/transport/grpc-proto.ts) is cut off, and on a
 * machine with more busy processes than cores a second of CPU can take long.
 */

/** How long a stretch of work may hold the event loop before it yields (ms). */
export const DEFAULT_YIELD_EVERY_MS = 25;

/** One turn of the event loop: setImmediate runs after the poll phase, so pending I/O (pings, stream data, signals) is handled first. */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

export class LoopYielder {
  /**
   * -Infinity: the first check is due. Whoever called may have held the loop for a
   * while already (model creation, evaluation), so work starts with a turn.
   */
  private last = -Infinity;
  private readonly never: boolean;

  /** `everyMs`: Infinity never yields (in-process simulation, where the order sites finish in must not depend on the clock). */
  constructor(private readonly everyMs: number = DEFAULT_YIELD_EVERY_MS) {
    this.never = everyMs === Infinity;
  }

  /** True once `everyMs` passed since the last yield; checked before paying for a yield. */
  get due(): boolean {
    return !this.never && performance.now() - this.last >= this.everyMs;
  }

  /** One turn of the event loop; restarts the clock. */
  async yield(): Promise<void> {
    await nextTurn();
    this.last = performance.now();
  }
}
