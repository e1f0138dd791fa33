import { PayloadOpener, verifyHeader, type SealedHeader } from '../shared/crypto/envelope.ts';
import type { ReplayGuard } from '../shared/crypto/replay-guard.ts';
import { ProtocolError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { FrameReader } from '../shared/protocol/frame.ts';
import { PROTOCOL_VERSION, type ResultMeta } from '../shared/protocol/messages.ts';
import type { CoordinatorEndpoint, SubmitReply, TaskSink, WireMessage } from '../shared/transport/types.ts';
import type { SiteDirectory } from './directory.ts';
import type { Spool } from './spool.ts';

export interface EndpointLimits {
  maxPayloadBytes: number;
  maxChunkSize: number;
}

/** What the endpoint needs from the round loop. */
export interface RoundGate {
  federation: string;
  /** 'finished' once the federation ended: disconnects are then expected. */
  readonly state: string;
  /** The round and result kind being collected from `site` now, or undefined if nothing is expected from it. */
  expectation(site: string): { round: number; kind: string } | undefined;
  /** Hands over a verified result; `replay` re-reads its weights in order. Resolves once applied. */
  deliver(site: string, meta: ResultMeta, replay: (onWeights: (offset: number, v: Float32Array) => void) => void): void;
  /** A fresh, genuine result from `site` was refused: it fails the round now instead of at the deadline. */
  reject(site: string, reason: string): void;
  /** A site (re)connected: send it whatever task it still owes. */
  connected(site: string): void;
  disconnected(site: string): void;
}

export interface EndpointDeps {
  directory: SiteDirectory;
  gate: RoundGate;
  replay: ReplayGuard;
  boxSecretKey: Uint8Array;
  limits: EndpointLimits;
  spool: (site: string) => Spool;
  log: Logger;
  /** Called with a reason for every refused message (metrics). */
  onReject?: (reason: string, site: string | undefined) => void;
}

/**
 * The coordinator as transports see it: verifies every message (signature from
 * the enrolled key, replay window, round, kind, size), spools an update until it
 * is wholly verified, and only then hands it to the round loop. A refused message
 * leaves every piece of federation state as it was.
 */
export class CoordinatorService implements CoordinatorEndpoint {
  constructor(private readonly d: EndpointDeps) {}

  private verify(msg: WireMessage): SealedHeader {
    return verifyHeader(msg.header, msg.signature, (s) => this.d.directory.signingKey(s), this.d.limits);
  }

  /**
   * Logs, counts and rethrows a refusal. Only a site whose signature verified is named
   * in metrics and status: a forger must not choose metric labels or blame a real site.
   */
  refuse(e: unknown, verifiedSite?: string, header?: Uint8Array): never {
    const reason = e instanceof ProtocolError ? e.reason : 'malformed';
    this.d.onReject?.(reason, verifiedSite);
    const claimed = header ? tryParseSite(header) : undefined;
    this.d.log.warn('message refused', { site: verifiedSite ?? 'unverified', claimed, reason, error: (e as Error).message });
    if (verifiedSite) this.d.directory.recordError(verifiedSite, (e as Error).message);
    throw e instanceof ProtocolError ? e : new ProtocolError((e as Error).message, 'malformed', { cause: e });
  }

  async subscribe(join: WireMessage, sink: TaskSink) {
    let header: SealedHeader;
    let verified: string | undefined;
    try {
      header = this.verify(join);
      verified = header.site;
      this.d.replay.check(header, { federation: this.d.gate.federation, kinds: ['join'] });
      // A join is not a once-per-round answer: a restarted site must be able to join again.
      // Its messageId stays refused, so the same join cannot be replayed.
      this.d.replay.release(header);
      const chunks: Uint8Array[] = [];
      for await (const c of join.chunks) chunks.push(c);
      const opener = new PayloadOpener(header, join.header, this.d.boxSecretKey);
      let meta: { protocolVersion?: number; session?: unknown } | undefined;
      const reader = new FrameReader((m) => (meta = m as typeof meta));
      chunks.forEach((c, i) => reader.push(opener.open(i, c)));
      opener.finish();
      reader.finish();
      if (meta?.protocolVersion !== PROTOCOL_VERSION)
        throw new ProtocolError(
          `site speaks protocol version ${meta?.protocolVersion}, this coordinator speaks ${PROTOCOL_VERSION}`,
          'malformed',
        );
      if (meta.session !== undefined && (typeof meta.session !== 'string' || meta.session.length > 128))
        throw new ProtocolError('join field "session" must be a string of at most 128 characters', 'malformed');
      this.d.directory.connect(header.site, sink, meta.session);
    } catch (e) {
      this.refuse(e, verified, join.header);
    }
    const site = header.site;
    this.d.log.info('site joined', { site });
    queueMicrotask(() => this.d.gate.connected(site));
    return {
      welcome: { federation: this.d.gate.federation, protocolVersion: PROTOCOL_VERSION, message: `welcome, ${site}` },
      closed: () => {
        const wasCurrent = this.d.directory.sink(site) === sink;
        this.d.directory.disconnect(site, sink);
        if (wasCurrent) {
          if (this.d.gate.state === 'finished') this.d.log.info('site left', { site });
          else this.d.log.warn('site disconnected', { site });
          this.d.gate.disconnected(site);
        }
      },
    };
  }

  async submit(msg: WireMessage): Promise<SubmitReply> {
    let header: SealedHeader;
    let verified: string | undefined;
    let meta: ResultMeta | undefined;
    let spool: Spool | undefined;
    // Set once the message is the site's own and the answer it owes now (signature and replay
    // checks passed): only then may a refusal fail the site for the round; a replayed or
    // forged message must not be a way to knock a site out.
    let fresh = false;
    try {
      header = this.verify(msg);
      verified = header.site;
      const exp = this.d.gate.expectation(header.site);
      this.d.replay.check(header, {
        federation: this.d.gate.federation,
        round: exp?.round ?? header.round,
        kinds: exp ? [exp.kind] : [],
      });
      fresh = exp !== undefined;
      spool = this.d.spool(header.site);
      const opener = new PayloadOpener(header, msg.header, this.d.boxSecretKey, { requireEncrypted: true });
      // Every value is checked while the message is verified, before any of it is folded in.
      const reader = new FrameReader(
        (m) => (meta = m as ResultMeta),
        (offset, values) => {
          for (let k = 0; k < values.length; k++)
            if (!Number.isFinite(values[k]!)) throw new ProtocolError(`non-finite value ${values[k]} at parameter ${offset + k}`, 'malformed');
        },
      );
      let i = 0;
      for await (const c of msg.chunks) {
        if (c.length > this.d.limits.maxChunkSize + 64)
          throw new ProtocolError(`chunk ${i} is ${c.length} bytes, over the chunk limit`, 'oversized');
        reader.push(opener.open(i++, c));
        spool.append(c);
      }
      opener.finish();
      reader.finish();
      checkResultMeta(meta, header);
    } catch (e) {
      spool?.dispose();
      if (fresh && verified) this.d.gate.reject(verified, (e as Error).message);
      this.refuse(e, verified, msg.header);
    }
    this.d.directory.touch(header.site);
    const s = spool;
    const h = header;
    const headerBytes = msg.header;
    try {
      this.d.gate.deliver(h.site, meta, (onWeights) => {
        const opener = new PayloadOpener(h, headerBytes, this.d.boxSecretKey);
        const reader = new FrameReader(() => {}, onWeights);
        let i = 0;
        for (const c of s.chunks()) reader.push(opener.open(i++, c));
        opener.finish();
        reader.finish();
      });
    } catch (e) {
      this.d.gate.reject(h.site, (e as Error).message);
      this.refuse(e, h.site);
    } finally {
      s.dispose();
    }
    return { accepted: true, message: `round ${h.round} ${h.kind} accepted` };
  }
}

function tryParseSite(header: Uint8Array): string | undefined {
  try {
    const site = (JSON.parse(new TextDecoder().decode(header)) as { site?: unknown }).site;
    return typeof site === 'string' ? site.slice(0, 64) : undefined;
  } catch {
    return undefined;
  }
}

/** Shape checks on a decrypted result meta: a signed message can still be malformed. */
function checkResultMeta(meta: ResultMeta | null | undefined, h: SealedHeader): asserts meta is ResultMeta {
  const bad = (what: string): never => {
    throw new ProtocolError(`${h.kind} from site "${h.site}": ${what}`, 'malformed');
  };
  if (typeof meta !== 'object' || meta === null) return bad('payload meta is not an object');
  if (meta.round !== h.round) bad(`payload says round ${meta.round}, header says ${h.round}`);
  if (!Number.isInteger(meta.weights) || meta.weights < 0) bad('field "weights" must be a non-negative integer');
  if (!Number.isFinite(meta.numExamples) || meta.numExamples < 0) bad('field "numExamples" must be a number >= 0');
  const metrics: unknown = meta.metrics; // decoded JSON: the type is what we are checking
  if (typeof metrics !== 'object' || metrics === null) bad('field "metrics" must be an object');
}
