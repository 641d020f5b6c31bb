// A minimal scheduler for the lab: binds every pod that has no spec.nodeName (and asks for this scheduler)
// to the Ready, schedulable node whose labels match its nodeSelector and that runs the fewest pods; ties go
// round-robin. Binding goes through the pods/binding subresource, as kube-scheduler does. Not considered:
// taints and tolerations, affinity, topology spread, resource requests.
import { ApiException, CoreV1Api, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../controller/deps.ts';
import { ApiHealth } from '../controller/k8s/api-health.ts';
import { keyOf, ResourceCache } from '../controller/k8s/informer.ts';
import { WorkQueue } from '../controller/queue.ts';
import { EventRecorder } from './event-recorder.ts';
import { kubeConfigOf } from './kubelet.ts';

export interface SchedulerOptions {
  /** A KubeConfig, or the path of a kubeconfig file. */
  kube: KubeConfig | string;
  /** Only these nodes are candidates (default: every node). */
  nodes?: string[];
  /** Pods whose spec.schedulerName is this one (or unset) are ours (default `default-scheduler`). */
  schedulerName?: string;
  log?: Logger;
  /** Shared by the process's watches; failed bindings are retried at once when the API server is back. */
  health?: ApiHealth;
}

export interface Scheduler {
  /** Resolves once both caches are synced and the pods pending at start had a first try. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

const silent: Logger = { info() {}, warn() {}, error() {}, debug() {} };

export function startScheduler(opts: SchedulerOptions): Scheduler {
  const s = new LabScheduler(opts);
  const ready = s.start();
  ready.catch(() => undefined); // seen through `ready`; never unhandled
  return { ready, stop: () => s.stop() };
}

function isReady(node: V1Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function selects(pod: V1Pod, node: V1Node): boolean {
  const labels = node.metadata?.labels ?? {};
  return Object.entries(pod.spec?.nodeSelector ?? {}).every(([k, v]) => labels[k] === v);
}

class LabScheduler {
  private readonly log: Logger;
  private readonly core: CoreV1Api;
  private readonly events: EventRecorder;
  private readonly pods: ResourceCache<V1Pod>;
  private readonly nodes: ResourceCache<V1Node>;
  // one worker: every decision sees the bindings made before it
  private readonly queue = new WorkQueue({
    workers: 1,
    baseDelayMs: 200,
    maxDelayMs: 10_000,
    maxAttempts: Number.POSITIVE_INFINITY,
    reconcile: (key) => this.schedule(key),
  });
  /** Bound by us but not yet seen bound in the cache: counted on their node meanwhile. */
  private readonly assumed = new Map<string, string>();
  /** UIDs already told they fit nowhere (one FailedScheduling Event each until they are bound). */
  private readonly reportedUnschedulable = new Set<string>();
  private next = 0;
  private cachesStarted: Promise<unknown> | undefined;
  private readonly schedulerName: string;

  constructor(private readonly opts: SchedulerOptions) {
    this.log = opts.log ?? silent;
    const kc = kubeConfigOf(opts.kube);
    this.core = kc.makeApiClient(CoreV1Api);
    this.events = new EventRecorder(this.core, { component: 'default-scheduler' });
    this.schedulerName = opts.schedulerName ?? 'default-scheduler';
    const health = opts.health ?? new ApiHealth(this.log);
    health.onRecovered(() => this.queue.retryFailedNow());
    this.pods = new ResourceCache<V1Pod>(
      kc,
      '/api/v1/pods',
      () => this.core.listPodForAllNamespaces(),
      (key) => this.podChanged(key),
      { health },
    );
    // a node that comes, goes or changes readiness may fit pods that fitted nowhere
    this.nodes = new ResourceCache<V1Node>(
      kc,
      '/api/v1/nodes',
      () => this.core.listNode(),
      () => this.requeuePending(),
      { health },
    );
  }

  async start(): Promise<void> {
    this.cachesStarted = Promise.all([this.pods.start(), this.nodes.start()]);
    await this.cachesStarted;
    this.requeuePending();
    await this.queue.idle();
  }

  async stop(): Promise<void> {
    // a watch still being set up would outlive a stop() that came first
    await this.cachesStarted?.catch(() => undefined);
    await Promise.all([this.pods.stop(), this.nodes.stop()]);
    await this.queue.shutdown();
  }

  private isPending(pod: V1Pod): boolean {
    return (
      !pod.spec?.nodeName &&
      !pod.metadata?.deletionTimestamp &&
      (pod.spec?.schedulerName ?? 'default-scheduler') === this.schedulerName
    );
  }

  private podChanged(key: string): void {
    const pod = this.pods.get(key);
    if (!pod || pod.spec?.nodeName) this.assumed.delete(key);
    if (pod && this.isPending(pod)) this.queue.add(key);
  }

  private requeuePending(): void {
    for (const p of this.pods.list()) if (this.isPending(p)) this.queue.add(keyOf(p));
  }

  private candidates(pod: V1Pod): V1Node[] {
    const allowed = this.opts.nodes ? new Set(this.opts.nodes) : undefined;
    return this.nodes
      .list()
      .filter(
        (n) => (!allowed || allowed.has(n.metadata?.name ?? '')) && isReady(n) && !n.spec?.unschedulable,
      )
      .filter((n) => selects(pod, n))
      .sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
  }

  private podCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    const bump = (node: string) => counts.set(node, (counts.get(node) ?? 0) + 1);
    for (const p of this.pods.list()) {
      const node = p.spec?.nodeName;
      if (node && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed') bump(node);
    }
    for (const node of this.assumed.values()) bump(node);
    return counts;
  }

  private async schedule(key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (!pod || !this.isPending(pod) || this.assumed.has(key)) return;
    const md = pod.metadata!;
    const nodes = this.candidates(pod);
    if (nodes.length === 0) {
      if (md.uid && !this.reportedUnschedulable.has(md.uid)) {
        this.reportedUnschedulable.add(md.uid);
        const total = this.nodes.list().length;
        await this.events.record(
          { kind: 'Pod', apiVersion: 'v1', name: md.name!, namespace: md.namespace, uid: md.uid },
          'Warning',
          'FailedScheduling',
          `0/${total} nodes are available: no Ready, schedulable node matches the pod.`,
        );
      }
      return; // a node change brings it back
    }
    const counts = this.podCounts();
    const fewest = Math.min(...nodes.map((n) => counts.get(n.metadata!.name!) ?? 0));
    const best = nodes.filter((n) => (counts.get(n.metadata!.name!) ?? 0) === fewest);
    const node = best[this.next++ % best.length]!.metadata!.name!;
    try {
      await this.core.createNamespacedPodBinding({
        name: md.name!,
        namespace: md.namespace!,
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: md.name!, namespace: md.namespace!, uid: md.uid },
          target: { apiVersion: 'v1', kind: 'Node', name: node },
        },
      });
    } catch (e) {
      // gone, or bound by someone else meanwhile: the cache will tell
      if (e instanceof ApiException && (e.code === 404 || e.code === 409)) return;
      throw e;
    }
    // the watch may have shown the binding already, before this reply: then there is nothing to assume
    if (!this.pods.get(key)?.spec?.nodeName) this.assumed.set(key, node);
    if (md.uid) this.reportedUnschedulable.delete(md.uid);
    this.log.info({ pod: key, node }, 'pod bound');
    await this.events.record(
      { kind: 'Pod', apiVersion: 'v1', name: md.name!, namespace: md.namespace, uid: md.uid },
      'Normal',
      'Scheduled',
      `Successfully assigned ${key} to ${node}`,
    );
  }
}
