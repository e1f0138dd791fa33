import { ProtocolError } from '../shared/errors.ts';
import type { TaskSink } from '../shared/transport/types.ts';
import { DEAD_PEER_SECONDS } from '../shared/transport/grpc-proto.ts';

export interface EnrolledSite {
  name: string;
  signingPublicKey: Uint8Array;
  boxPublicKey?: Uint8Array;
}

/** How a round failure begins for a site refused as another fedcausal release (participation.ts words the remedy). */
export const OTHER_RELEASE = 'its join was refused as another fedcausal release';
export const OTHER_SCHEMA = 'its join was refused for another schema than the federation\'s';

export interface SiteState {
  name: string;
  online: boolean;
  lastSeen: number | null;
  roundsCompleted: number;
  /** The latest refused message from the site, until it next completes a training round (secure: its round's key advertisement accepted); a refusal the site has since got past is not its state. */
  lastError?: string;
  /** When lastError was recorded (ms since the epoch). */
  lastErrorAt?: number;
  /** Training rows in its last fit update. */
  rows?: number;
  /** Its latest failed round (any kind: statistics, training, evaluation) and why. */
  lastFailure?: { round: number; reason: string };
  /** The last training round it completed in this process: a failure before it is past, not its state. */
  lastCompletedRound?: number;
  /** Why its last join was refused (another fedcausal release, another schema), as absentReason says it, until it joins. */
  refusedJoin?: string;
  /** The fedcausal version it said it runs when it last joined (absent from older sites). */
  version?: string;
  /** Why it trains in no round of this run (its statistics were not counted); absent for a site that trains. */
  leftOut?: string;
  /** Set when it joined without sending its schema (an earlier build): the version it said, or '' (the run's warnings name it). */
  schemaUnchecked?: string;
}

/**
 * Who may join (the enrolled keys) and who is connected now. Identity is the
 * enrolled signing key; a site's name alone proves nothing.
 */
export class SiteDirectory {
  private readonly enrolled = new Map<string, EnrolledSite>();
  private readonly state = new Map<string, SiteState>();
  private readonly sinks = new Map<string, { sink: TaskSink; session: string | undefined }>();
  private readonly listeners = new Set<(site: string, online: boolean) => void>();
  /** Sites whose certificate was refused as revoked: no round waits for them, and the results say why. */
  private readonly revokedSites = new Set<string>();
  /** Sites that withdrew from this run, with why. */
  private readonly withdrawnSites = new Map<string, string>();

  constructor(sites: EnrolledSite[]) {
    for (const s of sites) {
      this.enrolled.set(s.name, s);
      this.state.set(s.name, { name: s.name, online: false, lastSeen: null, roundsCompleted: 0 });
    }
  }

  signingKey(site: string): Uint8Array | undefined {
    return this.enrolled.get(site)?.signingPublicKey;
  }
  names(): string[] {
    return [...this.enrolled.keys()];
  }
  /** A revoked certificate of an enrolled site was refused (grpc-server.ts). */
  markRevoked(site: string): void {
    if (!this.enrolled.has(site) || this.revokedSites.has(site)) return;
    this.revokedSites.add(site);
    // The start quorum waits for every site it can still expect: one fewer now.
    for (const l of this.listeners) l(site, false);
  }
  isRevoked(site: string): boolean {
    return this.revokedSites.has(site);
  }
  /** The site said it takes no further part in this run (its privacy floor refused the federation's settings), with its words. */
  markWithdrawn(site: string, why: string): void {
    if (!this.enrolled.has(site) || this.withdrawnSites.has(site)) return;
    this.withdrawnSites.set(site, why);
    for (const l of this.listeners) l(site, false);
  }
  /** Why the site withdrew from this run, if it did: no round waits for it. */
  withdrawal(site: string): string | undefined {
    return this.withdrawnSites.get(site);
  }
  online(): string[] {
    return [...this.state.values()].filter((s) => s.online).map((s) => s.name);
  }
  sink(site: string): TaskSink | undefined {
    return this.sinks.get(site)?.sink;
  }
  states(): SiteState[] {
    return [...this.state.values()];
  }

  /**
   * Registers `sink` as the site's connection. A site has one connection at a time: a
   * second copy of the same kit must not silently take the federation's stream from the
   * first, so a join while the site's stream is open is refused ('already-connected').
   *
   * An open stream is not proof of a live peer: a site whose host died or whose network
   * broke leaves a stream this side has not yet seen end. Two things keep such a site
   * able to rejoin. `session` (random per site process, inside its signed join) lets the
   * same process, reconnecting because its stream broke, replace the stream it knows is
   * dead at once. A new process is refused until keepalive closes the dead stream (within
   * DEAD_PEER_SECONDS), and the site agent keeps
   * retrying that long before it concludes that another live process holds the site.
   */
  connect(site: string, sink: TaskSink, session?: string): void {
    const old = this.sinks.get(site);
    if (old && old.sink !== sink) {
      if (session === undefined || old.session !== session)
        throw new ProtocolError(
          `site "${site}" is already connected to this coordinator from another process; a second connection is refused. ` +
            `Stop the other copy of this site kit (if it is gone, its connection is dropped within ${DEAD_PEER_SECONDS} s and the site may join again)`,
          'already-connected',
        );
      old.sink.end('replaced by the same site process reconnecting');
    }
    this.sinks.set(site, { sink, session });
    delete this.state.get(site)!.refusedJoin;
    this.touch(site);
    this.state.get(site)!.online = true;
    for (const l of this.listeners) l(site, true);
  }

  /** Called when a site's stream ends; ignored if a newer stream already replaced it. */
  disconnect(site: string, sink: TaskSink): void {
    if (this.sinks.get(site)?.sink !== sink) return;
    this.sinks.delete(site);
    const s = this.state.get(site)!;
    s.online = false;
    // Seen until now: the end waits a rejoin grace from here for a site away at that moment (end-notice.ts).
    s.lastSeen = Date.now();
    for (const l of this.listeners) l(site, false);
  }

  touch(site: string): void {
    const s = this.state.get(site);
    if (s) s.lastSeen = Date.now();
  }
  /** `site`'s join was refused (`kind`: OTHER_RELEASE or OTHER_SCHEMA; `why`, the refusal's words). */
  recordRefusedJoin(site: string, kind: typeof OTHER_RELEASE | typeof OTHER_SCHEMA, why: string): void {
    const s = this.state.get(site);
    // A stray old copy of a site that is online says nothing of the site: its absence later would be blamed on it.
    if (s && !s.online) s.refusedJoin = `${kind}: ${why}`;
  }

  /**
   * Why `site` is not in a round it was asked to: offline, or refused at its join as another
   * fedcausal release (an outside try saw such a site reported as offline, with "restart the
   * run with every site online" as the remedy, and never the version).
   */
  absentReason(site: string): string {
    return this.state.get(site)?.refusedJoin ?? 'offline when the round started';
  }

  recordError(site: string, error: string): void {
    const s = this.state.get(site);
    if (!s) return;
    s.lastError = error;
    s.lastErrorAt = Date.now();
  }
  recordFailure(site: string, round: number, reason: string): void {
    const s = this.state.get(site);
    if (s) s.lastFailure = { round, reason };
  }
  recordLeftOut(site: string, reason: string): void {
    const s = this.state.get(site);
    if (s) s.leftOut = reason;
  }
  /** `site` joined without its schema (an earlier build, `software` as it said): its schema.json was not compared. */
  recordSchemaUnchecked(site: string, software: string | undefined): void {
    const s = this.state.get(site);
    if (s) s.schemaUnchecked = software ?? '';
  }
  /** `site` joined with its schema, which was compared (it may have been upgraded since an unchecked join). */
  recordSchemaChecked(site: string): void {
    const s = this.state.get(site);
    if (s) delete s.schemaUnchecked;
  }
  schemaUnchecked(site: string): boolean {
    return this.state.get(site)?.schemaUnchecked !== undefined;
  }
  /** The sites whose schema was never compared, and the version each said. */
  uncheckedSchemas(): Record<string, string> {
    return Object.fromEntries([...this.state.values()].filter((s) => s.schemaUnchecked !== undefined).map((s) => [s.name, s.schemaUnchecked!]));
  }
  recordVersion(site: string, version: string): void {
    const s = this.state.get(site);
    if (s) s.version = version;
  }
  recordCompleted(site: string, round: number, rows?: number): void {
    const s = this.state.get(site);
    if (!s) return;
    s.roundsCompleted++;
    s.lastCompletedRound = round;
    if (rows !== undefined) s.rows = rows;
    delete s.lastError;
    delete s.lastErrorAt;
  }

  /** Rounds completed per site: the membership the durable coordinator saves with each round. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.state.values()].map((s) => [s.name, s.roundsCompleted]));
  }
  restore(completed: Record<string, number>): void {
    for (const [name, n] of Object.entries(completed)) {
      const s = this.state.get(name);
      if (s && Number.isFinite(n)) s.roundsCompleted = n;
    }
  }

  onChange(l: (site: string, online: boolean) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
