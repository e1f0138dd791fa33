import { AsyncQueue } from './async-queue.ts';
import type { CoordinatorEndpoint, SiteTransport, WireMessage } from './types.ts';

/**
 * Sites and coordinator in one process, with the same messages (signed, encrypted,
 * chunked) as over gRPC, minus the sockets: `simulate` and the tests use it.
 */
export function inMemoryTransport(endpoint: CoordinatorEndpoint): SiteTransport {
  let closeHook: (() => void) | undefined;
  let queue: AsyncQueue<WireMessage> | undefined;
  return {
    async subscribe(join) {
      queue = new AsyncQueue<WireMessage>();
      const q = queue;
      const sink = {
        send: async (task: WireMessage) => q.push(task),
        end: () => q.close(),
      };
      const { welcome, closed } = await endpoint.subscribe(join, sink);
      closeHook = closed;
      return { welcome, tasks: q };
    },
    submit: (msg) => endpoint.submit(msg),
    ...(endpoint.challenge ? { challenge: () => endpoint.challenge!() } : {}),
    close() {
      queue?.close();
      closeHook?.();
      closeHook = undefined;
    },
  };
}
