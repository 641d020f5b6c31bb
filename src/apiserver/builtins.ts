// The built-in kinds this server serves, each with the parts of its real strategy that clients notice:
// defaults and status resets on create, immutable fields, name formats, field selectors, printed columns.
import { fieldError, type StatusCause } from './errors.ts';
import { dns1035Label, dns1123Label, dns1123Subdomain, humanAge, pathSegmentName } from './meta.ts';
import { allVerbs, type Column, type ResourceHooks, type ResourceInfo, resourceKey } from './registry.ts';
import type { ServiceIPs } from './service-ips.ts';
import { isRecord, jsonEqual, type KObject } from './types.ts';

export interface BuiltinDef {
  group?: string;
  version?: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  statusSubresource?: boolean;
  subresources?: string[];
  nameValidator?: (name: string) => string | undefined;
  fieldLabels?: ResourceInfo['fieldLabels'];
  columns?: Column[];
  hooks?: ResourceHooks;
  allowUnconditionalUpdate?: boolean;
  generation?: boolean;
  verbs?: string[];
}

export const nameColumn: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
  cell: (o) => o.metadata.name,
};

export const ageColumn: Column = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  cell: (o) => humanAge(o.metadata.creationTimestamp),
};

function col(name: string, cell: (o: KObject) => unknown, priority = 0, type = 'string'): Column {
  return { name, type, priority, cell, description: name };
}

export function makeInfo(def: BuiltinDef): ResourceInfo {
  const group = def.group ?? '';
  const version = def.version ?? 'v1';
  return {
    group,
    version,
    plural: def.plural,
    singular: def.kind.toLowerCase(),
    kind: def.kind,
    listKind: `${def.kind}List`,
    namespaced: def.namespaced,
    shortNames: def.shortNames ?? [],
    categories: def.categories ?? [],
    statusSubresource: def.statusSubresource ?? false,
    subresources: def.subresources ?? [],
    verbs: def.verbs ?? allVerbs,
    key: resourceKey(group, def.plural),
    apiVersion: group ? `${group}/${version}` : version,
    generation: def.generation ?? false,
    allowUnconditionalUpdate: def.allowUnconditionalUpdate ?? true,
    strategicMergePatch: true,
    fieldLabels: def.fieldLabels ?? {},
    nameValidator: def.nameValidator ?? dns1123Subdomain,
    columns: def.columns ?? [nameColumn, ageColumn],
    hooks: def.hooks ?? {},
  };
}

function get(obj: unknown, ...path: string[]): unknown {
  let cur = obj;
  for (const p of path) cur = isRecord(cur) ? cur[p] : undefined;
  return cur;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function spec(obj: KObject): Record<string, unknown> {
  if (!isRecord(obj.spec)) obj.spec = {};
  return obj.spec as Record<string, unknown>;
}

// ---- pods ----

function containerDefaults(c: unknown): void {
  if (!isRecord(c)) return;
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  if (c.imagePullPolicy === undefined && typeof c.image === 'string') {
    const tag = /:([^/:]+)$/.exec(c.image)?.[1];
    c.imagePullPolicy = tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
  }
}

function validateContainers(obj: KObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const containers = get(obj, 'spec', 'containers');
  if (!Array.isArray(containers) || containers.length === 0) return [fieldError.required('spec.containers')];
  const names = new Set<string>();
  containers.forEach((c, i) => {
    const name = get(c, 'name');
    if (typeof name !== 'string' || name === '')
      causes.push(fieldError.required(`spec.containers[${i}].name`));
    else {
      const err = dns1123Label(name);
      if (err) causes.push(fieldError.invalid(`spec.containers[${i}].name`, name, err));
      if (names.has(name)) causes.push(fieldError.duplicate(`spec.containers[${i}].name`, name));
      names.add(name);
    }
    if (typeof get(c, 'image') !== 'string' || get(c, 'image') === '') {
      causes.push(fieldError.required(`spec.containers[${i}].image`));
    }
  });
  return causes;
}

/** A pod's spec may change only in images, activeDeadlineSeconds and added tolerations. */
function podSpecUpdateAllowed(obj: KObject, old: KObject): boolean {
  const strip = (s: unknown) => {
    const c = structuredClone(isRecord(s) ? s : {});
    for (const k of ['containers', 'initContainers']) {
      if (Array.isArray(c[k])) c[k] = (c[k] as unknown[]).map((x) => (isRecord(x) ? { ...x, image: '' } : x));
    }
    delete c.activeDeadlineSeconds;
    delete c.tolerations;
    delete c.terminationGracePeriodSeconds;
    return c;
  };
  return jsonEqual(strip(obj.spec), strip(old.spec));
}

const podHooks: ResourceHooks = {
  prepareForCreate(obj) {
    const s = spec(obj);
    s.restartPolicy ??= 'Always';
    s.dnsPolicy ??= 'ClusterFirst';
    s.schedulerName ??= 'default-scheduler';
    s.terminationGracePeriodSeconds ??= 30;
    s.enableServiceLinks ??= true;
    s.securityContext ??= {};
    s.priority ??= 0;
    if (Array.isArray(s.containers)) s.containers.forEach(containerDefaults);
    if (Array.isArray(s.initContainers)) s.initContainers.forEach(containerDefaults);
    obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
  },
  validate(obj, old) {
    const causes = validateContainers(obj);
    if (old && !podSpecUpdateAllowed(obj, old)) {
      causes.push(
        fieldError.forbidden(
          'spec',
          'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
        ),
      );
    }
    return causes;
  },
};

function podReady(o: KObject): string {
  const containers = get(o, 'spec', 'containers');
  const statuses = get(o, 'status', 'containerStatuses');
  const total = Array.isArray(containers) ? containers.length : 0;
  const ready = Array.isArray(statuses) ? statuses.filter((s) => get(s, 'ready') === true).length : 0;
  return `${ready}/${total}`;
}

function podRestarts(o: KObject): number {
  const statuses = get(o, 'status', 'containerStatuses');
  if (!Array.isArray(statuses)) return 0;
  return statuses.reduce((n: number, s) => n + (Number(get(s, 'restartCount')) || 0), 0);
}

// ---- namespaces, services, nodes ----

const namespaceHooks: ResourceHooks = {
  prepareForCreate(obj) {
    spec(obj).finalizers = ['kubernetes'];
    obj.status = { phase: 'Active' };
    obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name ?? '' };
  },
  prepareForUpdate(obj, old) {
    obj.spec = old.spec;
    obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name ?? '' };
  },
};

function servicePorts(o: KObject): string {
  const ports = get(o, 'spec', 'ports');
  if (!Array.isArray(ports) || ports.length === 0) return '<none>';
  return ports
    .map(
      (p) =>
        `${get(p, 'port')}${get(p, 'nodePort') ? `:${get(p, 'nodePort')}` : ''}/${get(p, 'protocol') ?? 'TCP'}`,
    )
    .join(',');
}

function serviceHooks(ips: ServiceIPs): ResourceHooks {
  return {
    prepareForCreate(obj) {
      const s = spec(obj);
      s.type ??= 'ClusterIP';
      s.sessionAffinity ??= 'None';
      if (Array.isArray(s.ports)) {
        for (const p of s.ports) {
          if (!isRecord(p)) continue;
          p.protocol ??= 'TCP';
          p.targetPort ??= p.port;
        }
      }
      if (s.type !== 'ExternalName') {
        if (s.clusterIP === undefined || s.clusterIP === '') s.clusterIP = ips.allocate();
        else if (s.clusterIP !== 'None') ips.reserve(String(s.clusterIP));
        s.clusterIPs = [s.clusterIP];
        s.ipFamilies ??= [String(s.clusterIP).includes(':') ? 'IPv6' : 'IPv4'];
        s.ipFamilyPolicy ??= 'SingleStack';
        s.internalTrafficPolicy ??= 'Cluster';
      }
      if ((s.type === 'NodePort' || s.type === 'LoadBalancer') && Array.isArray(s.ports)) {
        for (const p of s.ports)
          if (isRecord(p) && p.nodePort === undefined) p.nodePort = ips.allocateNodePort();
      }
      obj.status = { loadBalancer: {} };
    },
    prepareForUpdate(obj, old) {
      const s = spec(obj);
      const o = isRecord(old.spec) ? old.spec : {};
      if ((s.clusterIP === undefined || s.clusterIP === '') && o.clusterIP !== undefined) {
        s.clusterIP = o.clusterIP;
        s.clusterIPs = o.clusterIPs;
      }
    },
    validate(obj, old) {
      const causes: StatusCause[] = [];
      const s = isRecord(obj.spec) ? obj.spec : {};
      const t = s.type ?? 'ClusterIP';
      const types = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
      if (!types.includes(String(t))) causes.push(fieldError.notSupported('spec.type', t, types));
      if (
        t !== 'ExternalName' &&
        s.clusterIP !== 'None' &&
        (!Array.isArray(s.ports) || s.ports.length === 0)
      ) {
        causes.push(fieldError.required('spec.ports'));
      }
      const oldIP = old && isRecord(old.spec) ? old.spec.clusterIP : undefined;
      if (old && oldIP !== undefined && s.clusterIP !== oldIP) {
        causes.push(fieldError.invalid('spec.clusterIPs[0]', s.clusterIP, 'may not change once set'));
      }
      return causes;
    },
    released(obj) {
      const ip = get(obj, 'spec', 'clusterIP');
      if (typeof ip === 'string') ips.release(ip);
      const ports = get(obj, 'spec', 'ports');
      if (Array.isArray(ports))
        for (const p of ports)
          if (typeof get(p, 'nodePort') === 'number') ips.releaseNodePort(get(p, 'nodePort') as number);
    },
  };
}

function nodeStatus(o: KObject): string {
  const conds = get(o, 'status', 'conditions');
  const ready = Array.isArray(conds) ? conds.find((c) => get(c, 'type') === 'Ready') : undefined;
  let s = get(ready, 'status') === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown';
  if (get(o, 'spec', 'unschedulable') === true) s += ',SchedulingDisabled';
  return s;
}

function nodeRoles(o: KObject): string {
  const roles = Object.keys(o.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length));
  return roles.length ? roles.join(',') : '<none>';
}

function endpointsList(o: KObject): string {
  const subsets = o.subsets;
  const out: string[] = [];
  if (Array.isArray(subsets)) {
    for (const s of subsets) {
      const addrs = get(s, 'addresses');
      const ports = get(s, 'ports');
      for (const a of Array.isArray(addrs) ? addrs : []) {
        for (const p of Array.isArray(ports) && ports.length ? ports : [undefined]) {
          out.push(p ? `${get(a, 'ip')}:${get(p, 'port')}` : String(get(a, 'ip')));
        }
      }
    }
  }
  if (out.length === 0) return '<none>';
  return out.length > 3 ? `${out.slice(0, 3).join(',')} + ${out.length - 3} more...` : out.join(',');
}

/** The built-in resources, in discovery order. `serviceIPs` allocates cluster IPs and node ports. */
export function builtinResources(serviceIPs: ServiceIPs): ResourceInfo[] {
  return [
    makeInfo({
      plural: 'namespaces',
      kind: 'Namespace',
      namespaced: false,
      shortNames: ['ns'],
      statusSubresource: true,
      subresources: ['finalize'],
      nameValidator: dns1123Label,
      fieldLabels: { 'status.phase': (o) => str(get(o, 'status', 'phase')) },
      columns: [nameColumn, col('Status', (o) => get(o, 'status', 'phase')), ageColumn],
      hooks: namespaceHooks,
    }),
    makeInfo({
      plural: 'pods',
      kind: 'Pod',
      namespaced: true,
      shortNames: ['po'],
      categories: ['all'],
      statusSubresource: true,
      subresources: ['binding'],
      fieldLabels: {
        'spec.nodeName': (o) => str(get(o, 'spec', 'nodeName')),
        'spec.restartPolicy': (o) => str(get(o, 'spec', 'restartPolicy')),
        'spec.schedulerName': (o) => str(get(o, 'spec', 'schedulerName')),
        'spec.serviceAccountName': (o) => str(get(o, 'spec', 'serviceAccountName')),
        'spec.hostNetwork': (o) => String(get(o, 'spec', 'hostNetwork') === true),
        'status.phase': (o) => str(get(o, 'status', 'phase')),
        'status.podIP': (o) => str(get(o, 'status', 'podIP')),
        'status.nominatedNodeName': (o) => str(get(o, 'status', 'nominatedNodeName')),
      },
      columns: [
        nameColumn,
        col('Ready', podReady),
        col('Status', (o) =>
          o.metadata.deletionTimestamp
            ? 'Terminating'
            : (get(o, 'status', 'reason') ?? get(o, 'status', 'phase')),
        ),
        col('Restarts', podRestarts, 0, 'integer'),
        ageColumn,
        col('IP', (o) => get(o, 'status', 'podIP') ?? '<none>', 1),
        col('Node', (o) => get(o, 'spec', 'nodeName') ?? '<none>', 1),
      ],
      hooks: podHooks,
    }),
    makeInfo({ plural: 'bindings', kind: 'Binding', namespaced: true, verbs: ['create'] }),
    makeInfo({
      plural: 'nodes',
      kind: 'Node',
      namespaced: false,
      shortNames: ['no'],
      statusSubresource: true,
      fieldLabels: { 'spec.unschedulable': (o) => String(get(o, 'spec', 'unschedulable') === true) },
      columns: [
        nameColumn,
        col('Status', nodeStatus),
        col('Roles', nodeRoles),
        ageColumn,
        col('Version', (o) => get(o, 'status', 'nodeInfo', 'kubeletVersion') ?? ''),
        col(
          'Internal-IP',
          (o) => {
            const addrs = get(o, 'status', 'addresses');
            const a = Array.isArray(addrs) ? addrs.find((x) => get(x, 'type') === 'InternalIP') : undefined;
            return get(a, 'address') ?? '<none>';
          },
          1,
        ),
      ],
    }),
    makeInfo({
      plural: 'services',
      kind: 'Service',
      namespaced: true,
      shortNames: ['svc'],
      categories: ['all'],
      statusSubresource: true,
      nameValidator: dns1035Label,
      columns: [
        nameColumn,
        col('Type', (o) => get(o, 'spec', 'type')),
        col('Cluster-IP', (o) => get(o, 'spec', 'clusterIP') ?? '<none>'),
        col('External-IP', (o) => {
          const ing = get(o, 'status', 'loadBalancer', 'ingress');
          return Array.isArray(ing) && ing.length ? ing.map((i) => get(i, 'ip')).join(',') : '<none>';
        }),
        col('Port(s)', servicePorts),
        ageColumn,
        col(
          'Selector',
          (o) => {
            const sel = get(o, 'spec', 'selector');
            return isRecord(sel)
              ? Object.entries(sel)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(',') || '<none>'
              : '<none>';
          },
          1,
        ),
      ],
      hooks: serviceHooks(serviceIPs),
    }),
    makeInfo({
      plural: 'endpoints',
      kind: 'Endpoints',
      namespaced: true,
      shortNames: ['ep'],
      columns: [nameColumn, col('Endpoints', endpointsList), ageColumn],
    }),
    makeInfo({
      plural: 'events',
      kind: 'Event',
      namespaced: true,
      shortNames: ['ev'],
      fieldLabels: {
        'involvedObject.kind': (o) => str(get(o, 'involvedObject', 'kind')),
        'involvedObject.name': (o) => str(get(o, 'involvedObject', 'name')),
        'involvedObject.namespace': (o) => str(get(o, 'involvedObject', 'namespace')),
        'involvedObject.uid': (o) => str(get(o, 'involvedObject', 'uid')),
        reason: (o) => str(o.reason),
        type: (o) => str(o.type),
        'source.component': (o) => str(get(o, 'source', 'component')),
      },
      columns: [
        col('Last Seen', (o) => humanAge(o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp)),
        col('Type', (o) => o.type),
        col('Reason', (o) => o.reason),
        col(
          'Object',
          (o) =>
            `${String(get(o, 'involvedObject', 'kind')).toLowerCase()}/${get(o, 'involvedObject', 'name')}`,
        ),
        col('Message', (o) => o.message),
      ],
    }),
    makeInfo({ plural: 'configmaps', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] }),
    makeInfo({
      plural: 'secrets',
      kind: 'Secret',
      namespaced: true,
      fieldLabels: { type: (o) => str(o.type) },
    }),
    makeInfo({ plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'] }),
    makeInfo({
      group: 'coordination.k8s.io',
      plural: 'leases',
      kind: 'Lease',
      namespaced: true,
      nameValidator: pathSegmentName,
      columns: [nameColumn, col('Holder', (o) => get(o, 'spec', 'holderIdentity') ?? ''), ageColumn],
    }),
    makeInfo({
      group: 'discovery.k8s.io',
      plural: 'endpointslices',
      kind: 'EndpointSlice',
      namespaced: true,
    }),
    makeInfo({
      group: 'apps',
      plural: 'statefulsets',
      kind: 'StatefulSet',
      namespaced: true,
      shortNames: ['sts'],
      generation: true,
    }),
    makeInfo({
      group: 'networking.k8s.io',
      plural: 'networkpolicies',
      kind: 'NetworkPolicy',
      namespaced: true,
      shortNames: ['netpol'],
      generation: true,
    }),
  ];
}
