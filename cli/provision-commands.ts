// `fedcausal provision add-site`, `revoke-site` and `renew-site`: flags, help and the lines printed (provision-sites.ts and provision-renew.ts do the work).
import { choice, text } from '../shared/config/fields.ts';
import { parseFlags } from '../shared/config/flags.ts';
import { z } from 'zod';
import type { Logger } from '../shared/logger.ts';
import { renewSite } from './provision-renew.ts';
import { REVOCATION_REASONS, addSite, revokeSite } from './provision-sites.ts';

export const ADD_SITE_HELP = `usage: fedcausal provision add-site --federation federation.yaml --dir DIR --site NAME [--replace]

Adds one site to the federation provisioned in DIR (by \`provision --out DIR\`): a new kit in
DIR/sites/NAME with its own keys and a certificate from the federation's CA, and the manifest
re-signed with the site in it (DIR/ca/manifest.json and DIR/coordinator/manifest.json). List
the site in federation.yaml first (its data path, the schema and seed come from there). No
other kit changes. Send the new kit to the hospital and the new manifest to the coordinator,
then restart the coordinator (it reads the manifest at start; a run under way cannot take a
new site: it resumes only with the sites it started with).

--replace   re-key a site that is enrolled but whose certificates are all revoked (a lost kit)
`;

export const REVOKE_SITE_HELP = `usage: fedcausal provision revoke-site --dir DIR --site NAME [--reason REASON] [--serial S]

Revokes every certificate issued to site NAME (or only the one with serial S): re-signs the revocation list with the CA key
(DIR/ca/crl.pem, and DIR/coordinator/tls/crl.pem when the coordinator kit is in DIR). Copy
crl.pem to the coordinator's tls/crl.pem: a running coordinator re-reads it at every
connection and refuses the site's next call, no restart needed. Nobody else is re-keyed.

--reason    ${REVOCATION_REASONS.join(', ')} (default unspecified)
--serial    revoke only this certificate (hex, as renew-site and ca/issued/ name it): the one a
            renewal replaced, so the site keeps its new certificate (reason: superseded)
`;

export const RENEW_SITE_HELP = `usage: fedcausal provision renew-site --dir DIR --site NAME --csr FILE [--out CERT]

Certifies a site's new TLS key from the certificate request it made with
\`fedcausal site renew-request\` (the key itself stays at the hospital). The CSR's signature
must verify (proof the requester holds the key); the certificate names the site and its
Ed25519 key from the manifest, whatever the CSR's subject says. An unknown site, a revoked
one (re-key it with add-site --replace) or a key already certified is refused. The serial is
recorded in DIR/ca/issued/ (revoke-site covers it). The coordinator needs nothing new.

--out   where to write the certificate (default DIR/sites/NAME/tls/client.pem.new)
`;

export async function provisionVerb(verb: 'add-site' | 'revoke-site' | 'renew-site', argv: string[], out: (s: string) => void, log: Logger): Promise<number> {
  if (verb === 'add-site') {
    const flags = parseFlags(argv, { federation: text(), dir: text(), site: text(), replace: z.boolean().default(false) });
    if (flags === 'help') return out(ADD_SITE_HELP), 0;
    const r = await addSite({ federationFile: flags.federation, dir: flags.dir, site: flags.site, replace: flags.replace }, log);
    out(
      `site "${r.site}" added: kit ${r.kit} (certificate serial ${r.serialNumber})\n` +
        `manifest re-signed: ${r.manifests.join(', ')}\n` +
        `next: send the kit to the hospital; give the coordinator the new manifest.json and restart it\n`,
    );
    return 0;
  }
  if (verb === 'renew-site') return renewSiteVerb(argv, out, log);
  const flags = parseFlags(argv, { dir: text(), site: text(), reason: choice(REVOCATION_REASONS).default('unspecified'), serial: text().optional() });
  if (flags === 'help') return out(REVOKE_SITE_HELP), 0;
  const r = await revokeSite({ dir: flags.dir, site: flags.site, reason: flags.reason, ...(flags.serial ? { serial: flags.serial } : {}) }, log);
  if (r.revoked.length === 0) return out(`site "${r.site}": ${flags.serial ? `certificate ${flags.serial} was` : 'every certificate was'} already revoked; nothing written\n`), 0;
  out(`site "${r.site}" revoked (serials ${r.revoked.join(', ')})\nrevocation list written: ${r.crls.join(', ')}\nnext: copy ca/crl.pem to the coordinator's tls/crl.pem if it runs elsewhere; it applies at the next connection\n`);
  return 0;
}

async function renewSiteVerb(argv: string[], out: (s: string) => void, log: Logger): Promise<number> {
  const flags = parseFlags(argv, { dir: text(), site: text(), csr: text(), out: text().optional() });
  if (flags === 'help') return out(RENEW_SITE_HELP), 0;
  const r = await renewSite({ dir: flags.dir, site: flags.site, csr: flags.csr, ...(flags.out ? { out: flags.out } : {}) }, log);
  out(
    `site "${r.site}": certificate issued for the key of ${flags.csr} (serial ${r.serialNumber}, valid until ${r.notAfter.toISOString()})\n` +
      `certificate written: ${r.cert}\n` +
      `send back to the hospital: ${r.cert} (a certificate: nothing secret in it)\n` +
      `next: the hospital runs \`fedcausal site renew-install --config site.yaml --cert FILE\` and restarts its site; the coordinator needs nothing (same CA, same manifest)\n`,
  );
  return 0;
}
