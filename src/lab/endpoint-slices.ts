// The lab's stand-in for kube-controller-manager's EndpointSlice controller (the lab runs none): for every
// Service with a selector, the pods it selects that have an IPv4 address become the endpoints of its
// EndpointSlices, with conditions.ready from the pod's Ready condition. Pods whose named target ports resolve
// to the same numbers share a slice, as upstream does; the slices carry the Service as controller owner and
// the labels kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by. Not done: IPv6 and
// dual-stack slices, the 100-endpoint split, topology hints.
import { createHash } from 'node:crypto';
import {
  ApiException,
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1EndpointSlice,
  type V1Pod,
  type V1Service,
  type V1ServicePort,
} from '@kubernetes/client-node';
import type { Logger } from '../controller/deps.ts';
import { ApiHealth } from '../controller/k8s/api-health.ts';
import { keyOf, ResourceCache } from '../controller/k8s/informer.ts';
import { WorkQueue } from '../controller/queue.ts';
import { kubeConfigOf } from './kubelet.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
/** The value kube-controller-manager writes, so consumers that filter on it see the same thing. */
export const MANAGED_BY = 'endpointslice-controller.k8s.io';

export interface EndpointSlicesOptions {
  /** A KubeConfig, or the path of a kubeconfig file. */
  kube: KubeConfig | string;
  log?: Logger;
  /** Shared by the process's watches; failed syncs are retried at once when the API server is back. */
  health?: ApiHealth;
}

export interface EndpointSliceController {
  /** Resolves once the caches are synced and every Service had a first pass. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

const silent: Logger = { info() {}, warn() {}, error() {}, debug() {} };

export function startEndpointSlices(opts: EndpointSlicesOptions): EndpointSliceController {
  const c = new LabEndpointSlices(opts);
  const ready = c.start();
  ready.catch(() => undefined); // seen through `ready`; never unhandled
  return { ready, stop: () => c.stop() };
}

type SlicePort = { name: string; port: number; protocol: string };
type Endpoint = NonNullable<V1EndpointSlice['endpoints']>[number];

function selects(svc: V1Service, pod: V1Pod): boolean {
  const selector = svc.spec?.selector;
  if (!selector || Object.keys(selector).length === 0) return false;
  const labels = pod.metadata?.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The pod's number for a Service port, or undefined when a named target port is not one of its ports. */
function resolvePort(port: V1ServicePort, pod: V1Pod): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec?.containers ?? [])
    for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  return undefined;
}

function isReady(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function ipv4Of(pod: V1Pod): string | undefined {
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip).concat(pod.status?.podIP ? [pod.status.podIP] : []);
  return ips.find((ip) => ip && !ip.includes(':'));
}

/** The slices a Service should have, by name: endpoints grouped by their resolved ports. */
export function desiredSlices(svc: V1Service, pods: readonly V1Pod[]): Map<string, V1EndpointSlice> {
  const md = svc.metadata!;
  const groups = new Map<string, { ports: SlicePort[]; endpoints: Endpoint[] }>();
  for (const pod of pods) {
    const ip = ipv4Of(pod);
    const phase = pod.status?.phase;
    if (!ip || !selects(svc, pod) || phase === 'Succeeded' || phase === 'Failed') continue;
    const ports: SlicePort[] = [];
    for (const p of svc.spec?.ports ?? []) {
      const port = resolvePort(p, pod);
      if (port !== undefined) ports.push({ name: p.name ?? '', port, protocol: p.protocol ?? 'TCP' });
    }
    const sig = JSON.stringify(ports);
    const g = groups.get(sig) ?? { ports, endpoints: [] };
    const ready = isReady(pod);
    g.endpoints.push({
      addresses: [ip],
      conditions: { ready, serving: ready, terminating: Boolean(pod.metadata?.deletionTimestamp) },
      nodeName: pod.spec?.nodeName,
      targetRef: {
        kind: 'Pod',
        namespace: pod.metadata!.namespace,
        name: pod.metadata!.name,
        uid: pod.metadata!.uid,
      },
    });
    groups.set(sig, g);
  }
  const out = new Map<string, V1EndpointSlice>();
  for (const [sig, g] of groups) {
    const name = `${md.name}-${createHash('sha256').update(sig).digest('hex').slice(0, 5)}`;
    g.endpoints.sort((a, b) => (a.addresses[0]! < b.addresses[0]! ? -1 : 1));
    out.set(name, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name,
        namespace: md.namespace,
        labels: { [SERVICE_NAME_LABEL]: md.name!, [MANAGED_BY_LABEL]: MANAGED_BY },
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'Service',
            name: md.name!,
            uid: md.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      addressType: 'IPv4',
      ports: g.ports,
      endpoints: g.endpoints,
    });
  }
  return out;
}

/** Whether a stored slice already says what the desired one does. */
function sameSlice(have: V1EndpointSlice, want: V1EndpointSlice): boolean {
  const norm = (s: V1EndpointSlice) =>
    JSON.stringify({
      labels: s.metadata?.labels,
      ports: (s.ports ?? []).map((p) => ({
        name: p.name ?? '',
        port: p.port,
        protocol: p.protocol ?? 'TCP',
      })),
      endpoints: (s.endpoints ?? []).map((e) => ({
        addresses: e.addresses,
        conditions: {
          ready: e.conditions?.ready,
          serving: e.conditions?.serving,
          terminating: e.conditions?.terminating,
        },
        nodeName: e.nodeName,
        targetRef: {
          kind: e.targetRef?.kind,
          namespace: e.targetRef?.namespace,
          name: e.targetRef?.name,
          uid: e.targetRef?.uid,
        },
      })),
    });
  return norm(have) === norm(want);
}

class LabEndpointSlices {
  private readonly log: Logger;
  private readonly discovery: DiscoveryV1Api;
  private readonly services: ResourceCache<V1Service>;
  private readonly pods: ResourceCache<V1Pod>;
  private readonly slices: ResourceCache<V1EndpointSlice>;
  private readonly queue = new WorkQueue({
    workers: 2,
    baseDelayMs: 100,
    maxDelayMs: 5_000,
    maxAttempts: Number.POSITIVE_INFINITY,
    reconcile: (key) => this.sync(key),
  });
  private cachesStarted: Promise<unknown> | undefined;

  constructor(opts: EndpointSlicesOptions) {
    this.log = opts.log ?? silent;
    const kc = kubeConfigOf(opts.kube);
    const core = kc.makeApiClient(CoreV1Api);
    this.discovery = kc.makeApiClient(DiscoveryV1Api);
    const health = opts.health ?? new ApiHealth(this.log);
    health.onRecovered(() => this.queue.retryFailedNow());
    this.services = new ResourceCache<V1Service>(
      kc,
      '/api/v1/services',
      () => core.listServiceForAllNamespaces(),
      (key) => this.queue.add(key),
      { health },
    );
    // a pod's labels, address or readiness may change what any Service of its namespace selects
    this.pods = new ResourceCache<V1Pod>(
      kc,
      '/api/v1/pods',
      () => core.listPodForAllNamespaces(),
      (key) => {
        const ns = key.split('/')[0];
        for (const s of this.services.list(ns)) this.queue.add(keyOf(s));
      },
      { health },
    );
    // a slice changed or removed by someone else is put back
    this.slices = new ResourceCache<V1EndpointSlice>(
      kc,
      '/apis/discovery.k8s.io/v1/endpointslices',
      () => this.discovery.listEndpointSliceForAllNamespaces(),
      (key) => {
        const [ns, name] = key.split('/');
        const svc = this.sliceService(ns!, name!);
        if (svc) this.queue.add(`${ns}/${svc}`);
      },
      { health },
    );
  }

  /** The Service a slice of ours belongs to, from the cache or, once deleted, from its name. */
  private sliceService(ns: string, name: string): string | undefined {
    const s = this.slices.get(`${ns}/${name}`);
    if (s)
      return s.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY
        ? s.metadata.labels[SERVICE_NAME_LABEL]
        : undefined;
    const svc = name.replace(/-[0-9a-f]{5}$/, '');
    return svc !== name ? svc : undefined;
  }

  async start(): Promise<void> {
    this.cachesStarted = Promise.all([this.services.start(), this.pods.start(), this.slices.start()]);
    await this.cachesStarted;
    for (const s of this.services.list()) this.queue.add(keyOf(s));
    await this.queue.idle();
  }

  async stop(): Promise<void> {
    await this.cachesStarted?.catch(() => undefined);
    await Promise.all([this.services.stop(), this.pods.stop(), this.slices.stop()]);
    await this.queue.shutdown();
  }

  private async sync(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const svc = this.services.get(key);
    const want =
      svc && !svc.metadata?.deletionTimestamp && svc.spec?.selector
        ? desiredSlices(svc, this.pods.list(namespace))
        : new Map<string, V1EndpointSlice>();
    const ours = this.slices
      .list(namespace)
      .filter(
        (s) =>
          s.metadata?.labels?.[SERVICE_NAME_LABEL] === name &&
          s.metadata.labels[MANAGED_BY_LABEL] === MANAGED_BY,
      );
    for (const [sliceName, slice] of want) {
      const have = ours.find((s) => s.metadata?.name === sliceName);
      if (!have) {
        await this.ignore409(() => this.discovery.createNamespacedEndpointSlice({ namespace, body: slice }));
      } else if (!sameSlice(have, slice)) {
        slice.metadata!.resourceVersion = have.metadata?.resourceVersion;
        await this.discovery.replaceNamespacedEndpointSlice({ name: sliceName, namespace, body: slice });
      } else continue;
      this.log.debug({ service: key, slice: sliceName, endpoints: slice.endpoints?.length }, 'endpointslice');
    }
    for (const s of ours) {
      if (want.has(s.metadata!.name!)) continue;
      await this.ignore404(() =>
        this.discovery.deleteNamespacedEndpointSlice({ name: s.metadata!.name!, namespace }),
      );
    }
  }

  private async ignore409(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (e) {
      // made already (the cache had not seen it yet): the slice's watch event brings the Service back
      if (!(e instanceof ApiException && e.code === 409)) throw e;
    }
  }

  private async ignore404(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) throw e;
    }
  }
}
