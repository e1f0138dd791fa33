import * as grpc from '@grpc/grpc-js';
import { ProtocolError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { channelOptions, federationService, refusalStatus, writeWithBackpressure, type FrameMsg } from '../shared/transport/grpc-proto.ts';
import type { CoordinatorEndpoint, TaskSink, WireMessage } from '../shared/transport/types.ts';

/** Serves a CoordinatorEndpoint over gRPC. Bind to loopback unless deployment says otherwise. */
export async function startGrpcServer(opts: {
  endpoint: CoordinatorEndpoint;
  host: string;
  port: number;
  maxChunkSize: number;
  log: Logger;
}): Promise<{ port: number; close(): Promise<void> }> {
  const { endpoint, log } = opts;
  const server = new grpc.Server(channelOptions(opts.maxChunkSize));
  const { service } = federationService();
  server.addService(service, {
    Subscribe: (call: grpc.ServerWritableStream<{ header: Buffer; signature: Buffer; chunks: Buffer[] }, FrameMsg>) => {
      let ended = false;
      const sink: TaskSink = {
        async send(task: WireMessage) {
          if (ended) return;
          await writeWithBackpressure(call, { header: { header: task.header, signature: task.signature } });
          for await (const c of task.chunks) await writeWithBackpressure(call, { chunk: c });
        },
        end(reason: string) {
          if (ended) return;
          ended = true;
          log.debug('ending subscription', { reason });
          call.end();
        },
      };
      const req = call.request;
      endpoint
        .subscribe({ header: req.header, signature: req.signature, chunks: req.chunks }, sink)
        .then(({ welcome, closed }) => {
          call.write({ welcome });
          const done = () => {
            ended = true;
            closed();
          };
          call.on('cancelled', done);
          call.on('close', done);
          call.on('error', done);
        })
        .catch((e: Error) => {
          ended = true;
          // emit('error'), not destroy(): grpc-js turns an 'error' into the call's status and ends
          // the stream; destroy() drops the status, and the refused site would wait forever.
          // The reason rides in the trailers: a site told 'already-connected' acts on it.
          call.emit('error', Object.assign(new Error(e.message), refusalStatus(e)));
        });
    },
    Submit: (call: grpc.ServerReadableStream<FrameMsg, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      void (async () => {
        const it = call[Symbol.asyncIterator]() as AsyncIterator<FrameMsg>;
        const first = await it.next();
        if (first.done || !first.value.header) {
          const e = new ProtocolError('a Submit stream must start with a header frame', 'malformed');
          // Never reached the endpoint: have it log and count the refusal like the rest.
          if (endpoint.refuse) endpoint.refuse(e);
          throw e;
        }
        const chunks = {
          async *[Symbol.asyncIterator]() {
            for (;;) {
              const n = await it.next();
              if (n.done) return;
              if (!n.value.chunk) throw new ProtocolError('expected a chunk frame after the header', 'malformed');
              yield new Uint8Array(n.value.chunk.buffer, n.value.chunk.byteOffset, n.value.chunk.byteLength);
            }
          },
        };
        return endpoint.submit({ header: first.value.header.header, signature: first.value.header.signature, chunks });
      })().then(
        (reply) => callback(null, reply),
        (e: Error) => callback(refusalStatus(e)),
      );
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${opts.host}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  log.info('gRPC listening', { host: opts.host, port });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
}
