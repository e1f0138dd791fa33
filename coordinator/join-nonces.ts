/**
 * The nonces of the join challenge: the coordinator hands a fresh random one to
 * each Challenge call and accepts a join only with a nonce it issued, to the same
 * certified site, not yet used and under a minute old. The book lives in memory
 * on purpose: a restart forgets every nonce, so no join recorded before it can be
 * accepted after it.
 */
import { randomBytes } from 'node:crypto';
import { ProtocolError } from '../shared/errors.ts';

export const NONCE_BYTES = 32;
export const NONCE_TTL_MS = 60_000;
/** Outstanding nonces kept at most (the oldest go first): Challenge calls cannot grow memory without bound. */
const MAX_OUTSTANDING = 4096;
/**
 * Outstanding nonces kept per asking site (its oldest go first): one site calling Challenge
 * hundreds of times a second could otherwise push out another site's nonce between its
 * Challenge and its join (a hostile-site try). A site reconnecting asks for one at a time.
 */
export const MAX_OUTSTANDING_PER_SITE = 16;

export class JoinNonces {
  private readonly issued = new Map<string, { site: string | undefined; at: number }>();
  /** Per asking site ('' for none), its outstanding nonces, oldest first. */
  private readonly bySite = new Map<string, string[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /** `site`: the certified site of the connection asking (undefined in process, where there is no TLS). */
  issue(site: string | undefined): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES);
    const mine = this.bySite.get(site ?? '') ?? [];
    if (mine.length >= MAX_OUTSTANDING_PER_SITE) this.forget(mine[0]!);
    else if (this.issued.size >= MAX_OUTSTANDING) this.forget(this.issued.keys().next().value!);
    const key = nonce.toString('base64');
    this.issued.set(key, { site, at: this.now() });
    this.bySite.set(site ?? '', [...(this.bySite.get(site ?? '') ?? []), key]);
    return nonce;
  }

  private forget(key: string): void {
    const entry = this.issued.get(key);
    if (!entry) return;
    this.issued.delete(key);
    const mine = this.bySite.get(entry.site ?? '')?.filter((k) => k !== key) ?? [];
    if (mine.length) this.bySite.set(entry.site ?? '', mine);
    else this.bySite.delete(entry.site ?? '');
  }

  /** Uses up `nonce` (base64, from the join) for `site`; throws 'replay' unless it is outstanding for that site. */
  consume(nonce: unknown, site: string): void {
    if (typeof nonce !== 'string') throw new ProtocolError('join carries no challenge nonce', 'replay');
    const entry = this.issued.get(nonce);
    this.forget(nonce);
    if (!entry) throw new ProtocolError('join carries a nonce this coordinator did not issue (or already used)', 'replay');
    if (this.now() - entry.at > NONCE_TTL_MS) throw new ProtocolError('join carries an expired challenge nonce', 'replay');
    if (entry.site !== undefined && entry.site !== site) throw new ProtocolError(`join nonce was issued to site "${entry.site}", not "${site}"`, 'replay');
  }
}
