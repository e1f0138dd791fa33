import * as grpc from '@grpc/grpc-js';
import { ProtocolError } from '../shared/errors.ts';
import { AsyncQueue } from '../shared/transport/async-queue.ts';
import { channelOptions, federationService, writeWithBackpressure, type FrameMsg } from '../shared/transport/grpc-proto.ts';
import type { SiteTransport, SubmitReply, Welcome, WireMessage } from '../shared/transport/types.ts';

/** A method of the generated client, bound; a missing one means the proto and this code disagree. */
function rpc(client: object, name: 'Subscribe' | 'Submit'): (...args: unknown[]) => unknown {
  const f = (client as Record<string, unknown>)[name];
  if (typeof f !== 'function') throw new Error(`the gRPC client has no method ${name}: proto/fedcausal/v1 and the site agent disagree`);
  return (f as (...args: unknown[]) => unknown).bind(client);
}

/** The site side of the gRPC protocol. */
export function grpcSiteTransport(address: string, maxChunkSize: number): SiteTransport {
  const { Client } = federationService();
  const client = new Client(address, grpc.credentials.createInsecure(), channelOptions(maxChunkSize));
  let sub: grpc.ClientReadableStream<FrameMsg> | undefined;
  return {
    subscribe(join: WireMessage) {
      return new Promise<{ welcome: Welcome; tasks: AsyncIterable<WireMessage> }>((resolve, reject) => {
        const chunks = [...(join.chunks as Iterable<Uint8Array>)];
        const call = rpc(client, 'Subscribe')({ header: join.header, signature: join.signature, chunks }) as grpc.ClientReadableStream<FrameMsg>;
        sub = call;
        const tasks = new AsyncQueue<WireMessage>();
        let welcomed = false;
        let current: { header: Uint8Array; signature: Uint8Array; chunks: Uint8Array[]; count: number } | undefined;
        call.on('data', (f: FrameMsg) => {
          if (f.welcome && !welcomed) {
            welcomed = true;
            resolve({ welcome: f.welcome, tasks });
          } else if (f.header) {
            let count = 1;
            try {
              count = (JSON.parse(Buffer.from(f.header.header).toString('utf8')) as { chunkCount: number }).chunkCount;
            } catch {
              /* verifyHeader reports it */
            }
            current = { header: f.header.header, signature: f.header.signature, chunks: [], count };
          } else if (f.chunk && current) {
            current.chunks.push(new Uint8Array(f.chunk.buffer, f.chunk.byteOffset, f.chunk.byteLength));
            if (current.chunks.length >= current.count) {
              tasks.push({ header: current.header, signature: current.signature, chunks: current.chunks });
              current = undefined;
            }
          }
        });
        call.on('error', (e: grpc.ServiceError) => {
          if (!welcomed) reject(e);
          else tasks.close(e.code === grpc.status.CANCELLED ? undefined : e);
        });
        call.on('end', () => tasks.close());
      });
    },
    submit(msg: WireMessage) {
      return new Promise<SubmitReply>((resolve, reject) => {
        const call = rpc(client, 'Submit')((err: grpc.ServiceError | null, reply?: SubmitReply) =>
          err ? reject(new ProtocolError(`coordinator refused the result: ${err.details || err.message}`, 'malformed', { cause: err })) : resolve(reply!),
        ) as grpc.ClientWritableStream<FrameMsg>;
        void (async () => {
          await writeWithBackpressure(call, { header: { header: msg.header, signature: msg.signature } });
          for await (const c of msg.chunks) await writeWithBackpressure(call, { chunk: c });
          call.end();
        })().catch(reject);
      });
    },
    close() {
      sub?.cancel();
      client.close();
    },
  };
}
