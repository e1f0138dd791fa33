/**
 * The coordinator's trust material on disk (tls/ca.pem, tls/crl.pem), kept
 * current without a restart: current() looks at crl.pem before each check and
 * reloads it when it changed, so a revocation written by the operator applies to
 * the next connection. A list that fails to verify, or is older than the one in
 * use, is not loaded (the one in use stays, and onRejected says why): a bad copy
 * never weakens revocation.
 */
import { statSync } from 'node:fs';
import { loadCaCertificate } from './ca.ts';
import type { PeerTrust } from './check-peer.ts';
import { isOlderCrl, loadCrl, type VerifiedCrl } from './crl.ts';
import { readKitText } from '../input-file.ts';

export interface TrustStore {
  /** The CA and the newest valid CRL, for checkPeer. */
  current(): Promise<PeerTrust>;
}

export async function openTrustStore(opts: {
  caPath: string;
  crlPath: string;
  /** Called when a changed crl.pem is not taken; the message is for the operator's log. */
  onRejected?: (message: string) => void;
}): Promise<TrustStore> {
  const caCert = loadCaCertificate(readKitText(opts.caPath, 'CA certificate'));
  // At start-up a missing or bad list is fatal: running without revocation is not an option.
  let crl = await loadCrl(readKitText(opts.crlPath, 'revocation list'), caCert);
  let seen = stamp(opts.crlPath);
  let reloading: Promise<void> | undefined;

  const reload = async (): Promise<void> => {
    const now = stamp(opts.crlPath);
    if (now === seen) return;
    seen = now;
    let next: VerifiedCrl;
    try {
      next = await loadCrl(readKitText(opts.crlPath, 'revocation list'), caCert);
    } catch (err) {
      opts.onRejected?.(`${opts.crlPath} not loaded, keeping the revocation list of ${crl.thisUpdate.toISOString()}: ${(err as Error).message}`);
      return;
    }
    if (isOlderCrl(next, crl)) {
      opts.onRejected?.(
        `${opts.crlPath} not loaded: it was issued ${next.thisUpdate.toISOString()}, before the list in use (${crl.thisUpdate.toISOString()})`,
      );
      return;
    }
    crl = next;
  };

  return {
    async current(): Promise<PeerTrust> {
      // One reload at a time: connections arriving together share it.
      reloading ??= reload().finally(() => (reloading = undefined));
      await reloading;
      return { caCert, crl };
    },
  };
}


/** Modification time, size and inode: a file replaced by rename or rewritten in place both show. */
function stamp(path: string): string {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.mtimeNs}:${s.size}:${s.ino}`;
  } catch {
    return 'missing';
  }
}
