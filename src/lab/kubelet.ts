// A minimal kubelet for the lab: the pod-networking half of kubelet + containerd, so that a CNI conflist
// (the project's plugin, or any other) is driven exactly as a real node drives it.
// - Watches the pods bound to its node (fieldSelector spec.nodeName=<node>, as kubelet does).
// - For each pod: a network namespace `<prefix>-<ns>-<hash>` reachable as /var/run/netns/<name> (containerd
//   makes its cni-<uuid> namespaces the same way), CNI ADD with containerd's CNI_ARGS, then the pod's status
//   (Running, podIP(s), hostIP, Ready) through the status subresource. The plugins run inside the node's
//   network namespace, which plays the node's root namespace.
// - A failed ADD is undone at once (DEL, namespace removed, as containerd does when RunPodSandbox fails),
//   reported as a FailedCreatePodSandBox Event and retried with exponential backoff while the pod exists.
// - A deleted pod (or one with deletionTimestamp) gets DEL and its namespace removed; a terminating pod is
//   then deleted with grace period 0, which is how kubelet finishes a graceful deletion.
// - hostNetwork pods get no sandbox: they are set Running with the node's IP.
// - Restart-safe: sandboxes are recorded on disk before they are made (pod-sandboxes.ts). At start, namespaces
//   of its prefix without a record are removed, cached CNI attachments without a record are DEL'ed (CNI GC),
//   records without a pod are torn down, and pods Running in a complete sandbox are left alone (no new ADD).
// One pod's operations never overlap; different pods run in parallel, up to `workers` at a time.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
  type V1Pod,
  type V1PodCondition,
} from '@kubernetes/client-node';
import type { Logger } from '../controller/deps.ts';
import { ApiHealth } from '../controller/k8s/api-health.ts';
import { keyOf, ResourceCache } from '../controller/k8s/informer.ts';
import { reuseConnections } from '../controller/k8s/keepalive.ts';
import { WorkQueue } from '../controller/queue.ts';
import {
  type CniConfList,
  CniError,
  type CniExecConf,
  type CniResult,
  type CniRuntimeConf,
  cniAdd,
  cniDel,
  cniGc,
  loadConfList,
} from './cni-runtime.ts';
import { EventRecorder } from './event-recorder.ts';
import { attachmentsOf } from './multus.ts';
import { addNetns, delNetns, listNetns } from './netns.ts';
import { isPodNetnsName, podKey, podNetnsName, type SandboxRecord, SandboxStore } from './pod-sandboxes.ts';

const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

export interface KubeletOptions {
  /** A KubeConfig, or the path of a kubeconfig file. */
  kube: KubeConfig | string;
  nodeName: string;
  /** The node's network namespace (e.g. ovnk-<id>-n1): the plugins run there. */
  nodeNetns: string;
  /** Pod namespaces are `<prefix>-<ns>-<hash>`; start it with `ovnk-` so the test leak check knows them. */
  podNetnsPrefix: string;
  /** Path of the CNI conflist. */
  cniConf: string;
  cniBinDirs: string[];
  /** Sandbox records (<cacheDir>/sandboxes) and the CNI result cache (<cacheDir>/cni). */
  cacheDir: string;
  /** Written as the Node's InternalIP, and the hostIP (and hostNetwork podIP) of its pods. */
  nodeIp?: string;
  log?: Logger;
  /** Shared by the process's watches; failed pods are retried at once when the API server is back. */
  health?: ApiHealth;
  /** Pods worked on at once (default 8). */
  workers?: number;
  /**
   * Retry delays of a failing pod: initialMs doubling up to maxMs. kubelet retries a pod whose sync failed
   * after 10 s; the lab's defaults (1 s up to 60 s) are quicker.
   */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Per CNI plugin invocation (default 120 s). */
  cniTimeoutMs?: number;
  /** Interface name inside the pod (default eth0). */
  ifName?: string;
}

export interface Kubelet {
  /** Resolves once the node is registered, leftovers are cleaned and every known pod had a first sync. */
  readonly ready: Promise<void>;
  /** Stops watching and waits for operations in flight; pods and their sandboxes are left as they are. */
  stop(): Promise<void>;
}

const silent: Logger = { info() {}, warn() {}, error() {}, debug() {} };

export function kubeConfigOf(kube: KubeConfig | string): KubeConfig {
  const kc = new KubeConfig();
  // a private copy: the keep-alive patch below must not change the caller's object
  if (typeof kube === 'string') kc.loadFromFile(kube);
  else kc.loadFromString(kube.exportConfig());
  return reuseConnections(kc);
}

export function startKubelet(opts: KubeletOptions): Kubelet {
  const k = new LabKubelet(opts);
  const ready = k.start();
  ready.catch(() => undefined); // the caller sees the rejection through `ready`; never unhandled
  return { ready, stop: () => k.stop() };
}

function isTerminal(pod: V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** The pod's addresses from a CNI result: those on the sandbox's interfaces, IPv4 first (as containerd). */
function podIPsOf(result: CniResult): string[] {
  const ifaces = result.interfaces ?? [];
  const ips = (result.ips ?? [])
    .filter((ip) => ip.interface === undefined || ifaces[ip.interface]?.sandbox)
    .map((ip) => ip.address.split('/')[0]!);
  return [...ips.filter((a) => !a.includes(':')), ...ips.filter((a) => a.includes(':'))];
}

class LabKubelet {
  private readonly log: Logger;
  private readonly kc: KubeConfig;
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly events: EventRecorder;
  private readonly queue: WorkQueue;
  private readonly pods: ResourceCache<V1Pod>;
  private readonly ifName: string;
  private conf!: CniConfList;
  private sandboxes!: SandboxStore;
  private nodeIp: string | undefined;
  /** UIDs of terminating pods this kubelet already asked to delete with grace 0. */
  private readonly finalDeletes = new Set<string>();
  private stopped = false;
  private podsStarted: Promise<void> | undefined;

  constructor(private readonly opts: KubeletOptions) {
    this.log = opts.log ?? silent;
    this.kc = kubeConfigOf(opts.kube);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.custom = this.kc.makeApiClient(CustomObjectsApi);
    this.events = new EventRecorder(this.core, { component: 'kubelet', host: opts.nodeName });
    this.ifName = opts.ifName ?? 'eth0';
    this.nodeIp = opts.nodeIp;
    this.queue = new WorkQueue({
      workers: opts.workers ?? 8,
      baseDelayMs: opts.backoff?.initialMs ?? 1_000,
      maxDelayMs: opts.backoff?.maxMs ?? 60_000,
      maxAttempts: Number.POSITIVE_INFINITY,
      reconcile: (key, info) => this.sync(key, info.attempt),
    });
    // only this node's pods, as kubelet watches them
    const fieldSelector = `spec.nodeName=${opts.nodeName}`;
    const health = opts.health ?? new ApiHealth(this.log);
    this.pods = new ResourceCache<V1Pod>(
      this.kc,
      '/api/v1/pods',
      () => this.core.listPodForAllNamespaces({ fieldSelector }),
      (key) => this.queue.add(key),
      { fieldSelector, health },
    );
    // a status write or an ADD that failed while the API server was away is not left to its backoff
    health.onRecovered(() => this.queue.retryFailedNow());
  }

  async start(): Promise<void> {
    this.conf = loadConfList(this.opts.cniConf);
    // an API server that is away (restarting) is waited for, as kubelet keeps trying to register
    for (let delay = 250; !this.stopped; delay = Math.min(delay * 2, 5_000)) {
      try {
        await this.registerNode();
        break;
      } catch (e) {
        this.log.warn({ node: this.opts.nodeName, err: String(e), retryMs: delay }, 'node not registered');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    if (this.stopped) return;
    this.sandboxes = SandboxStore.load(join(this.opts.cacheDir, 'sandboxes'), (file, error) =>
      this.log.warn({ file, error: String(error) }, 'dropped an unreadable sandbox record'),
    );
    await this.removeOrphans();

    if (this.stopped) return;
    this.podsStarted = this.pods.start();
    await this.podsStarted;
    for (const r of this.sandboxes.all()) this.queue.add(podKey(r.namespace, r.name));
    for (const p of this.pods.list()) this.queue.add(keyOf(p));
    await this.queue.idle();
    this.log.info({ node: this.opts.nodeName, sandboxes: this.sandboxes.all().length }, 'kubelet ready');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // a watch still being set up would outlive a stop() that came first
    await this.podsStarted?.catch(() => undefined);
    await this.pods.stop();
    await this.queue.shutdown();
  }

  private exec(): CniExecConf {
    return {
      binDirs: this.opts.cniBinDirs,
      cacheDir: join(this.opts.cacheDir, 'cni'),
      execNetns: this.opts.nodeNetns,
      timeoutMs: this.opts.cniTimeoutMs ?? 120_000,
    };
  }

  private runtimeConf(r: SandboxRecord, netnsPath: string): CniRuntimeConf {
    return {
      ...this.exec(),
      containerId: r.containerId,
      netns: netnsPath,
      ifName: r.ifName,
      // what containerd's CRI plugin passes (toCNILabels), in a fixed order
      args: [
        ['IgnoreUnknown', '1'],
        ['K8S_POD_NAMESPACE', r.namespace],
        ['K8S_POD_NAME', r.name],
        ['K8S_POD_INFRA_CONTAINER_ID', r.containerId],
        ['K8S_POD_UID', r.uid],
      ],
    };
  }

  /** Creates the Node if it is missing, then posts Ready and, when known, its InternalIP. */
  private async registerNode(): Promise<void> {
    const name = this.opts.nodeName;
    let node: V1Node;
    try {
      node = await this.core.readNode({ name });
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) throw e;
      node = await this.core.createNode({
        body: {
          metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
        },
      });
    }
    this.nodeIp ??= node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    const now = new Date().toISOString();
    const previous = node.status?.conditions?.find((c) => c.type === 'Ready');
    const status: Record<string, unknown> = {
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'kubelet is posting ready status',
          lastHeartbeatTime: now,
          lastTransitionTime: previous?.status === 'True' ? previous.lastTransitionTime : now,
        },
      ],
    };
    if (this.opts.nodeIp) {
      status.addresses = [
        { type: 'InternalIP', address: this.opts.nodeIp },
        { type: 'Hostname', address: name },
      ];
    }
    await this.core.patchNodeStatus({ name, body: { status } }, strategicPatch);
  }

  /** What a crash can leave behind: CNI attachments and namespaces nobody recorded. */
  private async removeOrphans(): Promise<void> {
    // GC first, while the namespaces its DELs name are still there
    const valid = this.sandboxes.all().map((r) => ({ containerID: r.containerId, ifname: r.ifName }));
    try {
      await cniGc(this.conf, valid, this.exec());
    } catch (e) {
      // not fatal: stale attachments are retried at the next start
      this.log.warn({ error: String(e) }, 'CNI garbage collection failed');
    }
    const recorded = new Set(this.sandboxes.all().map((r) => r.netns));
    for (const ns of listNetns()) {
      if (!isPodNetnsName(this.opts.podNetnsPrefix, ns) || recorded.has(ns)) continue;
      this.log.info({ netns: ns }, 'removing a pod network namespace without a sandbox record');
      await delNetns(ns);
    }
  }

  /** Brings one pod's sandbox and status to what the pod asks for; a throw retries the pod with backoff. */
  private async sync(key: string, attempt: number): Promise<void> {
    const pod = this.pods.get(key);
    const wanted = pod && !pod.metadata?.deletionTimestamp && !isTerminal(pod) && !pod.spec?.hostNetwork;
    const existing = this.sandboxes.get(key);
    if (
      existing &&
      (!wanted ||
        existing.uid !== pod?.metadata?.uid ||
        !existing.ready ||
        !listNetns().includes(existing.netns))
    ) {
      await this.teardown(existing);
    }
    if (!pod) return;
    if (pod.metadata?.deletionTimestamp) {
      await this.finishDeletion(pod);
      return;
    }
    if (isTerminal(pod)) return;
    if (pod.spec?.hostNetwork) {
      await this.writeStatus(pod, this.nodeIp ? [this.nodeIp] : []);
      return;
    }
    const sandbox = this.sandboxes.get(key) ?? (await this.createSandbox(pod, attempt));
    await this.writeStatus(pod, sandbox.podIPs);
  }

  private async createSandbox(pod: V1Pod, attempt: number): Promise<SandboxRecord> {
    const md = pod.metadata!;
    const record: SandboxRecord = {
      namespace: md.namespace!,
      name: md.name!,
      uid: md.uid ?? '',
      containerId: randomBytes(32).toString('hex'),
      netns: podNetnsName(this.opts.podNetnsPrefix, md.namespace!, md.name!),
      ifName: this.ifName,
      ready: false,
      podIPs: [],
    };
    this.sandboxes.save(record); // first, so that a crash from here on leaves something to clean up
    const started = Date.now();
    try {
      await addNetns(record.netns);
      const netnsPath = `/var/run/netns/${record.netns}`;
      const result = await cniAdd(this.conf, this.runtimeConf(record, netnsPath));
      // secondary networks after the first interface, recorded so that teardown deletes them first
      record.attachments = [];
      for (const a of await attachmentsOf(this.custom, pod, this.conf)) {
        record.attachments.push(a);
        this.sandboxes.save(record);
        await cniAdd(a.conf, { ...this.runtimeConf(record, netnsPath), ifName: a.ifName });
      }
      record.ready = true;
      record.podIPs = podIPsOf(result);
      this.sandboxes.save(record);
      this.log.info(
        { pod: `${record.namespace}/${record.name}`, ips: record.podIPs, ms: Date.now() - started },
        'pod sandbox ready',
      );
      return record;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      const setup =
        e instanceof CniError ? `failed to setup network for sandbox "${record.containerId}": ${why}` : why;
      this.log.warn({ pod: `${record.namespace}/${record.name}`, attempt, error: setup }, 'sandbox failed');
      await this.events.record(
        { kind: 'Pod', apiVersion: 'v1', name: record.name, namespace: record.namespace, uid: md.uid },
        'Warning',
        'FailedCreatePodSandBox',
        // without the sandbox id, so that retries aggregate into one Event with a count, as kubelet's do
        `Failed to create pod sandbox: ${why}`,
      );
      // undo what the ADD may have done before failing; a teardown failure keeps the record for a retry
      await this.teardown(record).catch((te: unknown) =>
        this.log.warn(
          { pod: `${record.namespace}/${record.name}`, error: String(te) },
          'sandbox teardown failed',
        ),
      );
      throw e;
    }
  }

  /** DEL (with the cached result), then the namespace, then the record; safe to repeat. */
  private async teardown(r: SandboxRecord): Promise<void> {
    const present = listNetns().includes(r.netns);
    // containerd's second DEL (RemovePodSandbox) has no namespace any more: so does this one
    for (const a of [...(r.attachments ?? [])].reverse())
      await cniDel(a.conf, {
        ...this.runtimeConf(r, present ? `/var/run/netns/${r.netns}` : ''),
        ifName: a.ifName,
      });
    await cniDel(this.conf, this.runtimeConf(r, present ? `/var/run/netns/${r.netns}` : ''));
    await delNetns(r.netns);
    this.sandboxes.remove(r);
    this.log.info({ pod: `${r.namespace}/${r.name}`, netns: r.netns }, 'pod sandbox removed');
  }

  /** kubelet's last step of a graceful deletion: the pod's resources are gone, so delete it for good. */
  private async finishDeletion(pod: V1Pod): Promise<void> {
    const md = pod.metadata!;
    if (!md.uid || this.finalDeletes.has(md.uid)) return;
    try {
      await this.core.deleteNamespacedPod({
        name: md.name!,
        namespace: md.namespace!,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: md.uid } },
      });
    } catch (e) {
      if (!(e instanceof ApiException && (e.code === 404 || e.code === 409))) throw e;
    }
    this.finalDeletes.add(md.uid);
  }

  private async writeStatus(pod: V1Pod, ips: string[]): Promise<void> {
    const s = pod.status ?? {};
    const hostIP = this.nodeIp;
    const isReady = (s.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    const sameIPs = JSON.stringify((s.podIPs ?? []).map((p) => p.ip)) === JSON.stringify(ips);
    if (s.phase === 'Running' && isReady && sameIPs && s.hostIP === hostIP) return;
    const now = new Date();
    const condition = (type: string): V1PodCondition => ({ type, status: 'True', lastTransitionTime: now });
    const status: Record<string, unknown> = {
      phase: 'Running',
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady'].map(condition),
      startTime: s.startTime ?? now,
      containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
        name: c.name,
        image: c.image,
        imageID: '',
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: now } },
      })),
    };
    if (hostIP) Object.assign(status, { hostIP, hostIPs: [{ ip: hostIP }] });
    if (ips.length > 0) Object.assign(status, { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) });
    try {
      await this.core.patchNamespacedPodStatus(
        { name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, body: { status } },
        strategicPatch,
      );
    } catch (e) {
      // gone meanwhile: its delete event brings it back here for the teardown
      if (!(e instanceof ApiException && e.code === 404)) throw e;
    }
  }
}
