import { oneLine } from '../shared/text/one-line.ts';
import { sizeText } from '../shared/transport/transfer-progress.ts';
import { FEDCAUSAL_BUILD_VERSION } from '../shared/version.ts';
import { digestDifference, schemaDifference } from '../shared/data/schema-compare.ts';
import type { Schema } from '../shared/data/schema.ts';
import type { UploadHandle, TransfersInFlight } from './transfers.ts';
import { PayloadOpener, verifyHeader, wireBytes, type SealedHeader } from '../shared/crypto/envelope.ts';
import { encodeKey } from '../shared/crypto/keys.ts';
import type { ReplayGuard } from '../shared/crypto/replay-guard.ts';
import { PEER_REFUSED_MESSAGE } from '../shared/pki/check-peer.ts';
import { peerMatchesSigner } from '../shared/pki/binding.ts';
import { isDescriptorShortage, ProtocolError, StorageError } from '../shared/errors.ts';
import type { FederationState } from '../shared/federation/state.ts';
import type { Logger } from '../shared/logger.ts';
import { FrameReader } from '../shared/protocol/frame.ts';
import { PROTOCOL_VERSION, resultKind, type ResultMeta } from '../shared/protocol/messages.ts';
import { phaseOf, SECAGG_PHASE } from '../shared/secagg/wire.ts';
import type { CoordinatorEndpoint, PeerIdentity, SubmitReply, TaskSink, WireMessage } from '../shared/transport/types.ts';
import { OTHER_RELEASE, OTHER_SCHEMA, type SiteDirectory } from './directory.ts';
import type { Spool } from './spool.ts';
import { JoinNonces } from './join-nonces.ts';
import { claimedSite, excerpt, RefusalLog } from './refusal-log.ts';
import { END_ACK_KIND } from './end-notice.ts';
import { checkResultMeta } from './result-bounds.ts';

/** The masked-input result of any secure sum: stage = phase + 10 x the statistics stage (0 for a fit round). */
const SECAGG_RESULT = resultKind('secagg', 1).replace(/1$/, '');
const isMaskedInput = (kind: string | undefined) => kind?.startsWith(SECAGG_RESULT) === true && phaseOf(Number(kind.slice(SECAGG_RESULT.length))) === SECAGG_PHASE.mask;

/** A version string longer than this is not one (the join is the site's own, but the dashboard shows it). */
const MAX_VERSION_CHARS = 64;

export interface EndpointLimits {
  maxPayloadBytes: number;
  maxChunkSize: number;
}

/** What the endpoint needs from the round loop. */
export interface RoundGate {
  federation: string;
  /** 'finished' or 'failed' once the federation ended: disconnects are then expected. */
  readonly state: FederationState;
  /**
   * The round and result kind being collected from `site` now, or undefined if nothing is
   * expected from it; with the most payload bytes that result may claim (refused before spooling).
   */
  expectation(site: string): { round: number; kind: string; maxPayloadBytes?: number } | undefined;
  /**
   * Hands over a verified result; `replay` re-reads its weights in order. Once it returns, the
   * gate owns the spooled result and calls `release` when done with it (at once, or when its
   * round closes); when it throws, the endpoint frees it.
   */
  deliver(site: string, meta: ResultMeta, replay: (onWeights: (offset: number, v: Float32Array) => void) => void, release: () => void): void;
  /** A fresh, genuine result from `site` was refused: it fails the round now instead of at the deadline. */
  reject(site: string, reason: string): void;
  /** A site (re)connected: send it whatever task it still owes. */
  connected(site: string): void;
  disconnected(site: string): void;
  /** True from the moment the run is asked to stop (its state says 'stopped' only once it has). */
  readonly stopRequested?: boolean;
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
  /** Called with the size of every result chunk received (metrics). */
  onBytes?: (bytes: number) => void;
  /** Results arriving now, for the status (transfers.ts). */
  transfers?: TransfersInFlight;
  /** Where refusals are logged, rate-limited; one over `log` with the default rate when absent. */
  refusalLog?: RefusalLog;
  /** Hears a fault of the coordinator's own storage met while taking a message (the coordinator stops at its last committed round). */
  onStorageFault?: (e: StorageError) => void;
  /** The federation's schema: a site joining with another is refused (absent: not compared). */
  schema?: Schema;
}

/** How a schema refusal begins: the site's name, which the rounds' and results' words give already. */
const schemaRefusalHead = (site: string) => `site "${site}" uses another schema than the federation's: `;

/** Join refusals a site cannot get past by retrying, as the rounds it misses name them. */
const JOIN_REFUSALS: Partial<Record<string, typeof OTHER_RELEASE | typeof OTHER_SCHEMA>> = { incompatible: OTHER_RELEASE, 'schema-mismatch': OTHER_SCHEMA };

/**
 * The coordinator as transports see it: verifies every message (signature from
 * the enrolled key, replay window, round, kind, size), spools an update until it
 * is wholly verified, and only then hands it to the round loop. A refused message
 * leaves every piece of federation state as it was.
 */
export class CoordinatorService implements CoordinatorEndpoint {
  private readonly nonces = new JoinNonces();
  private readonly refusals: RefusalLog;

  constructor(private readonly deps: EndpointDeps) {
    this.refusals = deps.refusalLog ?? new RefusalLog(deps.log);
  }

  /** Logs the counts of refusals the rate limit kept out of the log (shutdown). */
  flushRefusalLog(): void {
    this.refusals.flush();
  }

  async challenge(peer?: PeerIdentity): Promise<Uint8Array> {
    return this.nonces.issue(peer?.site);
  }

  /**
   * Signature from the enrolled key and, over TLS, the connection's certificate names the
   * same site and key as the envelope (so a stolen TLS key alone cannot send, nor a stolen
   * signing key alone connect).
   */
  private verify(msg: WireMessage, peer: PeerIdentity | undefined): SealedHeader {
    const header = verifyHeader(msg.header, msg.signature, (s) => this.deps.directory.signingKey(s), this.deps.limits);
    if (peer) {
      const key = this.deps.directory.signingKey(header.site);
      if (!key || !peerMatchesSigner(peer, { site: header.site, signingPublicKey: encodeKey(key) }))
        throw new ProtocolError(`the connection's certificate is for site "${peer.site}", the envelope is signed as "${header.site}"`, 'peer-refused');
    }
    return header;
  }

  /**
   * The coordinator's own disk failed while it took a site's message (spool, replay ids): not
   * the site's doing, so nothing is counted or recorded against it and its round is not
   * failed; the coordinator stops (onStorageFault), and the site hears why it may not send now.
   */
  private storageFault(e: StorageError, site: string | undefined): never {
    this.deps.log.error('coordinator storage failed while taking a message', { site, error: e.message });
    this.deps.onStorageFault?.(e);
    // UNAVAILABLE, as a coordinator that is down: the site keeps reconnecting until it is back.
    // The coordinator host's paths are not the hospitals' business: the operator's log has them.
    throw new ProtocolError("the coordinator cannot take messages now: its own storage failed; it stops at its last committed round and resumes when its operator has restarted it", 'unavailable', { cause: e });
  }

  /** This process out of file descriptors while taking a message: no one's fault and passing; the message is refused, nothing stops. */
  private shortOfDescriptors(e: unknown, site: string | undefined): never {
    this.deps.log.error('coordinator out of file descriptors while taking a message (raise LimitNOFILE / ulimit -n)', { site, error: (e as Error).message });
    throw new ProtocolError(`the coordinator cannot take this message now: ${excerpt((e as Error).message)}`, 'busy', { cause: e });
  }

  /** A fault of the coordinator's own, not the site's: handled above; otherwise returns. */
  private ownFault(e: unknown, site: string | undefined): void {
    if (e instanceof StorageError) this.storageFault(e, site);
    if (isDescriptorShortage(e)) this.shortOfDescriptors(e, site);
  }

  /**
   * Logs, counts and rethrows a refusal. Only a site whose signature verified is named
   * in metrics and status: a forger must not choose metric labels or blame a real site.
   */
  refuse(e: unknown, verifiedSite?: string, header?: Uint8Array): never {
    const reason = e instanceof ProtocolError ? e.reason : 'malformed';
    // A result that comes as the coordinator stops (a stop request, its disk failing) was owed
    // a moment ago: not the site's fault, and a restart asks for it again.
    if (reason === 'not-expected' && (this.deps.gate.stopRequested === true || this.deps.gate.state === 'stopped')) {
      this.deps.log.debug('a message came as the coordinator stopped; a restart asks for it again', { site: verifiedSite });
      throw new ProtocolError('the coordinator is stopping; it asks for this again when restarted', 'unavailable', { cause: e });
    }
    this.deps.onReject?.(reason, verifiedSite);
    const claimed = header ? claimedSite(header) : undefined;
    // A sender's text is quoted only in part, and a flood of refusals is summed up, not logged line by line.
    const error = excerpt((e as Error).message);
    this.refusals.refused(reason, { site: verifiedSite ?? 'unverified', claimed, reason, error });
    if (verifiedSite) this.recordForSite(verifiedSite, reason, error, (e as Error).message);
    // Who is enrolled must not show: an unknown name, a bad signature and a certificate that is
    // not the signer's all get the same answer (the log above keeps the real reason).
    if (reason === 'unknown-site' || reason === 'bad-signature' || reason === 'peer-refused')
      throw new ProtocolError(PEER_REFUSED_MESSAGE, 'peer-refused', { cause: e });
    throw e instanceof ProtocolError ? e : new ProtocolError((e as Error).message, 'malformed', { cause: e });
  }

  /** A verified site's refusal in its status; a refused join also as why it is absent from rounds (another release, another schema). */
  private recordForSite(site: string, reason: string, error: string, message: string): void {
    this.deps.directory.recordError(site, error);
    const join = JOIN_REFUSALS[reason];
    // Its own words after the kind, without the site's name and the kind said again, and longer than a last error
    // (the results' warnings repeated them, then cut the difference mid-word).
    const own = schemaRefusalHead(site);
    if (join) this.deps.directory.recordRefusedJoin(site, join, excerpt(message.startsWith(own) ? message.slice(own.length) : message, 800));
  }

  async subscribe(join: WireMessage, sink: TaskSink, peer?: PeerIdentity) {
    let header: SealedHeader;
    let verified: string | undefined;
    try {
      header = this.verify(join, peer);
      verified = header.site;
      // Checked here, recorded once its nonce is (below).
      const expected = { federation: this.deps.gate.federation, kinds: ['join'] };
      this.deps.replay.checkUnrecorded(header, expected);
      const chunks: Uint8Array[] = [];
      for await (const c of join.chunks) chunks.push(c);
      // Encrypted as well as signed: what a site says when it joins is for the coordinator only.
      const opener = new PayloadOpener(header, join.header, this.deps.boxSecretKey, { requireEncrypted: true });
      let meta: { protocolVersion?: number; session?: unknown; nonce?: unknown; software?: unknown; schema?: unknown; schemaDigest?: unknown } | undefined;
      const reader = new FrameReader((m) => (meta = m as typeof meta));
      chunks.forEach((c, i) => reader.push(opener.open(i, c)));
      opener.finish();
      reader.finish();
      if (meta?.protocolVersion !== PROTOCOL_VERSION)
        throw new ProtocolError(
          `site speaks protocol version ${meta?.protocolVersion}${typeof meta?.software === 'string' ? ` (fedcausal ${meta.software.slice(0, 32)})` : ''}, ` +
            `this coordinator speaks ${PROTOCOL_VERSION} (fedcausal ${FEDCAUSAL_BUILD_VERSION}): install one fedcausal release at the coordinator and every site`,
          'incompatible',
        );
      // Challenge-response: only a nonce issued to this site, once, recently, by this very process.
      this.nonces.consume(meta.nonce, header.site);
      // Only now is its id recorded (on disk, with a store: 20,000 nonce-less joins were written). Not a
      // once-per-round answer: a restarted site joins again; its messageId stays refused.
      this.deps.replay.check(header, expected);
      this.deps.replay.release(header);
      if (meta.session !== undefined && (typeof meta.session !== 'string' || meta.session.length > 128))
        throw new ProtocolError('join field "session" must be a string of at most 128 characters', 'malformed');
      this.checkSchema(header.site, meta);
      this.deps.directory.connect(header.site, sink, meta.session);
      // The site's fedcausal version, for the operator's status (informative: never a reason to refuse).
      if (typeof meta.software === 'string' && meta.software.length <= MAX_VERSION_CHARS) this.deps.directory.recordVersion(header.site, oneLine(meta.software));
    } catch (e) {
      this.ownFault(e, verified);
      this.refuse(e, verified, join.header);
    }
    const site = header.site;
    this.deps.log.info('site joined', { site });
    queueMicrotask(() => this.deps.gate.connected(site));
    return {
      welcome: { federation: this.deps.gate.federation, protocolVersion: PROTOCOL_VERSION, message: `welcome, ${site}` },
      closed: () => {
        const wasCurrent = this.deps.directory.sink(site) === sink;
        this.deps.directory.disconnect(site, sink);
        if (wasCurrent) {
          if (this.deps.gate.state === 'finished' || this.deps.gate.state === 'failed') this.deps.log.info('site left', { site });
          else this.deps.log.warn('site disconnected', { site });
          this.deps.gate.disconnected(site);
        }
      },
    };
  }

  /**
   * A site's schema must be the federation's: its rows would be read, encoded and labelled
   * otherwise (an outside try's changed label threshold trained a whole run unnoticed). A site
   * of an earlier build sends none: said once, not refused (sites of two builds train together).
   */
  private checkSchema(site: string, meta: { schema?: unknown; schemaDigest?: unknown; software?: unknown }): void {
    // A run that has ended only tells a joining site how it ended: a site already given the next run's
    // schema must not be told to go back to this one's (a re-try).
    if (!this.deps.schema || this.deps.gate.state === 'finished' || this.deps.gate.state === 'failed') return;
    if (meta.schema === undefined && meta.schemaDigest === undefined) {
      const software = typeof meta.software === 'string' ? meta.software.slice(0, MAX_VERSION_CHARS) : undefined;
      if (!this.deps.directory.schemaUnchecked(site))
        this.deps.log.warn("site sent no schema to compare (an earlier fedcausal build): its schema.json is not checked against the federation's", { site, software });
      return this.deps.directory.recordSchemaUnchecked(site, software);
    }
    let difference: string | undefined;
    try {
      difference = meta.schema !== undefined ? schemaDifference(meta.schema, this.deps.schema) : digestDifference(meta.schemaDigest, this.deps.schema);
    } catch {
      difference = "the site's schema is not readable";
    }
    if (!difference) return this.deps.directory.recordSchemaChecked(site);
    // The remedy first: a site's last error is cut to 300 characters on the status (a re-try lost it behind a long difference).
    throw new ProtocolError(
      `${schemaRefusalHead(site)}give it the schema.json of the coordinator's kit (every site and the coordinator read one schema) and start it again. It differs in ${difference}`,
      'schema-mismatch',
    );
  }

  async submit(msg: WireMessage, peer?: PeerIdentity): Promise<SubmitReply> {
    const { header, meta, spool } = await this.receive(msg, peer);
    this.deps.directory.touch(header.site);
    this.handOver(header, msg.header, meta, spool);
    return { accepted: true, message: `round ${header.round} ${header.kind} accepted` };
  }

  /** What the site owes now, `header` checked against it (replay window, round, kind): past this, the message is the site's answer. */
  private admitHeader(header: SealedHeader): ReturnType<RoundGate['expectation']> {
    const exp = this.deps.gate.expectation(header.site);
    this.deps.replay.check(header, {
      federation: this.deps.gate.federation,
      round: exp?.round ?? header.round,
      kinds: exp ? [exp.kind] : [],
    });
    // An end acknowledgement is not a once-per-round answer: a site told the end again (restarted
    // while the coordinator lingers) acknowledges it again. Its messageId stays refused.
    if (header.kind === END_ACK_KIND) this.deps.replay.release(header);
    return exp;
  }

  /** A result verified, checked value by value and spooled, or refused (refuse() throws). */
  private async receive(msg: WireMessage, peer?: PeerIdentity): Promise<{ header: SealedHeader; meta: ResultMeta; spool: Spool }> {
    let verified: string | undefined;
    let spool: Spool | undefined;
    // Set once the message is the site's own and the answer it owes now (signature and replay
    // checks passed): only then may a refusal fail the site for the round; a replayed or
    // forged message must not be a way to knock a site out.
    let owed: { round: number; kind: string } | undefined;
    let upload: UploadHandle | undefined;
    try {
      const header = this.verify(msg, peer);
      verified = header.site;
      const exp = (owed = this.admitHeader(header));
      // What the result may weigh (its model's weights and a meta allowance), judged on the signed claim before a byte is spooled.
      if (exp?.maxPayloadBytes !== undefined && header.payloadLength > exp.maxPayloadBytes)
        throw new ProtocolError(`${header.kind} claims ${header.payloadLength} payload bytes, over the ${exp.maxPayloadBytes} this result may take`, 'oversized');
      spool = this.deps.spool(header.site);
      upload = this.deps.transfers?.begin(header.site, header.round, wireBytes(header));
      // An upload that outlasts its round (a slow link) is refused as soon as a chunk shows it: the answer
      // owed now is another round's or stage's. Taken whole, it was counted as the next round's answer (an
      // outside try); refused only once whole, it held up the site's next task behind it for 44 s (a re-try).
      const owedStill = (received: number) => {
        if (stillOwed(this.deps.gate.expectation(header.site), owed)) return;
        const part = received < wireBytes(header) ? `was still arriving (${sizeText(received)} of ${sizeText(wireBytes(header))} in)` : 'arrived whole';
        throw new ProtocolError(`${header.kind} of round ${header.round} ${part} after that round closed: a slow link? quorum.roundDeadlineSeconds at the coordinator sets how long a round waits`, 'stale-round');
      };
      const meta = await this.spoolChunks(msg, header, exp?.kind, spool, upload, owedStill);
      checkResultMeta(meta, header);
      owedStill(wireBytes(header));
      return { header, meta, spool };
    } catch (e) {
      spool?.dispose();
      this.ownFault(e, verified);
      // Only while it is still the answer owed: an upload cut off by a dropped link ends after the
      // round has moved on, and failed the site for its next task (the final evaluation, whose grace
      // for a site to come back it then never had: an outside try on a slow link).
      if (verified && stillOwed(this.deps.gate.expectation(verified), owed)) this.deps.gate.reject(verified, excerpt((e as Error).message));
      return this.refuse(e, verified, msg.header);
    } finally {
      upload?.end();
    }
  }

  /** Opens `msg`'s chunks into `spool`, checking each value as it goes; the result's meta (checked by the caller). */
  private async spoolChunks(msg: WireMessage, header: SealedHeader, expected: string | undefined, spool: Spool, upload: UploadHandle | undefined, owedStill: (received: number) => void): Promise<unknown> {
    // The opener refuses a chunk of any other length than the header announced: the spool never holds more than the claim.
    const claimedBytes = wireBytes(header);
    let spooled = 0;
    let meta: unknown;
    const opener = new PayloadOpener(header, msg.header, this.deps.boxSecretKey, { requireEncrypted: true });
    // Every value is checked while the message is verified, before any of it is folded in.
    const reader = new FrameReader(
      (m) => (meta = m),
      (offset, values) => {
        // A masked secure-aggregation input is ring words, not floats (any bit pattern): secure-round.ts checks it.
        if (!isMaskedInput(expected)) for (let k = 0; k < values.length; k++)
          if (!Number.isFinite(values[k]!)) throw new ProtocolError(`non-finite value ${values[k]} at parameter ${offset + k}`, 'malformed');
      },
    );
    let i = 0;
    for await (const c of msg.chunks) {
      if (c.length > this.deps.limits.maxChunkSize + 64)
        throw new ProtocolError(`chunk ${i} is ${c.length} bytes, over the chunk limit`, 'oversized');
      owedStill(spooled);
      this.deps.onBytes?.(c.length);
      upload?.add(c.length);
      this.deps.directory.touch(header.site); // heard from as its chunks come ("last seen" stood still through an upload)
      reader.push(opener.open(i++, c));
      if ((spooled += c.length) > claimedBytes) throw new ProtocolError(`chunk ${i - 1} goes past the ${claimedBytes} bytes the header claims`, 'oversized');
      spool.append(c);
    }
    opener.finish();
    reader.finish();
    return meta;
  }

  /** A received result to the round, which reads its weights from the spool (as often as it needs) and releases it. */
  private handOver(h: SealedHeader, headerBytes: Uint8Array, meta: ResultMeta, s: Spool): void {
    let released = false;
    const release = () => {
      if (!released) s.dispose();
      released = true;
    };
    try {
      this.deps.gate.deliver(h.site, meta, (onWeights) => {
        const opener = new PayloadOpener(h, headerBytes, this.deps.boxSecretKey);
        const reader = new FrameReader(() => {}, onWeights);
        let i = 0;
        for (const c of s.chunks()) reader.push(opener.open(i++, c));
        opener.finish();
        reader.finish();
      }, release);
    } catch (e) {
      release();
      this.ownFault(e, h.site);
      this.deps.gate.reject(h.site, excerpt((e as Error).message));
      this.refuse(e, h.site);
    }
  }
}

/** Whether the answer a site owes now is the one a message began as. */
function stillOwed(now: { round: number; kind: string } | undefined, then: { round: number; kind: string } | undefined): boolean {
  return now !== undefined && then !== undefined && now.round === then.round && now.kind === then.kind;
}
