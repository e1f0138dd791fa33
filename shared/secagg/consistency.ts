/**
 * The paper's ConsistencyCheck (Bonawitz et al. 2017, round 3 of the actively secure
 * version): before any share is revealed, every survivor signs the survivor list, and
 * a site reveals shares only for the list it signed, with at least t signatures of
 * survivors on that same list. So all honest sites answer about one and the same
 * survivor set, and a coordinator cannot tell some sites that v survived and others
 * that v dropped to collect both kinds of share of v across different requests.
 */
import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import { ed25519Sign, ed25519Verify } from '../crypto/curve.ts';
import { SecAggRefusal } from './errors.ts';
import type { SurvivorSignature } from './messages.ts';
import type { RoundPlan } from './round-plan.ts';

function digest(session: string, survivors: readonly string[]): Uint8Array {
  return createHash('sha256').update(JSON.stringify(['survivors', session, [...survivors].sort()])).digest();
}

/** How `now` differs from `first` (two survivor lists): the sites left out and those added. Sums over the two differ by exactly these sites' values. */
export function survivorChange(first: readonly string[], now: readonly string[]): { left: string[]; added: string[] } {
  return { left: first.filter((s) => !now.includes(s)), added: now.filter((s) => !first.includes(s)) };
}

export function signSurvivors(session: string, site: string, survivors: readonly string[], signingSecretKey: Uint8Array): SurvivorSignature {
  return { site, signature: ed25519Sign(digest(session, survivors), signingSecretKey) };
}

/** Refuses one signature that is not a survivor's enrolled key over exactly this list. */
export function verifySurvivorSignature(plan: RoundPlan, survivors: readonly string[], s: SurvivorSignature): void {
  const key = plan.signingKey(s.site);
  if (!key || !survivors.includes(s.site)) throw new SecAggRefusal(`a survivor-list signature from ${String(s.site)}, which is not a survivor`, 'unknown-site');
  if (!(s.signature instanceof Uint8Array) || s.signature.length !== nacl.sign.signatureLength || !ed25519Verify(digest(plan.session, survivors), s.signature, key)) {
    throw new SecAggRefusal(`the survivor-list signature of ${s.site} does not verify`, 'bad-signature');
  }
}

/** Counts distinct survivors that signed this exact list; any bad signature is a refusal. */
export function countSurvivorSignatures(plan: RoundPlan, survivors: readonly string[], signatures: readonly SurvivorSignature[]): number {
  const signers = new Set<string>();
  for (const s of signatures) {
    verifySurvivorSignature(plan, survivors, s);
    if (signers.has(s.site)) throw new SecAggRefusal(`two survivor-list signatures from ${s.site}`, 'duplicate');
    signers.add(s.site);
  }
  return signers.size;
}
