/**
 * Child process of bench/round-overhead.ts: the floor a round's transport cannot go
 * below. It streams the bytes a 4-site round moves to a server that only counts them:
 * first 4 x model bytes plain (the broadcast down), then 4 x model bytes sealed with
 * PayloadSealer to a recipient box key (the encrypted results up), the 4 streams of a
 * phase concurrent, over the same gRPC service and 1 MiB chunks as the system.
 *
 *   node --import tsx bench/floor-client.ts ADDRESS MODEL_BYTES REPEATS
 *
 * Last stdout line: JSON with every repeat's down/up/total milliseconds.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_CHUNK_SIZE, PayloadSealer } from '../shared/crypto/envelope.ts';
import { generateIdentity } from '../shared/crypto/keys.ts';
import { channelOptions, federationService, writeWithBackpressure } from '../shared/transport/grpc-proto.ts';
import type { SubmitReply } from '../shared/transport/types.ts';

const SITES = 4;

function stream(client: grpc.Client & Record<string, unknown>, header: { header: Uint8Array; signature: Uint8Array }, chunks: Iterable<Uint8Array>): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const Submit = client.Submit as (cb: (err: grpc.ServiceError | null, r?: SubmitReply) => void) => grpc.ClientWritableStream<unknown>;
    const call = Submit.call(client, (err, reply) => (err ? reject(err) : resolve(Number(reply!.message))));
    void (async () => {
      await writeWithBackpressure(call, { header });
      for (const c of chunks) await writeWithBackpressure(call, { chunk: c });
      call.end();
    })().catch(reject);
  });
}

function* slices(p: Uint8Array, size: number): Generator<Uint8Array> {
  for (let o = 0; o < p.length; o += size) yield p.subarray(o, Math.min(o + size, p.length));
}

async function main(): Promise<void> {
  const [address, bytesArg, repeatsArg] = process.argv.slice(2);
  const modelBytes = Number(bytesArg);
  const repeats = Number(repeatsArg ?? 5);
  if (!address || !(modelBytes > 0) || !(repeats > 0)) throw new Error('usage: floor-client.ts ADDRESS MODEL_BYTES REPEATS');
  const { Client } = federationService();
  const opts = channelOptions(DEFAULT_CHUNK_SIZE);
  // One channel per simulated site, as four site processes would have.
  const clients = Array.from({ length: SITES }, () => new Client(address, grpc.credentials.createInsecure(), opts) as grpc.Client & Record<string, unknown>);
  const payloads = Array.from({ length: SITES }, () => new Uint8Array(randomBytes(modelBytes)));
  const site = generateIdentity();
  const coordinator = generateIdentity();
  const plainHeader = { header: new Uint8Array(256), signature: new Uint8Array(64) };
  const reps: { downMs: number; upMs: number; totalMs: number; bytes: number }[] = [];
  for (let r = 0; r < repeats + 1; r++) {
    const t0 = performance.now();
    const down = await Promise.all(clients.map((c, i) => stream(c, plainHeader, slices(payloads[i]!, DEFAULT_CHUNK_SIZE))));
    const t1 = performance.now();
    const up = await Promise.all(
      clients.map((c, i) => {
        const s = new PayloadSealer({ federation: 'floor', round: r + 1, site: `site-${i}`, kind: 'fit-result' }, payloads[i]!, {
          signingSecretKey: site.signing.secretKey,
          recipientBoxPublicKey: coordinator.box.publicKey,
        });
        return stream(c, { header: s.header, signature: s.signature }, s.chunks());
      }),
    );
    const t2 = performance.now();
    const bytes = [...down, ...up].reduce((a, b) => a + b, 0);
    // The first pass warms the channels (HTTP/2 connect, JIT); it is not reported.
    if (r > 0) reps.push({ downMs: t1 - t0, upMs: t2 - t1, totalMs: t2 - t0, bytes });
  }
  for (const c of clients) c.close();
  console.log(JSON.stringify({ sites: SITES, modelBytes, chunkSize: DEFAULT_CHUNK_SIZE, reps }));
}

main().catch((e: Error) => {
  console.error(`floor client failed: ${e.stack ?? e.message}`);
  process.exit(1);
});
