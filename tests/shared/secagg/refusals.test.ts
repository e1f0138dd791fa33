import { test } from 'node:test';
import assert from 'node:assert/strict';
import nacl from 'tweetnacl';
import { signAdvertisement } from '../../../shared/secagg/advertise.ts';
import { countSurvivorSignatures, signSurvivors } from '../../../shared/secagg/consistency.ts';
import { SecAggCoordinator } from '../../../shared/secagg/coordinator.ts';
import { SecAggAbort, SecAggRefusal, type SecAggRefusalReason } from '../../../shared/secagg/errors.ts';
import type { EncryptedShare, KeyAdvertisement } from '../../../shared/secagg/messages.ts';
import { SecAggSite } from '../../../shared/secagg/site.ts';
import { federation, type Federation } from './helpers.ts';

const LENGTH = 64;

function refused(reason: SecAggRefusalReason, text: RegExp) {
  return (e: unknown) => e instanceof SecAggRefusal && e.reason === reason && text.test(e.message);
}

/** Runs rounds 0-1 honestly and returns everything a test needs to tamper with round 2 or 3. */
async function afterShareKeys(f: Federation) {
  const coordinator = new SecAggCoordinator(f.plan, LENGTH);
  const sites = new Map(f.ids.map((id) => [id, new SecAggSite(id, f.signing.get(id)!.secretKey, f.plan)]));
  for (const s of sites.values()) coordinator.receiveAdvertisement(s.advertise());
  const adverts = coordinator.endAdvertise();
  for (const s of sites.values()) coordinator.receiveShares(await s.shareKeys(adverts));
  return { coordinator, sites, adverts, routed: coordinator.endShareKeys() };
}

async function afterMaskedInput(f: Federation) {
  const r = await afterShareKeys(f);
  for (const [id, s] of r.sites) r.coordinator.receiveMaskedInput(s.maskInput(r.routed.get(id)!, new Uint32Array(LENGTH)));
  return { ...r, list: r.coordinator.endMaskedInput() };
}

/** Through the ConsistencyCheck: every site signed the survivor list. */
async function afterConsistencyCheck(f: Federation) {
  const r = await afterMaskedInput(f);
  for (const s of r.sites.values()) r.coordinator.receiveSurvivorSignature(s.confirmSurvivors(r.list));
  return { ...r, request: r.coordinator.endConsistencyCheck() };
}

test('a request for both the self-mask share and the mask-key share of one site is refused', async () => {
  const f = federation(5);
  const { sites, request } = await afterConsistencyCheck(f);
  const victim = 'site-02';
  const greedy = { ...request, dropped: [victim] };
  await assert.rejects(
    sites.get('site-00')!.unmask(greedy),
    refused('double-request', /asked site-00 for both the self-mask share and the mask-key share of site-02/),
  );
  // Having refused, the site answers nothing else this round, not even an honest request.
  await assert.rejects(sites.get('site-00')!.unmask(request), refused('wrong-phase', /not unmask/));
});

test('after answering, a site refuses a different request (two requests cannot together ask both kinds)', async () => {
  const f = federation(5);
  const { sites, request } = await afterConsistencyCheck(f);
  const site = sites.get('site-01')!;
  const first = await site.unmask(request);
  assert.equal(first.selfMaskShares.length, 5);
  assert.equal(first.maskKeyShares.length, 0);
  assert.deepEqual(await site.unmask(request), first, 'the same request again (a retry) gets the same answer');
  const second = { ...request, survivors: f.ids.filter((id) => id !== 'site-03'), dropped: ['site-03'] };
  await assert.rejects(site.unmask(second), refused('double-request', /already answered an unmasking request/));
});

test('an advertisement not signed by the site\'s enrolled key is refused by the coordinator and by every site', async () => {
  const f = federation(4);
  const coordinator = new SecAggCoordinator(f.plan, LENGTH);
  const sites = f.ids.map((id) => new SecAggSite(id, f.signing.get(id)!.secretKey, f.plan));
  const adverts = sites.map((s) => s.advertise());
  const forger = nacl.sign.keyPair();
  const k1 = nacl.box.keyPair().publicKey;
  const k2 = nacl.box.keyPair().publicKey;
  const forged = signAdvertisement(f.plan.session, 'site-03', k1, k2, forger.secretKey);
  assert.throws(() => coordinator.receiveAdvertisement(forged), refused('bad-signature', /from site-03 is not signed by its enrolled key/));
  // A coordinator that swaps in other keys after the signature is caught by the sites themselves.
  const swapped: KeyAdvertisement = { ...adverts[3]!, maskKey: k2 };
  await assert.rejects(sites[0]!.shareKeys([...adverts.slice(0, 3), swapped]), refused('bad-signature', /site-03 is not signed/));
  // So is one signed for another round.
  const other = federation(4, {}, 'test-fed/2/fit');
  const replayed = new SecAggSite('site-03', f.signing.get('site-03')!.secretKey, other.plan).advertise();
  assert.throws(() => coordinator.receiveAdvertisement(replayed), refused('bad-signature', /site-03/));
  assert.throws(() => coordinator.receiveAdvertisement({ ...adverts[0]!, site: 'intruder' }), refused('unknown-site', /intruder, which is not invited/));
});

test('a site refuses an advertisement list that replaces or leaves out its own keys', async () => {
  const f = federation(4);
  const sites = f.ids.map((id) => new SecAggSite(id, f.signing.get(id)!.secretKey, f.plan));
  const adverts = sites.map((s) => s.advertise());
  const impostor = new SecAggSite('site-00', f.signing.get('site-00')!.secretKey, f.plan).advertise(); // validly signed, other keys
  await assert.rejects(sites[0]!.shareKeys([impostor, ...adverts.slice(1)]), refused('bad-signature', /other keys for site-00/));
  const s1 = new SecAggSite('site-01', f.signing.get('site-01')!.secretKey, f.plan);
  s1.advertise();
  await assert.rejects(s1.shareKeys(adverts.filter((a) => a.site !== 'site-01')), refused('malformed', /leaves out site-01/));
});

test('a share addressed to another site, relabelled, or altered is refused by the site it reaches', async () => {
  const f = federation(4);
  const { sites, routed } = await afterShareKeys(f);
  const forSite1 = routed.get('site-01')!;
  const forSite2 = routed.get('site-02')!;
  const mine = (s: EncryptedShare[]) => s.filter((e) => e.from !== 'site-02');
  // Routed to the wrong site: the label says so.
  assert.throws(() => sites.get('site-02')!.maskInput([...mine(forSite2).slice(1), forSite1[0]!], new Uint32Array(LENGTH)), refused('misaddressed', /addressed to site-01, not to site-02/));
  const f2 = await afterShareKeys(federation(4));
  const e = f2.routed.get('site-01')![0]!;
  // Relabelled to look addressed to site-02: the sealed names do not match.
  const relabelled = { ...e, to: 'site-02' };
  assert.throws(() => f2.sites.get('site-02')!.maskInput([relabelled], new Uint32Array(LENGTH)), refused('decrypt-failed', /does not decrypt/));
  const f3 = await afterShareKeys(federation(4));
  const g = f3.routed.get('site-03')!;
  const flipped = Uint8Array.from(g[0]!.ciphertext);
  flipped[5]! ^= 1;
  assert.throws(() => f3.sites.get('site-03')!.maskInput([{ ...g[0]!, ciphertext: flipped }, ...g.slice(1)], new Uint32Array(LENGTH)), refused('decrypt-failed', /does not decrypt/));
});

test('the coordinator refuses misrouted shares, wrong-size inputs and unrequested shares', async () => {
  const f = federation(4);
  const coordinator = new SecAggCoordinator(f.plan, LENGTH);
  const sites = new Map(f.ids.map((id) => [id, new SecAggSite(id, f.signing.get(id)!.secretKey, f.plan)]));
  for (const s of sites.values()) coordinator.receiveAdvertisement(s.advertise());
  const adverts = coordinator.endAdvertise();
  const m0 = await sites.get('site-00')!.shareKeys(adverts);
  assert.throws(() => coordinator.receiveShares({ site: 'site-01', shares: m0.shares }), refused('misaddressed', /labelled as from site-00/));
  assert.throws(() => coordinator.receiveShares({ site: 'site-00', shares: m0.shares.slice(1) }), refused('malformed', /sent 2 shares, its neighbours with keys are 3/));
  coordinator.receiveShares(m0);
  for (const id of f.ids.slice(1)) coordinator.receiveShares(await sites.get(id)!.shareKeys(adverts));
  const routed = coordinator.endShareKeys();
  assert.throws(() => coordinator.receiveMaskedInput({ site: 'site-00', masked: new Uint32Array(LENGTH + 1) }), refused('malformed', /has 65 values, expected 64/));
  for (const [id, s] of sites) coordinator.receiveMaskedInput(s.maskInput(routed.get(id)!, new Uint32Array(LENGTH)));
  const list = coordinator.endMaskedInput();
  for (const s of sites.values()) coordinator.receiveSurvivorSignature(s.confirmSurvivors(list));
  const request = coordinator.endConsistencyCheck();
  const answer = await sites.get('site-00')!.unmask(request);
  const greedy = { ...answer, maskKeyShares: [{ of: 'site-01', share: answer.selfMaskShares[1]!.share }] };
  assert.throws(() => coordinator.receiveUnmaskResponse(greedy), refused('malformed', /unrequested mask-key share for site-01/));
});

test('a site refuses to sign a survivor list with too few survivors, or one that leaves it out', async () => {
  const f = federation(6); // threshold 5
  const { sites } = await afterMaskedInput(f);
  const few = { survivors: ['site-00', 'site-01', 'site-02', 'site-03'] };
  assert.throws(() => sites.get('site-00')!.confirmSurvivors(few), (e: unknown) => e instanceof SecAggAbort && /4 sites of its neighbourhood \(itself included\) have masked inputs, the threshold is 5/.test(e.message));
  assert.throws(() => sites.get('site-05')!.confirmSurvivors({ survivors: f.ids.slice(0, 5) }), refused('malformed', /does not include site-05/));
});

test('ConsistencyCheck: a site reveals shares only for the survivor list it signed, with t survivors\' signatures on it', async () => {
  const f = federation(6); // threshold 5
  const { sites, request } = await afterConsistencyCheck(f);
  // Telling this site that site-02 dropped, after all signed that it survived: refused.
  const split = { ...request, survivors: f.ids.filter((id) => id !== 'site-02'), dropped: ['site-02'] };
  await assert.rejects(sites.get('site-00')!.unmask(split), refused('double-request', /not the list site-00 signed/));
  await assert.rejects(sites.get('site-01')!.unmask({ ...request, signatures: request.signatures.slice(0, 4) }), refused('bad-signature', /carries 4 survivors' signatures on the survivor list, the threshold is 5/));
  const forged = request.signatures.map((s, i) => (i === 0 ? { ...s, signature: nacl.sign.detached(new Uint8Array(32), nacl.sign.keyPair().secretKey) } : s));
  await assert.rejects(sites.get('site-03')!.unmask({ ...request, signatures: forged }), refused('bad-signature', /survivor-list signature of site-00 does not verify/));
  const doubled = [...request.signatures.slice(0, 4), request.signatures[0]!];
  await assert.rejects(sites.get('site-04')!.unmask({ ...request, signatures: doubled }), refused('duplicate', /two survivor-list signatures from site-00/));
  const honest = await sites.get('site-05')!.unmask(request);
  assert.equal(honest.selfMaskShares.length, 6);
});

test("a dropped site's valid signature on the survivor list is not counted towards t", () => {
  // A colluding site left off the list could otherwise help the coordinator reach t signatures (an audit's mutant survived here).
  const f = federation(6); // threshold 5
  const survivors = f.ids.slice(0, 5);
  const sign = (id: string) => signSurvivors(f.plan.session, id, survivors, f.signing.get(id)!.secretKey);
  assert.equal(countSurvivorSignatures(f.plan, survivors, survivors.map(sign)), 5);
  assert.throws(() => countSurvivorSignatures(f.plan, survivors, [...survivors.slice(0, 4).map(sign), sign('site-05')]), refused('unknown-site', /from site-05, which is not a survivor/));
});

test('survivors are counted among the sites a site masked with: withheld shares cannot be made up with others', async () => {
  const f = federation(6); // threshold 5
  const { sites, routed } = await afterShareKeys(f);
  const site = sites.get('site-00')!;
  // The coordinator withholds site-05's share from site-00, so site-00 masks with 01-04 only.
  site.maskInput(routed.get('site-00')!.filter((e) => e.from !== 'site-05'), new Uint32Array(LENGTH));
  // Five survivors, but only four of them (00-03) are in site-00's masks.
  const list = { survivors: ['site-00', 'site-01', 'site-02', 'site-03', 'site-05'] };
  assert.throws(() => site.confirmSurvivors(list), (e: unknown) => e instanceof SecAggAbort && /4 sites of its neighbourhood \(itself included\) have masked inputs, the threshold is 5/.test(e.message));
});
