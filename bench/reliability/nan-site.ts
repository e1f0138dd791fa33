/**
 * A hospital's site agent gone wrong, as its own process: it joins with its kit's real
 * key and trains as usual, but in one round its update carries a NaN in its last value,
 * in a late chunk, correctly signed. A site's own check never sends NaN, so this one
 * bypasses it: it opens its own sealed update with the coordinator's key (taken from
 * the coordinator kit: the harness plays both sides) and seals the poisoned one again.
 *
 *   node --import tsx bench/reliability/nan-site.ts --config site.yaml \
 *     --coordinator-identity coordinator/identity.json --round 2 [--chunk-bytes 1024]
 */
import { loadSiteTls } from '../../shared/pki/kit-tls.ts';
import { parseArgs } from 'node:util';
import { cliLogger } from '../../cli/io.ts';
import { readIdentityFile } from '../../shared/crypto/keys.ts';
import { loadSiteTable } from '../../shared/data/table.ts';
import { SiteAgent } from '../../site-agent/agent.ts';
import { loadSiteConfig } from '../../site-agent/config.ts';
import { grpcSiteTransport } from '../../site-agent/grpc-client.ts';
import { prepareLocalData } from '../../site-agent/local-data.ts';
import { replaceUpdates } from '../../tests/e2e/helpers/tamper.ts';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    'coordinator-identity': { type: 'string' },
    round: { type: 'string', default: '2' },
    'chunk-bytes': { type: 'string', default: '1024' },
  },
});
if (!values.config || !values['coordinator-identity']) throw new Error('--config and --coordinator-identity are required');
const round = Number(values.round);
const log = cliLogger();
const cfg = loadSiteConfig(values.config);
const coordinator = readIdentityFile(values['coordinator-identity']);
const data = prepareLocalData(loadSiteTable(cfg.schema, cfg.data), { testFraction: cfg.testFraction, seed: cfg.seed });
const transport = replaceUpdates(grpcSiteTransport(cfg.coordinatorAddress, 4 * 1024 * 1024, loadSiteTls(values.config)), {
  federation: cfg.federation,
  site: cfg.site,
  keys: () => ({ site: cfg.identity, coordinator: coordinator.box }),
  when: (r) => r === round,
  change: ({ meta, weights }) => {
    weights[weights.length - 1] = NaN;
    log.warn('poisoned update: NaN in the last weight', { round, weights: weights.length });
    return { meta, weights };
  },
  chunkSize: Number(values['chunk-bytes']),
});
const agent = new SiteAgent({ site: cfg.site, federation: cfg.federation, schema: cfg.schema, data, identity: cfg.identity, coordinator: cfg.coordinator, transport, seed: cfg.seed, log });
try {
  const message = await agent.run();
  process.stdout.write(`site finished: ${message}\n`);
} finally {
  transport.close();
}
