/**
 * A compromised site for in-process federations (SimulateOptions.siteTransport): it holds
 * its own keys, so it opens each result it would send, changes it, and signs and seals
 * it again, exactly as a site whose machine an attacker controls could.
 */
import { openPayload, PayloadSealer, verifyHeader } from '../../shared/crypto/envelope.ts';
import type { Identity } from '../../shared/crypto/keys.ts';
import { decodeFrame, encodeFrame } from '../../shared/protocol/frame.ts';
import type { ResultMeta } from '../../shared/protocol/messages.ts';
import type { SiteTransport, WireMessage } from '../../shared/transport/types.ts';

/** Changes one result: returns the meta and weights to send instead. */
export type Tamper = (meta: ResultMeta, weights: Float32Array) => { meta: ResultMeta; weights?: Float32Array };

export function hostileTransport(inner: SiteTransport, keys: { site: Identity; coordinator: Identity }, tamper: Tamper): SiteTransport {
  const limits = { maxPayloadBytes: 2 ** 31, maxChunkSize: 16 * 1024 * 1024 };
  return {
    ...inner,
    subscribe: (join) => inner.subscribe(join),
    close: () => inner.close(),
    async submit(msg: WireMessage) {
      const h = verifyHeader(msg.header, msg.signature, () => keys.site.signing.publicKey, limits);
      const chunks: Uint8Array[] = [];
      for await (const c of msg.chunks) chunks.push(c);
      const { meta, weights } = decodeFrame(openPayload(h, msg.header, chunks, keys.coordinator.box.secretKey));
      const out = tamper(meta as ResultMeta, weights);
      const sealer = new PayloadSealer(
        { federation: h.federation, round: h.round, site: h.site, kind: h.kind },
        encodeFrame(out.meta, out.weights ?? (weights.length > 0 ? weights : undefined)),
        { signingSecretKey: keys.site.signing.secretKey, recipientBoxPublicKey: keys.coordinator.box.publicKey },
      );
      return inner.submit({ header: sealer.header, signature: sealer.signature, chunks: [...sealer.chunks()] });
    },
  };
}
