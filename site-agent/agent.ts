import { PayloadOpener, PayloadSealer, UPLOAD_CHUNK_SIZE, verifyHeader } from '../shared/crypto/envelope.ts';
import { ClockRefusal, ReplayGuard } from '../shared/crypto/replay-guard.ts';
import { crashPoint } from '../shared/crash-points.ts';
import { InputError, ProtocolError } from '../shared/errors.ts';
import { checkShape } from '../shared/protocol/check.ts';
import { FrameReader, encodeFrame } from '../shared/protocol/frame.ts';
import { PROTOCOL_VERSION, parseTaskKind, resultKind, taskKind, type ResultMeta, type TaskMeta } from '../shared/protocol/messages.ts';
import { STATS_STAGE, TaskMetaSchema } from '../shared/protocol/task-meta.ts';
import { ResultNotDelivered, type SiteTransport, type WireMessage } from '../shared/transport/types.ts';
import { FEDCAUSAL_BUILD_VERSION } from '../shared/version.ts';
import { SECAGG_PHASE, SECAGG_PHASES, secaggStage } from '../shared/secagg/wire.ts';
import { EVALUATION_SUM } from '../shared/secagg/eval-parts.ts';
import type { BundleInput } from '../shared/model/bundle.ts';
import { SiteTasks, type SiteTasksOptions } from './site-tasks.ts';
import { schemaJoinForm } from '../shared/data/schema-compare.ts';
import { floorRefusal, privacyModeFields, type PrivacyFloor } from './privacy-floor.ts';
import { PrivacyLedger } from './privacy-ledger.ts';
import { releaseDigest, taskPrivacy } from '../shared/privacy/task-privacy.ts';

/** The coordinator ended the federation as failed or incomplete. */

export class FederationEndedBadly extends Error {
  override readonly name = 'FederationEndedBadly';
}

/** Task header kinds: one of each per round at most (the replay guard holds the coordinator to that). */
/** Secure sums: a fit round's phases (1-4), each statistics stage's (10 x stage + phase) and the final evaluation's (90 + phase). */
const SECAGG_STAGES = [0, ...Object.values(STATS_STAGE), EVALUATION_SUM].flatMap((sum) => SECAGG_PHASES.map((p) => secaggStage(sum, SECAGG_PHASE[p])));
const TASK_KINDS = [...Object.values(STATS_STAGE).map((s) => `task-stats-${s}`), 'task-fit', 'task-evaluate', 'task-end', ...SECAGG_STAGES.map((s) => `task-secagg-${s}`)];

export interface CoordinatorKeys {
  signingPublicKey: Uint8Array;
  boxPublicKey: Uint8Array;
}

export interface SiteAgentOptions extends SiteTasksOptions {
  coordinator: CoordinatorKeys;
  /** The connection, when the agent runs once; a reconnecting caller passes a fresh one to each run(). */
  transport?: SiteTransport;
  /** Largest task payload accepted from the coordinator. */
  maxPayloadBytes?: number;
  /**
   * Random per site process, sent in every join: it tells the coordinator that a join after
   * a broken stream comes from the same process, which may replace its own dead stream
   * (another process is refused while the site is connected).
   */
  session?: string;
  /** site.yaml `privacy`: a task below it is refused before the rows are touched (privacy-floor.ts). */
  privacy?: PrivacyFloor;
  /** Where the site's privacy budget's spending is kept across restarts (privacy-ledger.ts); absent: this process only. */
  ledgerFile?: string;
}

/**
 * A hospital's agent: joins with its enrolled key, then answers each task the
 * coordinator pushes. It sends sums, counts, metrics and weights; never a record.
 */
export class SiteAgent {
  private readonly replay: ReplayGuard;
  private readonly tasks: SiteTasks;
  /** Whether this agent got as far as a welcome (a lost connection then renews the reconnect window). */
  joined = false;
  private completed = false;
  /** Tasks this process answered (an end heard by a process that answered none took no part in the run). */
  tasksAnswered = 0;
  /** Whether the federation's protections were said (once, at the first task). */
  private modeSaid = false;
  private readonly ledger: PrivacyLedger;

  constructor(private readonly opts: SiteAgentOptions) {
    this.tasks = new SiteTasks(opts);
    this.ledger = new PrivacyLedger(opts.privacy?.maxEpsilon, opts.federation, opts.ledgerFile);
    this.replay = new ReplayGuard({ maxAgeMs: 10 * 60_000, reader: `site ${JSON.stringify(opts.site)}` });
  }

  private seal(kind: string, round: number, payload: Uint8Array): WireMessage {
    const sealer = new PayloadSealer({ federation: this.opts.federation, round, site: this.opts.site, kind }, payload, {
      signingSecretKey: this.opts.identity.signing.secretKey,
      recipientBoxPublicKey: this.opts.coordinator.boxPublicKey,
      chunkSize: UPLOAD_CHUNK_SIZE,
    });
    return { header: sealer.header, signature: sealer.signature, chunks: sealer.chunks() };
  }

  /**
   * Runs until the coordinator ends the federation; throws when the stream breaks or closes
   * before that. Returns the end message. One agent serves every reconnection, so its model
   * state (and with it the federation's result) does not depend on how often it reconnected;
   * close() releases the model when the agent is done for good.
   */
  async run(transport: SiteTransport | undefined = this.opts.transport): Promise<string> {
    try {
      return await this.serve(transport);
    } catch (e) {
      // A lost connection keeps the model for the reconnection; anything else ends the agent.
      if ((e as { code?: number }).code !== 14) this.close();
      throw e;
    }
  }

  /**
   * The federation's final model as this site scores with it (fedcausal predict): only once the
   * federation ended complete, after a final evaluation here; undefined otherwise.
   */
  trainedModel(): BundleInput | undefined {
    return this.completed ? this.tasks.finalEvaluationModel() : undefined;
  }

  /** Releases the model (a worker thread, perhaps). */
  close(): void {
    this.tasks.close();
  }

  private async serve(transport: SiteTransport | undefined): Promise<string> {
    if (!transport) throw new Error('SiteAgent.run: no transport');
    const { log } = this.opts;
    this.joined = false;
    const session = this.opts.session === undefined ? {} : { session: this.opts.session };
    // Challenge-response: the join carries the coordinator's fresh nonce, so a recorded join is worthless.
    const nonce = transport.challenge ? { nonce: Buffer.from(await transport.challenge()).toString('base64') } : {};
    const join = this.seal('join', 0, encodeFrame({ protocolVersion: PROTOCOL_VERSION, site: this.opts.site, software: FEDCAUSAL_BUILD_VERSION, ...schemaJoinForm(this.opts.schema), ...session, ...nonce }));
    const { welcome, tasks } = await transport.subscribe(join);
    this.joined = true;
    // A restarted coordinator asks its uncommitted round again, under new message ids.
    this.replay.releaseClaims();
    log.info('joined federation', { federation: welcome.federation, welcome: welcome.message });
    for await (const msg of tasks) {
      const { meta, weights } = await this.openTask(msg).catch(async (e: unknown) => {
        await this.reportClockRefusal(transport, e);
        throw e;
      });
      if (meta.kind === 'end') {
        log.info('federation ended', { reason: meta.message, outcome: meta.outcome });
        await this.acknowledgeEnd(transport, meta.round);
        // A failed or incomplete federation is a failure here too: a supervisor sees exit 1.
        if (meta.outcome && meta.outcome !== 'complete') throw new FederationEndedBadly(meta.message ?? meta.outcome);
        this.completed = true;
        this.close();
        return meta.message ?? 'ended';
      }
      const digest = await this.holdToFloor(transport, meta, weights);
      crashPoint(taskKind(meta.kind, meta.stage), meta.round);
      const result = await this.tasks.handle(meta, weights, digest);
      this.tasksAnswered++;
      try {
        const reply = await transport.submit(
          this.seal(resultKind(meta.kind, meta.stage), meta.round, encodeFrame(result.meta, result.weights)),
        );
        if (!reply.accepted) log.warn('result refused', { round: meta.round, reply: reply.message });
        crashPoint(`answered-${meta.kind}`, meta.round);
      } catch (e) {
        // A refused result (round closed meanwhile, say) costs this round only; keep serving.
        // One that never reached the coordinator is said as such: the stream's end follows.
        log.warn(e instanceof ResultNotDelivered ? 'result not delivered' : 'result refused', { round: meta.round, error: (e as Error).message });
      }
    }
    // The stream ended without the coordinator's 'end': the coordinator went away (a crash,
    // a restart). UNAVAILABLE, so the caller reconnects while its window lasts and
    // otherwise fails, never a clean exit that a supervisor would not restart.
    throw Object.assign(new Error('the coordinator closed the connection before the federation ended'), { code: 14 });
  }

  /**
   * Tells the coordinator this site heard the end: it waits, for a rejoin grace, for a site that
   * did not (one killed as the end went out), so that site hears it when it is restarted.
   * Best effort: a coordinator already gone changes nothing here.
   */
  private async acknowledgeEnd(transport: SiteTransport, round: number): Promise<void> {
    const ack = { kind: 'end', round, weights: 0, numExamples: 0, metrics: {} } satisfies ResultMeta;
    await transport.submit(this.seal(resultKind('end'), round, encodeFrame(ack))).catch((e: Error) => this.opts.log.debug('end not acknowledged', { error: e.message }));
  }

  /**
   * A genuine task this site refused for its time (the host clocks apart) is answered with that
   * refusal before the site exits: the coordinator's log then says why the site left (it saw only
   * "site went offline during the round": an outside try). Best effort; the answer's own time is
   * the same clock's, which the coordinator may refuse in turn, and says so in its log.
   */
  private async reportClockRefusal(transport: SiteTransport, e: unknown): Promise<void> {
    // The guard refuses only what verified as the coordinator's and for this site; an end needs no answer.
    if (!(e instanceof ClockRefusal)) return;
    const task = parseTaskKind(e.header.kind);
    if (!task || task.kind === 'end') return;
    await this.sendRefusal(transport, { round: e.header.round, ...task }, `this site refused the task: ${e.message}`);
  }

  /**
   * Says the federation's protections at the first task, then holds the task to site.yaml's
   * floor: one below it is answered with the site's words (the coordinator's round failure and
   * log carry them), never with anything of the rows, and the site exits 2: the federation's
   * settings and the hospital's floor differ, which no restart mends.
   */
  private async holdToFloor(transport: SiteTransport, meta: TaskMeta, weights: Float32Array): Promise<string | undefined> {
    if (!this.modeSaid) {
      this.modeSaid = true;
      this.opts.log.info("this federation's protections, as its first task states them, and this site's floor", privacyModeFields(meta, this.opts.privacy));
    }
    // A DP run's training and evaluation tasks, held to the site's own account (one release a round,
    // its budget); the digest is the task's noise key too (returned for it), and costs a hash of the
    // whole model, so only DP tasks are hashed (their config states DP: every task of a DP run does).
    const digest = (meta.kind === 'fit' || meta.kind === 'evaluate') && taskPrivacy(meta).dp ? releaseDigest(meta, weights) : undefined;
    const refusal = floorRefusal(this.opts.privacy, meta) ?? this.ledger.refusal(meta, digest ?? '');
    if (refusal === undefined) {
      this.ledger.record(meta, digest ?? '');
      return digest;
    }
    await this.sendRefusal(transport, meta, refusal, true);
    throw new InputError(`${refusal}: this site takes no part; the federation's operator must raise the setting, or the hospital lower site.yaml's privacy floor (docs/deploy-site.md)`);
  }

  /** An error answer in place of a result: no count, no metric, no weight. Best effort. */
  private async sendRefusal(transport: SiteTransport, task: Pick<TaskMeta, 'round' | 'kind' | 'stage'>, error: string, withdraws = false): Promise<void> {
    // `withdraws`: the site exits for good (its floor), so the coordinator waits for it no more (it waited 30 s at the final evaluation: an outside try).
    const meta = { round: task.round, kind: task.kind, numExamples: 0, metrics: {}, weights: 0, error, ...(withdraws ? { withdraws } : {}) } satisfies ResultMeta;
    await transport.submit(this.seal(resultKind(task.kind, task.stage), task.round, encodeFrame(meta))).catch((err: Error) => this.opts.log.debug('refusal not delivered', { error: err.message }));
  }

  private async openTask(msg: WireMessage): Promise<{ meta: TaskMeta; weights: Float32Array }> {
    const header = verifyHeader(msg.header, msg.signature, () => this.opts.coordinator.signingPublicKey, {
      maxPayloadBytes: this.opts.maxPayloadBytes ?? 2 ** 31,
      maxChunkSize: 16 * 1024 * 1024,
    });
    if (header.site !== this.opts.site)
      throw new ProtocolError(`task addressed to "${header.site}", this is "${this.opts.site}"`, 'malformed');
    this.replay.check(header, { federation: this.opts.federation, kinds: TASK_KINDS });
    const opener = new PayloadOpener(header, msg.header);
    let raw: unknown;
    const parts: { offset: number; values: Float32Array }[] = [];
    const reader = new FrameReader(
      (m) => (raw = m),
      (offset, values) => parts.push({ offset, values }),
    );
    let i = 0;
    for await (const c of msg.chunks) reader.push(opener.open(i++, c));
    opener.finish();
    const n = reader.finish();
    // Signed is not well formed: check the meta's shape before any of it is used.
    const meta = checkShape(TaskMetaSchema, raw, `the ${header.kind} task of round ${header.round}`);
    // Only the header's kind went through the replay guard: a meta of another kind must not
    // be answered as some other task (it fell through to an evaluation).
    const metaKind = taskKind(meta.kind, meta.stage);
    if (metaKind !== header.kind)
      throw new ProtocolError(`task meta of kind ${JSON.stringify(meta.kind)} does not match its header kind "${header.kind}"`, 'malformed');
    const weights = new Float32Array(n);
    for (const p of parts) weights.set(p.values, p.offset);
    return { meta, weights };
  }
}
