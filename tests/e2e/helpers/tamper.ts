/**
 * A genuine site gone wrong, for tests: its transport opens the site's own sealed
 * update with the coordinator's key (the test plays both sides), lets the test change
 * meta and weights, and seals the result again with the site's real key, so the
 * coordinator sees a correctly signed update carrying whatever the test wants
 * (a NaN in a later chunk, a failure report). Used in process (tests/coordinator)
 * and by a real site process (bench/reliability/nan-site.ts).
 */
import { PayloadOpener, sealPayload } from '../../../shared/crypto/envelope.ts';
import type { Identity } from '../../../shared/crypto/keys.ts';
import { encodeFrame, FrameReader } from '../../../shared/protocol/frame.ts';
import type { SiteTransport, WireMessage } from '../../../shared/transport/types.ts';

export interface Update {
  meta: Record<string, unknown>;
  weights: Float32Array;
}

/** The genuine update's meta and weights, opened with the coordinator's box secret key. */
export async function openUpdate(msg: WireMessage, coordinatorBoxSecret: Uint8Array): Promise<Update> {
  const header = JSON.parse(new TextDecoder().decode(msg.header));
  const opener = new PayloadOpener(header, msg.header, coordinatorBoxSecret);
  let meta: Record<string, unknown> = {};
  const parts: [number, Float32Array][] = [];
  const reader = new FrameReader((m) => (meta = m as Record<string, unknown>), (o, v) => parts.push([o, Float32Array.from(v)]));
  let i = 0;
  for await (const c of msg.chunks) reader.push(opener.open(i++, c));
  opener.finish();
  const weights = new Float32Array(reader.finish());
  for (const [o, v] of parts) weights.set(v, o);
  return { meta, weights };
}

export interface TamperOptions {
  federation: string;
  site: string;
  /** Read when an update is replaced, not before (a test may make the keys after the wrap). */
  keys: () => { site: Identity; coordinator: Identity['box'] };
  /** Rounds whose fit result is replaced. */
  when: (round: number) => boolean;
  change: (u: Update) => { meta: Record<string, unknown>; weights?: Float32Array };
  /** Chunk size of the resealed update: small ones put a late value chunks after the first. */
  chunkSize?: number;
}

/** `t`, with the fit results of the rounds `o.when` picks replaced by `o.change` of them. */
export function replaceUpdates(t: SiteTransport, o: TamperOptions): SiteTransport {
  return {
    ...t,
    async submit(msg) {
      const h = JSON.parse(new TextDecoder().decode(msg.header)) as { kind: string; round: number };
      if (h.kind !== 'fit-result' || !o.when(h.round)) return t.submit(msg);
      const keys = o.keys();
      const { meta, weights } = o.change(await openUpdate(msg, keys.coordinator.secretKey));
      return t.submit(
        sealPayload({ federation: o.federation, round: h.round, site: o.site, kind: 'fit-result' }, encodeFrame(meta, weights), {
          signingSecretKey: keys.site.signing.secretKey,
          recipientBoxPublicKey: keys.coordinator.publicKey,
          ...(o.chunkSize ? { chunkSize: o.chunkSize } : {}),
        }),
      );
    },
  };
}
