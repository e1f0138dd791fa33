/**
 * The coordinator's side of one secure round. It only ever holds signed public keys,
 * sealed shares it routes unread, masked vectors (summed as they arrive) and, at the
 * end, the shares it asked for: self-mask shares of sites whose input arrived,
 * mask-key shares of sites that dropped after sharing keys. From those it removes the
 * masks and releases the sum, and nothing else, or aborts with the reason.
 */
import { combine } from 'shamir-secret-sharing';
import { agree, deriveKey, publicKeyOf } from './agreement.ts';
import { verifyAdvertisement } from './advertise.ts';
import { verifySurvivorSignature } from './consistency.ts';
import { SecAggAbort, SecAggRefusal } from './errors.ts';
import type {
  EncryptedShare,
  KeyAdvertisement,
  MaskedInputMessage,
  RevealedShare,
  ShareKeysMessage,
  SurvivorList,
  SurvivorSignature,
  UnmaskRequest,
  UnmaskResponse,
} from './messages.ts';
import { applyMask, SEED_BYTES } from './prg.ts';
import type { RoundPlan } from './round-plan.ts';

type Phase = 'advertise' | 'share' | 'mask' | 'confirm' | 'unmask' | 'done';

export interface SecAggResult {
  /** Sum over `included` of the sites' encoded vectors, in Z_{2^32}: decode it with the layout. */
  sum: Uint32Array;
  /** Sites whose input is in the sum (U3). */
  included: string[];
  /** Sites that shared keys but sent no input; their pairwise masks were removed. */
  dropped: string[];
}

export class SecAggCoordinator {
  private phase: Phase = 'advertise';
  private readonly adverts = new Map<string, KeyAdvertisement>();
  private readonly routed = new Map<string, EncryptedShare[]>();
  private readonly sharers = new Set<string>();
  private readonly inputs = new Set<string>();
  private readonly sum: Uint32Array;
  private readonly signatures = new Map<string, SurvivorSignature>();
  private request: UnmaskRequest | undefined;
  private readonly selfShares = new Map<string, Uint8Array[]>();
  private readonly keyShares = new Map<string, Uint8Array[]>();
  private readonly responders = new Set<string>();

  constructor(
    private readonly plan: RoundPlan,
    readonly vectorLength: number,
  ) {
    this.sum = new Uint32Array(vectorLength);
  }

  receiveAdvertisement(a: KeyAdvertisement): void {
    this.expect('advertise');
    verifyAdvertisement(this.plan, a);
    if (this.adverts.has(a.site)) throw new SecAggRefusal(`a second key advertisement from ${a.site}`, 'duplicate');
    this.adverts.set(a.site, a);
  }

  /** Ends round 0: the list every site gets (U1). */
  endAdvertise(): KeyAdvertisement[] {
    this.expect('advertise');
    this.need(this.adverts.size, 'advertised keys');
    this.phase = 'share';
    return [...this.adverts.values()];
  }

  /** A site's sealed shares: exactly one for each neighbour that advertised keys. */
  receiveShares(m: ShareKeysMessage): void {
    this.expect('share');
    if (!this.adverts.has(m.site)) throw new SecAggRefusal(`shares from ${String(m.site)}, which advertised no keys`, 'unknown-site');
    if (this.sharers.has(m.site)) throw new SecAggRefusal(`a second set of shares from ${m.site}`, 'duplicate');
    const want = new Set(this.plan.neighbours(m.site).filter((v) => this.adverts.has(v)));
    const got = new Set<string>();
    for (const e of m.shares) {
      if (e.from !== m.site) throw new SecAggRefusal(`${m.site} sent a share labelled as from ${e.from}`, 'misaddressed');
      if (!want.has(e.to) || got.has(e.to)) throw new SecAggRefusal(`${m.site} sent a share for ${e.to}, which is not one of its neighbours or got two`, 'misaddressed');
      got.add(e.to);
    }
    if (got.size !== want.size) throw new SecAggRefusal(`${m.site} sent ${got.size} shares, its neighbours with keys are ${want.size}`, 'malformed');
    this.sharers.add(m.site);
    for (const e of m.shares) (this.routed.get(e.to) ?? this.routed.set(e.to, []).get(e.to)!).push(e);
  }

  /** Ends round 1: per site of U2, the shares addressed to it by other sites of U2. */
  endShareKeys(): Map<string, EncryptedShare[]> {
    this.expect('share');
    this.need(this.sharers.size, 'shared keys');
    this.phase = 'mask';
    const out = new Map<string, EncryptedShare[]>();
    for (const u of this.sharers) out.set(u, (this.routed.get(u) ?? []).filter((e) => this.sharers.has(e.from)));
    return out;
  }

  /** Adds a masked vector to the running sum at once: no site's vector is kept. */
  receiveMaskedInput(m: MaskedInputMessage): void {
    this.expect('mask');
    if (!this.sharers.has(m.site)) throw new SecAggRefusal(`a masked input from ${String(m.site)}, which shared no keys`, 'unknown-site');
    if (this.inputs.has(m.site)) throw new SecAggRefusal(`a second masked input from ${m.site}`, 'duplicate');
    if (!(m.masked instanceof Uint32Array) || m.masked.length !== this.vectorLength) {
      throw new SecAggRefusal(`the masked input from ${m.site} has ${(m.masked as Uint32Array | undefined)?.length} values, expected ${this.vectorLength}`, 'malformed');
    }
    this.inputs.add(m.site);
    for (let i = 0; i < this.vectorLength; i++) this.sum[i] = this.sum[i]! + m.masked[i]!;
  }

  /** Ends round 2: the survivor list (U3) every survivor is asked to sign. */
  endMaskedInput(): SurvivorList {
    this.expect('mask');
    this.need(this.inputs.size, 'masked inputs');
    this.phase = 'confirm';
    return { survivors: [...this.inputs].sort() };
  }

  receiveSurvivorSignature(s: SurvivorSignature): void {
    this.expect('confirm');
    verifySurvivorSignature(this.plan, [...this.inputs].sort(), s);
    if (this.signatures.has(s.site)) throw new SecAggRefusal(`a second survivor-list signature from ${s.site}`, 'duplicate');
    this.signatures.set(s.site, s);
  }

  /** Ends the ConsistencyCheck: one request for every survivor, each site named in exactly one of the two lists. */
  endConsistencyCheck(): UnmaskRequest {
    this.expect('confirm');
    this.need(this.signatures.size, 'signed the survivor list');
    this.phase = 'unmask';
    this.request = {
      survivors: [...this.inputs].sort(),
      dropped: [...this.sharers].filter((s) => !this.inputs.has(s)).sort(),
      signatures: [...this.signatures.values()],
    };
    return this.request;
  }

  receiveUnmaskResponse(r: UnmaskResponse): void {
    this.expect('unmask');
    if (!this.inputs.has(r.site)) throw new SecAggRefusal(`an unmasking answer from ${String(r.site)}, which is not a survivor`, 'unknown-site');
    if (this.responders.has(r.site)) throw new SecAggRefusal(`a second unmasking answer from ${r.site}`, 'duplicate');
    const dropped = new Set(this.request!.dropped);
    const check = (list: RevealedShare[], ok: (v: string) => boolean, kind: string) => {
      const seen = new Set<string>();
      for (const s of list) {
        if (!ok(s.of) || seen.has(s.of) || (s.of !== r.site && !this.plan.isNeighbour(r.site, s.of)) || !(s.share instanceof Uint8Array)) {
          throw new SecAggRefusal(`${r.site} sent an unrequested ${kind} share for ${String(s.of)}`, 'malformed');
        }
        seen.add(s.of);
      }
    };
    check(r.selfMaskShares, (v) => this.inputs.has(v), 'self-mask');
    check(r.maskKeyShares, (v) => dropped.has(v), 'mask-key');
    this.responders.add(r.site);
    for (const s of r.selfMaskShares) (this.selfShares.get(s.of) ?? this.selfShares.set(s.of, []).get(s.of)!).push(s.share);
    for (const s of r.maskKeyShares) (this.keyShares.get(s.of) ?? this.keyShares.set(s.of, []).get(s.of)!).push(s.share);
  }

  /** Ends round 3: rebuilds the secrets it needs, removes every mask, and returns the sum. */
  async finish(): Promise<SecAggResult> {
    this.expect('unmask');
    this.need(this.responders.size, 'answered the unmasking request');
    const { survivors, dropped } = this.request!;
    const t = this.plan.threshold;
    const session = this.plan.session;
    const rebuild = async (v: string, kind: string, shares: Uint8Array[] | undefined) => {
      if (!shares || shares.length < t) {
        throw new SecAggAbort(`secure round ${session} aborted: the ${kind} of ${v} cannot be rebuilt, ${shares?.length ?? 0} of its neighbours answered and the threshold is ${t}`);
      }
      return combine(shares.slice(0, t));
    };
    for (const v of survivors) {
      const seed = await rebuild(v, 'self-mask', this.selfShares.get(v));
      applyMask(this.sum, deriveKey(seed, session, 'self-mask', [v], SEED_BYTES), -1);
    }
    for (const v of dropped) {
      const secret = await rebuild(v, 'mask key', this.keyShares.get(v));
      const advertised = this.adverts.get(v)!.maskKey;
      if (!Buffer.from(publicKeyOf(secret)).equals(Buffer.from(advertised))) {
        throw new SecAggAbort(`secure round ${session} aborted: the rebuilt mask key of ${v} does not match the key it advertised (a corrupted share)`);
      }
      for (const u of survivors) {
        if (!this.plan.isNeighbour(v, u)) continue;
        const seed = deriveKey(agree(secret, this.adverts.get(u)!.maskKey), session, 'pair-mask', [u, v], SEED_BYTES);
        applyMask(this.sum, seed, u < v ? -1 : 1); // undo u's term for v, which was + when u < v
      }
    }
    this.phase = 'done';
    return { sum: this.sum, included: [...survivors], dropped: [...dropped] };
  }

  private need(count: number, what: string): void {
    const t = this.plan.threshold;
    if (count < t) {
      this.phase = 'done';
      const did = what.startsWith('answered') || what.startsWith('signed') ? what : `sent ${what}`;
      throw new SecAggAbort(`secure round ${this.plan.session} aborted: only ${count} sites ${did}, the threshold is ${t}; no sum is released`);
    }
  }

  private expect(phase: Phase): void {
    if (this.phase !== phase) throw new SecAggRefusal(`the secure round is in the ${this.phase} phase, not ${phase}`, 'wrong-phase');
  }
}
