/**
 * A site's side of one secure round (Bonawitz et al. 2017, Fig. 4): advertise two
 * fresh X25519 keys, share its mask key and self-mask seed t-of-n among its
 * neighbours, send its input masked, sign the survivor list (ConsistencyCheck), then
 * reveal, for each neighbour, ONE kind of share: the self-mask share of a site that
 * sent its input, the mask-key share of one that did not. Revealing both for one site would unmask that site's input, so a
 * request asking both is refused, and so is any second, different request.
 */
import { randomBytes } from 'node:crypto';
import { split } from 'shamir-secret-sharing';
import { agree, deriveKey, roundKeyPair, type RoundKeyPair } from './agreement.ts';
import { signAdvertisement, verifyAdvertisement } from './advertise.ts';
import { countSurvivorSignatures, signSurvivors } from './consistency.ts';
import { SecAggAbort, SecAggRefusal } from './errors.ts';
import type { EncryptedShare, KeyAdvertisement, MaskedInputMessage, ShareKeysMessage, SurvivorList, SurvivorSignature, UnmaskRequest, UnmaskResponse } from './messages.ts';
import { applyMask, SEED_BYTES } from './prg.ts';
import type { RoundPlan } from './round-plan.ts';
import { openShares, sealShares, type SharePair } from './share-box.ts';

type Phase = 'advertise' | 'share' | 'mask' | 'confirm' | 'unmask' | 'done';

export class SecAggSite {
  private phase: Phase = 'advertise';
  private readonly encryption: RoundKeyPair = roundKeyPair();
  private readonly mask: RoundKeyPair = roundKeyPair();
  /** b_u: the self-mask seed, so that a dropped-then-late site's pairwise masks alone never expose its input. */
  private readonly selfSeed = new Uint8Array(randomBytes(32));
  /** Verified advertisements of this site's neighbours (U1 within the neighbourhood). */
  private readonly peers = new Map<string, KeyAdvertisement>();
  /** Shares held for each site of U2 in the neighbourhood, this site's own included. */
  private readonly held = new Map<string, SharePair>();
  /** Share-box keys by peer: each X25519 agreement is computed once (tweetnacl takes milliseconds). */
  private readonly boxKeys = new Map<string, Buffer>();
  /** The survivor list this site signed: the only one it will reveal shares for. */
  private confirmed: string[] | undefined;
  private answered: string | undefined;
  private response: UnmaskResponse | undefined;

  constructor(
    readonly site: string,
    private readonly signingSecretKey: Uint8Array,
    private readonly plan: RoundPlan,
  ) {
    if (!plan.has(site)) throw new SecAggAbort(`${site} is not invited to secure round ${plan.session}`);
  }

  /** Round 0. */
  advertise(): KeyAdvertisement {
    this.enter('advertise', 'share');
    return signAdvertisement(this.plan.session, this.site, this.encryption.publicKey, this.mask.publicKey, this.signingSecretKey);
  }

  /** Round 1: checks every advertisement itself (the coordinator is not trusted to), then seals shares to each neighbour. */
  async shareKeys(adverts: KeyAdvertisement[]): Promise<ShareKeysMessage> {
    this.enter('share', 'mask');
    const seen = new Set<string>();
    let mine = false;
    for (const a of adverts) {
      verifyAdvertisement(this.plan, a);
      if (seen.has(a.site)) throw new SecAggRefusal(`two key advertisements from ${a.site}`, 'duplicate');
      seen.add(a.site);
      for (const k of [a.encryptionKey, a.maskKey]) {
        const hex = Buffer.from(k).toString('hex');
        if (seen.has(hex)) throw new SecAggRefusal(`a round key of ${a.site} is also another site's`, 'duplicate');
        seen.add(hex);
      }
      if (a.site === this.site) {
        mine = Buffer.from(a.encryptionKey).equals(Buffer.from(this.encryption.publicKey)) && Buffer.from(a.maskKey).equals(Buffer.from(this.mask.publicKey));
        if (!mine) throw new SecAggRefusal(`the advertisement list carries other keys for ${this.site} than the ones it advertised`, 'bad-signature');
      } else if (this.plan.isNeighbour(this.site, a.site)) this.peers.set(a.site, a);
    }
    if (!mine) throw new SecAggRefusal(`the advertisement list leaves out ${this.site} itself`, 'malformed');
    this.needThreshold(this.peers.size + 1, 'advertised keys');

    // Share holders: the neighbours that advertised, and this site (its own share, kept).
    const holders = [this.site, ...this.peers.keys()];
    const t = this.plan.threshold;
    const [keyShares, seedShares] = await Promise.all([split(this.mask.secretKey, holders.length, t), split(this.selfSeed, holders.length, t)]);
    const shares: EncryptedShare[] = [];
    holders.forEach((v, i) => {
      const pair = { maskKeyShare: keyShares[i]!, selfMaskShare: seedShares[i]! };
      if (v === this.site) this.held.set(v, pair);
      else shares.push(sealShares(this.boxKey(v), this.plan.session, this.site, v, pair));
    });
    return { site: this.site, shares };
  }

  /**
   * Round 2: opens the shares routed to it (from U2), then returns
   * y = x + PRG(b_u) + sum_{v in U2} sign(u, v) PRG(s_{u,v}), sign + when u < v.
   * `input` is the layout-encoded vector; it is not modified.
   */
  maskInput(incoming: EncryptedShare[], input: Uint32Array): MaskedInputMessage {
    this.enter('mask', 'confirm');
    for (const e of incoming) {
      if (!this.peers.has(e.from)) throw new SecAggRefusal(`a share from ${String(e.from)}, which advertised no keys to ${this.site}`, 'unknown-site');
      if (this.held.has(e.from)) throw new SecAggRefusal(`two shares from ${e.from}`, 'duplicate');
      this.held.set(e.from, openShares(this.boxKey(e.from), this.plan.session, this.site, e));
    }
    this.needThreshold(this.held.size, 'shared keys');
    const masked = Uint32Array.from(input);
    applyMask(masked, deriveKey(this.selfSeed, this.plan.session, 'self-mask', [this.site], SEED_BYTES), 1);
    for (const v of this.held.keys()) {
      if (v === this.site) continue;
      const seed = deriveKey(agree(this.mask.secretKey, this.peers.get(v)!.maskKey), this.plan.session, 'pair-mask', [this.site, v], SEED_BYTES);
      applyMask(masked, seed, this.site < v ? 1 : -1);
    }
    this.mask.secretKey.fill(0); // not needed any more: only its shares can rebuild it now
    return { site: this.site, masked };
  }

  /**
   * ConsistencyCheck: signs the survivor list if it includes this site and at least t
   * of the sites it masked with (counted in its own view of U2, so a coordinator that
   * withheld shares from this site cannot make up the number with others).
   */
  confirmSurvivors(list: SurvivorList): SurvivorSignature {
    this.enter('confirm', 'unmask');
    const survivors = this.names(list.survivors, 'survivors');
    if (!survivors.has(this.site)) throw new SecAggRefusal(`the survivor list does not include ${this.site}`, 'malformed');
    this.needThreshold([...this.held.keys()].filter((v) => survivors.has(v)).length, 'masked inputs');
    this.confirmed = [...survivors].sort();
    return signSurvivors(this.plan.session, this.site, this.confirmed, this.signingSecretKey);
  }

  /** Round 4. The same request again gets the same answer (a retry); any other request is refused. */
  async unmask(req: UnmaskRequest): Promise<UnmaskResponse> {
    const canonical = JSON.stringify([req.survivors, req.dropped, (req.signatures as UnmaskRequest['signatures'] | undefined)?.map((s) => [s.site, Buffer.from(s.signature).toString('base64')])]);
    if (this.phase === 'done' && this.response) {
      if (canonical === this.answered) return this.response;
      throw new SecAggRefusal(`${this.site} already answered an unmasking request for this round and will not answer a different one`, 'double-request');
    }
    this.enter('unmask', 'done');
    const survivors = this.names(req.survivors, 'survivors');
    const dropped = this.names(req.dropped, 'dropped');
    for (const v of dropped) {
      if (survivors.has(v)) {
        throw new SecAggRefusal(`the coordinator asked ${this.site} for both the self-mask share and the mask-key share of ${v}; that would reveal ${v}'s input, so the request is refused`, 'double-request');
      }
    }
    if (JSON.stringify([...survivors].sort()) !== JSON.stringify(this.confirmed)) {
      throw new SecAggRefusal(`the unmasking request's survivors are not the list ${this.site} signed`, 'double-request');
    }
    if (!Array.isArray(req.signatures)) throw new SecAggRefusal('unmasking request: signatures must be a list', 'malformed');
    const signed = countSurvivorSignatures(this.plan, this.confirmed!, req.signatures);
    if (signed < this.plan.threshold) {
      throw new SecAggRefusal(`the unmasking request carries ${signed} survivors' signatures on the survivor list, the threshold is ${this.plan.threshold}`, 'bad-signature');
    }
    const response: UnmaskResponse = { site: this.site, selfMaskShares: [], maskKeyShares: [] };
    for (const [v, pair] of this.held) {
      if (survivors.has(v)) response.selfMaskShares.push({ of: v, share: pair.selfMaskShare });
      else if (dropped.has(v)) response.maskKeyShares.push({ of: v, share: pair.maskKeyShare });
    }
    this.answered = canonical;
    this.response = response;
    return response;
  }

  private boxKey(peer: string): Buffer {
    let key = this.boxKeys.get(peer);
    if (!key) {
      key = deriveKey(agree(this.encryption.secretKey, this.peers.get(peer)!.encryptionKey), this.plan.session, 'share-box', [this.site, peer]);
      this.boxKeys.set(peer, key);
    }
    return key;
  }

  private names(list: unknown, what: string): Set<string> {
    if (!Array.isArray(list) || list.some((x) => typeof x !== 'string')) throw new SecAggRefusal(`unmasking request: ${what} must be a list of site ids`, 'malformed');
    const set = new Set(list as string[]);
    if (set.size !== list.length) throw new SecAggRefusal(`unmasking request: ${what} names a site twice`, 'malformed');
    return set;
  }

  private needThreshold(count: number, what: string): void {
    const t = this.plan.threshold;
    if (count < t) throw new SecAggAbort(`secure round ${this.plan.session} aborted at ${this.site}: ${count} sites of its neighbourhood (itself included) have ${what}, the threshold is ${t}`);
  }

  private enter(expected: Phase, next: Phase): void {
    if (this.phase !== expected) throw new SecAggRefusal(`${this.site} is in the ${this.phase} phase, not ${expected}`, 'wrong-phase');
    this.phase = next;
  }
}
