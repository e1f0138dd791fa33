/**
 * Child process of bench/round-overhead.ts: one hospital's SiteAgent over its own
 * gRPC transport, as `fedcausal site start` runs it, plus timestamps for the round
 * breakdown. Sites run as separate processes because training runs on the process's
 * one JS thread: four in-process sites would share it, and "duration - slowest training"
 * would then count three other sites' training as overhead.
 *
 *   node --import tsx bench/round-site.ts CONFIG.json
 *
 * Instrumentation (timestamps only, no behaviour change): the transport is wrapped to
 * note when each task has fully arrived and when each result submission starts and is
 * answered; SiteModelRunner's setWeights/evaluate/train/getWeights are wrapped to time
 * them. The last stdout line is a JSON object with every event.
 */
import type { TlsFiles } from '../shared/pki/grpc-credentials.ts';
import { readFileSync } from 'node:fs';
import { loadSchema } from '../shared/data/schema.ts';
import { loadSiteTable } from '../shared/data/table.ts';
import { decodeKey } from '../shared/crypto/keys.ts';
import { silentLogger } from '../shared/logger.ts';
import { backendFromEnv, loadBackend } from '../shared/model/backend.ts';
import type { SiteTransport, WireMessage } from '../shared/transport/types.ts';
import { SiteAgent } from '../site-agent/agent.ts';
import { grpcSiteTransport } from '../site-agent/grpc-client.ts';
import { prepareLocalData } from '../site-agent/local-data.ts';
import { SiteModelRunner } from '../site-agent/model-runner.ts';

export interface SiteBenchConfig {
  address: string;
  site: string;
  federation: string;
  schemaPath: string;
  dataPath: string;
  seed: number;
  maxChunkSize: number;
  /** base64 keys */
  signingPublicKey: string;
  signingSecretKey: string;
  boxPublicKey: string;
  boxSecretKey: string;
  coordinatorSigningPublicKey: string;
  coordinatorBoxPublicKey: string;
  /** PEMs of the site's TLS certificate and key, and the federation CA. */
  tls: TlsFiles;
}

/** One timestamped event; `t` is epoch milliseconds with sub-ms precision (comparable across processes). */
export interface SiteEvent {
  t: number;
  what: 'task-received' | 'submit-start' | 'submit-end' | 'setWeights' | 'evaluate' | 'train' | 'getWeights';
  round?: number;
  kind?: string;
  /** Duration of the wrapped call, for the runner events (they are recorded when the call ends). */
  ms?: number;
}

const now = () => performance.timeOrigin + performance.now();

function headerOf(m: WireMessage): { round?: number; kind?: string } {
  try {
    const h = JSON.parse(Buffer.from(m.header).toString('utf8')) as { round?: number; kind?: string };
    return { round: h.round, kind: h.kind };
  } catch {
    return {};
  }
}

function timedTransport(inner: SiteTransport, events: SiteEvent[], onTask: (round?: number) => void): SiteTransport {
  return {
    async subscribe(join) {
      const { welcome, tasks } = await inner.subscribe(join);
      const timed = {
        async *[Symbol.asyncIterator]() {
          for await (const t of tasks) {
            const h = headerOf(t);
            events.push({ t: now(), what: 'task-received', ...h });
            onTask(h.round);
            yield t;
          }
        },
      };
      return { welcome, tasks: timed };
    },
    async submit(msg) {
      const h = headerOf(msg);
      events.push({ t: now(), what: 'submit-start', ...h });
      try {
        return await inner.submit(msg);
      } finally {
        events.push({ t: now(), what: 'submit-end', ...h });
      }
    },
    close: () => inner.close(),
  };
}

/** Wraps SiteModelRunner methods with timers; the round is the last task's. */
function timeRunner(events: SiteEvent[], round: () => number | undefined): void {
  const proto = SiteModelRunner.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of ['setWeights', 'evaluate', 'train', 'getWeights'] as const) {
    const orig = proto[name]!;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      const t0 = now();
      const record = () => {
        const t1 = now();
        events.push({ t: t1, what: name, round: round(), ms: t1 - t0 });
      };
      const out = orig.apply(this, args);
      // train is async (it yields to the event loop): time it to its settling, not its first await.
      if (out instanceof Promise) return out.finally(record);
      record();
      return out;
    };
  }
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) throw new Error('usage: round-site.ts CONFIG.json');
  const c = JSON.parse(readFileSync(path, 'utf8')) as SiteBenchConfig;
  const schema = loadSchema(c.schemaPath);
  const data = prepareLocalData(loadSiteTable(schema, c.dataPath), { testFraction: 0.3, seed: c.seed });
  // Load tfjs before joining, as a warm site would have: backend start-up is not round overhead.
  const backend = await loadBackend(backendFromEnv(process.env));
  const events: SiteEvent[] = [];
  let lastRound: number | undefined;
  timeRunner(events, () => lastRound);
  const transport = timedTransport(grpcSiteTransport(c.address, c.maxChunkSize, c.tls), events, (r) => (lastRound = r));
  const agent = new SiteAgent({
    site: c.site,
    federation: c.federation,
    schema,
    data,
    identity: {
      signing: { publicKey: decodeKey(c.signingPublicKey, 32, 'signing public key'), secretKey: decodeKey(c.signingSecretKey, 64, 'signing secret key') },
      box: { publicKey: decodeKey(c.boxPublicKey, 32, 'box public key'), secretKey: decodeKey(c.boxSecretKey, 32, 'box secret key') },
    },
    coordinator: {
      signingPublicKey: decodeKey(c.coordinatorSigningPublicKey, 32, 'coordinator signing key'),
      boxPublicKey: decodeKey(c.coordinatorBoxPublicKey, 32, 'coordinator box key'),
    },
    transport,
    seed: c.seed,
    log: silentLogger,
  });
  const ended = await agent.run();
  transport.close();
  console.log(
    JSON.stringify({
      site: c.site,
      pid: process.pid,
      backend,
      trainRows: data.train.values.length,
      testRows: data.test.values.length,
      ended,
      events,
    }),
  );
}

main().catch((e: Error) => {
  console.error(`site bench failed: ${e.stack ?? e.message}`);
  process.exit(1);
});
