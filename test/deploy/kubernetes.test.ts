// deploy/kubernetes: every YAML document validates against the Kubernetes API
// schemas (kubernetes-models), and the manifests say what the deployment
// story promises: the agent DaemonSet on the host network of every node
// (control-plane too) with only NET_ADMIN/NET_RAW, a read-only root, its node
// name from the downward API, bounded resources, a state directory and the
// token Secret as a file; the server Deployment with its PVC and Service;
// Dockerfile.agent with the tools the agent runs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import type { IContainer, IPodSpec } from 'kubernetes-models/v1';
import { REPO_ROOT } from '../support/paths.ts';

const DIR = join(REPO_ROOT, 'deploy', 'kubernetes');

type Model = { validate(): void };
const MODELS: Record<string, new (data: any) => Model> = {
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'apps/v1/DaemonSet': DaemonSet,
};

/** The TypeScript interface of each kind, for the unknown-field check. */
const INTERFACES: Record<string, [string, string]> = {
  'v1/Namespace': ['kubernetes-models/v1/Namespace', 'INamespace'],
  'v1/Secret': ['kubernetes-models/v1/Secret', 'ISecret'],
  'v1/Service': ['kubernetes-models/v1/Service', 'IService'],
  'v1/PersistentVolumeClaim': ['kubernetes-models/v1/PersistentVolumeClaim', 'IPersistentVolumeClaim'],
  'apps/v1/Deployment': ['kubernetes-models/apps/v1/Deployment', 'IDeployment'],
  'apps/v1/DaemonSet': ['kubernetes-models/apps/v1/DaemonSet', 'IDaemonSet'],
};

/**
 * The schema validation ignores fields it does not know (like `kubectl apply`
 * without strict validation), so a misspelt `hostNetwrok` would pass. Each
 * object is also type-checked as an object literal of its kubernetes-models
 * interface: TypeScript's excess-property check reports unknown fields at
 * any depth. Returns the diagnostics, `file: kind name: message`.
 */
function unknownFields(objects: Doc[]): string[] {
  const file = join(REPO_ROOT, 'test', 'deploy', '__manifests__.ts');
  const imports = [...new Set(objects.map((o) => `${o.apiVersion}/${o.kind}`))].map((k) => `import type { ${INTERFACES[k]![1]} } from '${INTERFACES[k]![0]}';`);
  const body = objects.map((o, i) => {
    const { file: _f, ...object } = o;
    return `export const m${i}: ${INTERFACES[`${o.apiVersion}/${o.kind}`]![1]} = ${JSON.stringify(object)};`;
  });
  const text = [...imports, ...body].join('\n') + '\n';
  const options: ts.CompilerOptions = { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true, types: [] };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, lang, ...rest) => (name === file ? ts.createSourceFile(name, text, lang) : getSourceFile.call(host, name, lang, ...rest));
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? text : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line - imports.length : -1;
    const o = objects[line];
    return `${o ? `${o.file}: ${o.kind} ${o.metadata.name}` : '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

interface Doc {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  [k: string]: unknown;
}

function loadManifests(dir = DIR): Doc[] {
  const docs: Doc[] = [];
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml').sort()) {
    for (const d of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      assert.deepEqual(d.errors, [], `${file}: YAML errors`);
      const value = d.toJS() as Doc | null;
      if (value) docs.push({ ...value, file });
    }
  }
  return docs;
}

const docs = loadManifests();
/** The Secret the README's `kubectl create secret generic …` makes; no manifest carries it. */
const AGENT_TOKEN_SECRET = 'packetpath-agent-token';
const find = (kind: string, name?: string): Doc => {
  const d = docs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  assert.ok(d, `${kind} ${name ?? ''} exists`);
  return d;
};

describe('deploy/kubernetes', () => {
  it('`kubectl apply -k` replaces no Secret the user created (no Secret among its resources)', () => {
    const kustomization = parseAllDocuments(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as { resources: string[] };
    const applied = docs.filter((d) => kustomization.resources.includes(d.file));
    assert.deepEqual(kustomization.resources.filter((r) => !docs.some((d) => d.file === r)), [], 'every resource is a manifest here');
    assert.deepEqual(applied.filter((d) => d.kind === 'Secret').map((d) => `${d.file}: ${d.metadata.name}`), []);
    assert.ok(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').includes(`create secret generic ${AGENT_TOKEN_SECRET}`), 'README says how to create the Secret');
  });

  it('every document is a valid Kubernetes object (kubernetes-models schemas)', () => {
    assert.ok(docs.length >= 5, `${docs.length} documents`);
    for (const d of docs) {
      const { file, ...object } = d;
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      assert.ok(Model, `${file}: no schema for ${object.apiVersion} ${object.kind}`);
      assert.doesNotThrow(() => new Model(object).validate(), `${file}: ${object.kind} ${object.metadata?.name} is invalid`);
    }
  });

  it('no document has a field its kind does not know (TypeScript excess-property check)', () => {
    assert.deepEqual(unknownFields(docs), []);
    const typo = structuredClone(find('DaemonSet')) as Doc;
    typo.spec.template.spec.hostNetwrok = true;
    const found = unknownFields([typo]);
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0]!, /agent-daemonset\.yaml: DaemonSet packetpath-agent: .*'"hostNetwrok"' does not exist/);
    const deep = structuredClone(find('DaemonSet')) as Doc;
    deep.spec.template.spec.containers[0].securityContext.capabilites = {};
    assert.match(unknownFields([deep]).join('\n'), /capabilites/);
  });

  it('the validation does catch mistakes', () => {
    const ds = structuredClone(find('DaemonSet')) as Doc;
    delete (ds as Partial<Doc>).file;
    ds.spec.template.spec.containers[0].securityContext.capabilities.add = 'NET_ADMIN';
    assert.throws(() => new DaemonSet(ds as any).validate());
    const svc = structuredClone(find('Service')) as Doc;
    delete (svc as Partial<Doc>).file;
    svc.spec.ports[0].port = 'http';
    assert.throws(() => new Service(svc as any).validate());
  });

  it('everything but the Namespace is in it; kustomization.yaml lists every file', () => {
    const ns = find('Namespace').metadata.name;
    for (const d of docs.filter((x) => x.kind !== 'Namespace')) assert.equal(d.metadata.namespace, ns, `${d.kind} ${d.metadata.name}`);
    const kustomization = parseAllDocuments(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'))[0]?.toJS() as { resources: string[] };
    assert.deepEqual([...kustomization.resources].sort(), [...new Set(docs.map((d) => d.file))].sort());
  });

  it('the agent DaemonSet: host network, control-plane tolerations, NET_ADMIN/NET_RAW only, read-only root, node name, resources, state dir, token file', () => {
    const ds = find('DaemonSet', 'packetpath-agent');
    const pod = ds.spec.template.spec as IPodSpec;
    assert.equal(pod.hostNetwork, true);
    assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
    assert.equal(pod.automountServiceAccountToken, false);
    assert.ok(pod.tolerations?.some((t) => t.key === 'node-role.kubernetes.io/control-plane' && t.operator === 'Exists' && t.effect === 'NoSchedule'));
    assert.equal(pod.containers.length, 1);
    const c = pod.containers[0] as IContainer;
    const sc = c.securityContext!;
    assert.deepEqual(sc.capabilities?.drop, ['ALL']);
    assert.deepEqual([...(sc.capabilities?.add ?? [])].sort(), ['NET_ADMIN', 'NET_RAW']);
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.notEqual(sc.privileged, true);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.ok(c.resources?.requests?.['cpu'] && c.resources.requests['memory'] && c.resources.limits?.['cpu'] && c.resources.limits['memory']);

    const args = c.args ?? [];
    const arg = (name: string): string | undefined => args[args.indexOf(name) + 1];
    assert.equal(arg('--node'), '$(NODE_NAME)');
    const nodeEnv = c.env?.find((e) => e.name === 'NODE_NAME');
    assert.equal(nodeEnv?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
    assert.ok(!args.includes('--once'));

    const mountOf = (path: string) => (c.volumeMounts ?? []).find((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));
    const volume = (name: string | undefined) => pod.volumes?.find((v) => v.name === name);
    const tokenMount = mountOf(arg('--token-file') ?? '');
    assert.ok(tokenMount, 'the token file is on a mounted volume');
    assert.equal(tokenMount.readOnly, true);
    const secretName = volume(tokenMount.name)?.secret?.secretName;
    assert.equal(secretName, AGENT_TOKEN_SECRET, 'the token comes from the Secret the README has you create');
    const stateMount = mountOf(arg('--state-dir') ?? '');
    assert.ok(stateMount, 'the state dir is on a mounted volume');
    const state = volume(stateMount.name);
    assert.ok(state?.hostPath || state?.emptyDir, 'hostPath or emptyDir');
    assert.ok(mountOf('/tmp'), 'a writable /tmp on a read-only root');

    // --server points at the server's Service.
    const svc = find('Service', 'packetpath-server');
    const server = new URL(arg('--server') ?? '');
    assert.equal(server.hostname.split('.').slice(0, 2).join('.'), `${svc.metadata.name}.${svc.metadata.namespace}`);
    assert.equal(Number(server.port), svc.spec.ports[0].port);
  });

  it('the server: Deployment on its PVC (one writer), Service selecting it, probes on the public health routes', () => {
    const dep = find('Deployment', 'packetpath-server');
    const pod = dep.spec.template.spec as IPodSpec;
    assert.equal(dep.spec.replicas, 1);
    assert.equal(dep.spec.strategy.type, 'Recreate');
    const pvcName = pod.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName;
    assert.equal(pvcName, find('PersistentVolumeClaim').metadata.name);
    const c = pod.containers[0] as IContainer;
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env['HOST'], '0.0.0.0');
    assert.match(env['DATABASE_URL'] ?? '', /^file:\/data\//);
    assert.ok((c.volumeMounts ?? []).some((m) => m.mountPath === '/data'));
    assert.equal(c.readinessProbe?.httpGet?.path, '/readyz');
    assert.equal(c.livenessProbe?.httpGet?.path, '/healthz');
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    const svc = find('Service', 'packetpath-server');
    const labels = dep.spec.template.metadata.labels as Record<string, string>;
    for (const [k, v] of Object.entries(svc.spec.selector as Record<string, string>)) assert.equal(labels[k], v);
    assert.ok(c.ports?.some((p) => p.name === svc.spec.ports[0].targetPort));
  });

  it('Dockerfile.agent: node:20-slim, the tools the agent runs, no native build, the agent as entry point', () => {
    const text = readFileSync(join(REPO_ROOT, 'Dockerfile.agent'), 'utf8');
    assert.match(text, /^FROM node:20-slim/m);
    assert.match(text, /apt-get install[^\n]*\biptables\b[^\n]*\biproute2\b[^\n]*\bipset\b/);
    assert.match(text, /npm ci --omit=dev --ignore-scripts/);
    assert.match(text, /^ENTRYPOINT \["node", "bin\/packetpath\.mjs", "agent"\]/m);
    const ds = find('DaemonSet', 'packetpath-agent');
    assert.match(ds.spec.template.spec.containers[0].image, /^packetpath-agent:/);
    assert.match(find('Deployment', 'packetpath-server').spec.template.spec.containers[0].image, /^packetpath:/);
  });
});

describe('deploy/kubernetes/postgres (replicas on PostgreSQL)', () => {
  const dir = join(DIR, 'postgres');
  const own = loadManifests(dir);
  const kustomization = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as { resources: string[] };
  const applied = kustomization.resources.flatMap((r) => (r.startsWith('../') ? docs.filter((d) => d.file === r.slice(3)) : own.filter((d) => d.file === r)));

  it('the kustomization lists existing manifests: the namespace, the agent and its own server; no Secret', () => {
    for (const r of kustomization.resources) assert.ok(applied.some((d) => (r.startsWith('../') ? d.file === r.slice(3) : d.file === r)), `${r} is a manifest`);
    assert.deepEqual(applied.map((d) => d.kind).sort(), ['DaemonSet', 'Deployment', 'Namespace', 'Service']);
    assert.deepEqual(applied.filter((d) => d.kind === 'Secret'), []);
  });

  it('every document is valid and has no unknown field', () => {
    for (const d of own) {
      const { file, ...object } = d;
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      assert.ok(Model, `${file}: no schema for ${object.apiVersion} ${object.kind}`);
      assert.doesNotThrow(() => new Model(object).validate(), `${file}: ${object.kind} ${object.metadata?.name} is invalid`);
    }
    assert.deepEqual(unknownFields(own), []);
  });

  it('the server: several replicas, rolling updates (no Recreate), no volume, DATABASE_URL from the example Secret', () => {
    const dep = own.find((d) => d.kind === 'Deployment')!;
    const pod = dep.spec.template.spec as IPodSpec;
    assert.ok(dep.spec.replicas > 1);
    assert.notEqual(dep.spec.strategy?.type, 'Recreate');
    assert.equal(dep.spec.strategy.rollingUpdate.maxUnavailable, 0);
    assert.deepEqual(pod.volumes?.filter((v) => v.persistentVolumeClaim), []);
    const c = pod.containers[0] as IContainer;
    const url = c.env?.find((e) => e.name === 'DATABASE_URL');
    const secret = own.find((d) => d.kind === 'Secret')!;
    assert.equal(secret.file, 'postgres-secret.example.yaml');
    assert.equal(url?.valueFrom?.secretKeyRef?.name, secret.metadata.name);
    assert.match((secret['stringData'] as Record<string, string>)[url!.valueFrom!.secretKeyRef!.key]!, /^postgres:\/\//);
    assert.equal(c.readinessProbe?.httpGet?.path, '/readyz');
    // The agent finds this server under the same Service name as the SQLite variant's.
    const svc = own.find((d) => d.kind === 'Service')!;
    assert.equal(svc.metadata.name, find('Service', 'packetpath-server').metadata.name);
    assert.ok(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').includes(`create secret generic ${secret.metadata.name}`), 'README says how to create the Secret');
  });
});
