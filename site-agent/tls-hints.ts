/**
 * What a site says when it cannot reach the coordinator over TLS: grpc-js reports every failure
 * as UNAVAILABLE, so the message is read for which side refused what, and the hint names what
 * to check (the CA, the host's clock, the address the certificate names, a connection limit).
 */
import { CHECK_TLS } from './unreachable-notice.ts';

/**
 * What grpc-js reports when the TLS handshake failed (either side refused the other's certificate).
 * Under load the first report may be only the dropped socket (ECONNRESET, closed before HTTP/2):
 * the port answered and then hung up, which a coordinator that is down never does.
 */
export const TLS_FAILURE = /certificate|ssl|tls|alert|handshake|altnames|Failed to connect \(|ECONNRESET|Connection closed before|socket hang up/i;
const TLS_HINT = `the coordinator refused this site's certificate, or its own could not be verified (TLS handshake failed): ${CHECK_TLS}`;
/** A socket the coordinator dropped before TLS said anything: a refused certificate, or a coordinator at its connection limit (an outside attack's flood read as a certificate fault). */
const DROPPED = /ECONNRESET|Connection closed before|socket hang up|No connection established/i;
const DROPPED_HINT =
  `the coordinator closed the connection during the TLS handshake: it refused this site's certificate, or it was at its connection limit ` +
  `(its log says which: "TLS handshake with ... failed" or a refusal "at the connection limit"): ${CHECK_TLS}`;

/**
 * This site's own check of the coordinator's certificate failed (Node's words for OpenSSL's
 * verdict): the coordinator did not refuse anything. Every grpc-js failure reads "No
 * connection established", so these are tried before DROPPED.
 */
/** OpenSSL's words for a port that answered in something other than TLS (an HTTP server, another service). */
export const NOT_TLS = /wrong version number|http request|packet length too long|unknown protocol/i;

const SITE_REFUSES: [RegExp, string][] = [
  [
    /self[- ]signed certificate|unable to get (local )?issuer certificate|unable to verify the first certificate|certificate signature failure/i,
    "this site does not trust the coordinator's certificate (this site's own check of it failed): this kit's tls/ca.pem is not the CA " +
      "that issued it. A TLS-inspecting middlebox (a firewall or proxy that re-signs TLS with its own CA) between this host and the coordinator " +
      "shows this: exempt the coordinator's address from inspection. Otherwise this site's kit comes from another provisioning run than the coordinator's, or the coordinator was re-provisioned since. " +
      'Compare `openssl x509 -noout -fingerprint -sha256 -in tls/ca.pem` in this kit and in the coordinator\'s: if they differ, ' +
      "ask the federation operator for this site's kit from the provisioning the coordinator runs (or for the coordinator to get its own kit back)",
  ],
  [
    /certificate has expired|certificate is not yet valid/i,
    "this site refuses the coordinator's certificate: it is not valid by this host's clock (expired, or not yet valid). " +
      "Check this host's clock (timedatectl); if it is right, the coordinator's certificate has expired: tell the federation operator",
  ],
  [
    NOT_TLS,
    'the port this site dials does not speak TLS: it is not the coordinator\'s gRPC port (its HTTP port, listen.httpPort, or another service?): ' +
      "check coordinator.address in site.yaml against the manifest's coordinator gRPC address",
  ],
  [
    /altnames|ERR_TLS_CERT_ALTNAME_INVALID/i,
    "this site refuses the coordinator's certificate: it does not name the host this site dials (coordinator.address in site.yaml). " +
      'Use the host the federation was provisioned with (the manifest\'s coordinator gRPC address), or ask the operator for a certificate naming this one',
  ],
];
export const tlsHint = (message: string) => SITE_REFUSES.find(([re]) => re.test(message))?.[1] ?? (DROPPED.test(message) ? DROPPED_HINT : TLS_HINT);

/** grpc-js ends its messages with an empty "Resolution note: ", or "Last error: undefined" where it kept none: noise in a line meant for a person. */
export const grpcText = (message: string) => message.replace(/\.?\s*Resolution note:\s*$/, '').replace(/\.?\s*Last error: undefined/, '');
