/**
 * The coordinator's Helm chart rendered (tests/deploy/helm-render.ts: the chart's template
 * subset, not helm itself, which this machine lacks) and checked as the Kubernetes API would
 * take it: YAML 1.1 as go-yaml reads it (0440 is octal), names and ports in range, the
 * selector matching the pod, every mount backed by a volume, the kit laid out as provision
 * writes it, probes on /healthz, the pod's numeric user the image's USER.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { renderChart } from './helm-render.ts';

const CHART = join(import.meta.dirname, '..', '..', 'deploy', 'helm', 'fedcausal-coordinator');
const DOCKERFILE = join(import.meta.dirname, '..', '..', 'deploy', 'container', 'Dockerfile.coordinator');
/** Rendered YAML, checked field by field. */
type Obj = Record<string, any>;

/** Every object of every template, parsed strictly as Kubernetes' YAML 1.1 reader would. */
function manifests(overrides: Record<string, unknown> = {}): Obj[] {
  const out: Obj[] = [];
  for (const [file, text] of renderChart(CHART, 'fc', overrides)) {
    for (const doc of parseAllDocuments(text, { version: '1.1', uniqueKeys: true })) {
      assert.deepEqual(doc.errors, [], `${file}: ${doc.errors.map((e) => e.message).join('; ')}\n${text}`);
      const o = doc.toJS() as Obj | null;
      if (o) out.push(o);
    }
  }
  return out;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PORT_NAME = /^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/; // IANA_SVC_NAME: at most 15 characters

function kinds(list: Obj[]) {
  const sts = list.find((o) => o.kind === 'StatefulSet');
  const svc = list.find((o) => o.kind === 'Service');
  assert.ok(sts && svc, `rendered kinds: ${list.map((o) => o.kind).join(', ')}`);
  return { sts, svc, pod: sts.spec.template, container: sts.spec.template.spec.containers[0] as Obj };
}

test('the chart renders to a StatefulSet and a Service the API would accept, wired to each other', () => {
  const list = manifests();
  for (const o of list) {
    assert.ok(typeof o.apiVersion === 'string' && typeof o.kind === 'string', 'apiVersion and kind');
    assert.match(o.metadata.name, DNS_LABEL);
  }
  const { sts, svc, pod, container } = kinds(list);
  assert.equal(sts.apiVersion, 'apps/v1');
  assert.equal(svc.apiVersion, 'v1');
  assert.equal(sts.spec.replicas, 1, 'one coordinator: its state is one SQLite file');
  assert.equal(sts.spec.serviceName, svc.metadata.name);
  for (const [k, v] of Object.entries(sts.spec.selector.matchLabels)) assert.equal(pod.metadata.labels[k], v, `selector ${k}`);
  for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(pod.metadata.labels[k], v, `service selector ${k}`);
  assert.equal(sts.metadata.labels['app.kubernetes.io/version'], '0.1.0', 'quoted appVersion');

  const ports = new Map((container.ports as Obj[]).map((p) => [p.name, p.containerPort]));
  assert.deepEqual([...ports], [['grpc', 7443], ['http', 8080]]);
  for (const name of ports.keys()) assert.match(name, PORT_NAME);
  for (const p of svc.spec.ports as Obj[]) {
    assert.ok(ports.has(p.targetPort), `service port ${p.name} targets a container port`);
    assert.ok(Number.isInteger(p.port) && p.port > 0 && p.port < 65536);
  }
  for (const probe of [container.livenessProbe, container.readinessProbe]) assert.deepEqual(probe.httpGet, { path: '/healthz', port: 'http' });
  assert.deepEqual(container.resources, { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '2Gi' } }, 'toYaml | nindent');
  assert.equal(pod.metadata.annotations['prometheus.io/port'], '8080', 'annotations are strings');
  assert.deepEqual(container.args, ['coordinator', 'start', '--config', '/kit/coordinator.yaml']);

  // Every mount has a volume; the kit is one projected volume laid out as provision writes it.
  const volumes = new Map((pod.spec.volumes as Obj[]).map((v) => [v.name, v]));
  const claims = new Set((sts.spec.volumeClaimTemplates as Obj[]).map((c) => c.metadata.name));
  for (const m of container.volumeMounts as Obj[]) assert.ok(volumes.has(m.name) || claims.has(m.name), `mount ${m.name} has a volume`);
  const kit = volumes.get('kit')!.projected;
  assert.equal(kit.defaultMode, 0o440, '0440 read as octal (YAML 1.1), owner and group read only');
  const paths = (kit.sources as Obj[]).flatMap((s) => (s.secret.items ?? []).map((i: Obj) => i.path));
  assert.deepEqual(paths, ['tls/ca.pem', 'tls/server.pem', 'tls/server.key.pem', 'tls/crl.pem']);
  // The kubelet enforces runAsNonRoot only on a numeric user: the pod names the image's USER.
  const ctx = pod.spec.securityContext;
  assert.equal(ctx.runAsNonRoot, true);
  const user = /^USER (\d+):(\d+)$/m.exec(readFileSync(DOCKERFILE, 'utf8'));
  assert.ok(user, `${DOCKERFILE}: USER is numeric uid:gid`);
  assert.deepEqual([ctx.runAsUser, ctx.runAsGroup, ctx.fsGroup], [Number(user[1]), Number(user[2]), Number(user[2])], 'the image\'s uid and gid');
  assert.deepEqual(ctx.seccompProfile, { type: 'RuntimeDefault' });
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
});

test('the chart\'s switches: a token Secret of its own, a storage class, no scrape annotations, the user', () => {
  const { pod, sts } = kinds(manifests({ httpTokenSecret: 'fc-token', persistence: { storageClassName: 'fast' }, metrics: { annotations: false } }));
  const sources = pod.spec.volumes.find((v: Obj) => v.name === 'kit').projected.sources as Obj[];
  assert.deepEqual(sources.at(-1), { secret: { name: 'fc-token', items: [{ key: 'http-token', path: 'http-token' }] } });
  assert.equal(sts.spec.volumeClaimTemplates[0].spec.storageClassName, 'fast');
  assert.equal(pod.metadata.annotations, undefined);
  // Another image user: the ids come from values.
  const other = kinds(manifests({ podSecurityContext: { runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 } })).pod.spec.securityContext;
  assert.deepEqual([other.runAsNonRoot, other.runAsUser, other.runAsGroup, other.fsGroup], [true, 10001, 10001, 10001]);
  // Without a TLS Secret the kit source stands alone (the coordinator then refuses to start, as documented).
  const bare = kinds(manifests({ tlsSecret: '' })).pod.spec.volumes.find((v: Obj) => v.name === 'kit').projected.sources;
  assert.equal(bare.length, 1);
});
