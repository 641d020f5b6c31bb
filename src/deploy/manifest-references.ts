// What the API server cannot check object by object in a set of manifests, because one object names another:
// a workload's selector must match its own pods, and the service account, ConfigMap keys, volumes, ports and
// governing Service it names must exist; a binding's role and service accounts must exist; a Service or
// disruption budget must select some workload's pods. A mistake in any of these installs without an error
// and fails only when pods start (or never do).
import type { KObject } from '../apiserver/types.ts';

export interface ReferenceIssue {
  /** "Deployment kube-system/ovnk-controller". */
  object: string;
  message: string;
}

type Labels = Record<string, string>;

interface Container {
  name: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; valueFrom?: { configMapKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  volumeMounts?: { name: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
}

interface Probe {
  httpGet?: { port: number | string };
  tcpSocket?: { port: number | string };
}

interface PodSpec {
  serviceAccountName?: string;
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; configMap?: { name: string } }[];
}

const WORKLOADS = ['Deployment', 'DaemonSet', 'StatefulSet'];

function id(o: KObject): string {
  const ns = o.metadata.namespace ? `${o.metadata.namespace}/` : '';
  return `${o.kind} ${ns}${o.metadata.name}`;
}

function selects(selector: Labels | undefined, labels: Labels | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function podLabelsOf(o: KObject): Labels | undefined {
  return (o.spec as { template?: { metadata?: { labels?: Labels } } }).template?.metadata?.labels;
}

export function checkReferences(objects: readonly KObject[]): ReferenceIssue[] {
  const out: ReferenceIssue[] = [];
  const find = (kind: string, name: string, namespace?: string) =>
    objects.find(
      (o) =>
        o.kind === kind &&
        o.metadata.name === name &&
        (namespace === undefined || (o.metadata.namespace ?? 'default') === namespace),
    );
  const workloads = objects.filter((o) => WORKLOADS.includes(String(o.kind)));

  for (const w of workloads) {
    const ns = w.metadata.namespace ?? 'default';
    const issue = (message: string) => out.push({ object: id(w), message });
    const spec = w.spec as {
      selector?: { matchLabels?: Labels };
      serviceName?: string;
      template: { spec: PodSpec };
    };
    if (!selects(spec.selector?.matchLabels, podLabelsOf(w)))
      issue('spec.selector.matchLabels does not match the pod template labels');
    if (w.kind === 'StatefulSet' && !(spec.serviceName && find('Service', spec.serviceName, ns)))
      issue(`governing Service ${spec.serviceName} is not among the manifests`);
    const pod = spec.template.spec;
    const sa = pod.serviceAccountName;
    if (sa && sa !== 'default' && !find('ServiceAccount', sa, ns)) issue(`ServiceAccount ${sa} is missing`);
    const volumes = new Set((pod.volumes ?? []).map((v) => v.name));
    for (const v of pod.volumes ?? []) {
      if (v.configMap && !find('ConfigMap', v.configMap.name, ns))
        issue(`ConfigMap ${v.configMap.name} is missing`);
    }
    const names = new Set<string>();
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      if (names.has(c.name)) issue(`container name ${c.name} is used twice`);
      names.add(c.name);
      for (const m of c.volumeMounts ?? [])
        if (!volumes.has(m.name)) issue(`container ${c.name} mounts volume ${m.name}, which is not defined`);
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.configMapKeyRef;
        if (!ref) continue;
        const cm = find('ConfigMap', ref.name, ns);
        const data = (cm?.data ?? {}) as Record<string, unknown>;
        if (!cm) issue(`container ${c.name} env ${e.name}: ConfigMap ${ref.name} is missing`);
        else if (!(ref.key in data))
          issue(`container ${c.name} env ${e.name}: ConfigMap ${ref.name} has no key ${ref.key}`);
      }
      for (const e of c.envFrom ?? []) {
        const ref = e.configMapRef?.name;
        if (ref && !find('ConfigMap', ref, ns))
          issue(`container ${c.name} envFrom: ConfigMap ${ref} is missing`);
      }
      const portNames = new Set((c.ports ?? []).map((p) => p.name).filter(Boolean));
      for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
        const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
        if (typeof port === 'string' && !portNames.has(port))
          issue(`container ${c.name}: a probe names port ${port}, which the container does not declare`);
      }
    }
  }

  for (const b of objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
    const ref = b.roleRef as { kind: string; name: string };
    const ns = b.kind === 'RoleBinding' ? (b.metadata.namespace ?? 'default') : undefined;
    const role = ref.kind === 'Role' ? find('Role', ref.name, ns) : find('ClusterRole', ref.name);
    if (!role) out.push({ object: id(b), message: `${ref.kind} ${ref.name} is missing` });
    for (const s of (b.subjects ?? []) as { kind: string; name: string; namespace?: string }[]) {
      if (s.kind === 'ServiceAccount' && !find('ServiceAccount', s.name, s.namespace ?? ns))
        out.push({ object: id(b), message: `ServiceAccount ${s.namespace}/${s.name} is missing` });
    }
  }

  for (const o of objects.filter((x) => x.kind === 'Service' || x.kind === 'PodDisruptionBudget')) {
    const spec = o.spec as { selector?: Labels | { matchLabels?: Labels } };
    const selector =
      o.kind === 'Service'
        ? (spec.selector as Labels)
        : (spec.selector as { matchLabels?: Labels })?.matchLabels;
    if (!selector) continue;
    const ns = o.metadata.namespace ?? 'default';
    if (
      !workloads.some((w) => (w.metadata.namespace ?? 'default') === ns && selects(selector, podLabelsOf(w)))
    )
      out.push({ object: id(o), message: 'its selector matches no workload among the manifests' });
  }
  return out;
}
