// The pods a chaos run keeps busy: long-lived pods pinging each other the whole time, a churn of pods
// created and deleted continuously, and one probe pod per fault whose time to ready-and-reachable is the
// "new pods work again" figure. Every API call tolerates the API server being away (it is one of the faults).

import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { execa } from 'execa';
import type { Cluster } from '../lab/cluster.ts';
import { podNetnsName } from '../lab/pod-sandboxes.ts';
import { podState } from './snapshot.ts';

export const NAMESPACE = 'chaos';

export interface ReadyPod {
  name: string;
  node: string;
  ip: string;
  netns: string;
}

export class Workload {
  readonly core: CoreV1Api;
  /** Churn figures: pods created and deleted, API calls that failed (and were retried later). */
  readonly churn = { created: 0, deleted: 0, apiErrors: 0 };
  private churnTimer: NodeJS.Timeout | undefined;
  private churnSeq = 0;
  private readonly churnPods: { name: string; at: number }[] = [];

  constructor(
    private readonly cluster: Cluster,
    kc: KubeConfig,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  get nodes(): string[] {
    return this.cluster.manifest.nodes.map((n) => n.name);
  }

  netnsOf(name: string, node: string): string {
    const prefix = this.cluster.manifest.nodes.find((n) => n.name === node)!.podNetnsPrefix;
    return podNetnsName(prefix, NAMESPACE, name);
  }

  async createNamespace(): Promise<void> {
    await this.core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  }

  async createPod(name: string, node: string, labels: Record<string, string> = {}): Promise<void> {
    const body: V1Pod = {
      metadata: { name, namespace: NAMESPACE, labels },
      spec: { nodeName: node, containers: [{ name: 'c', image: 'pause' }] },
    };
    await this.core.createNamespacedPod({ namespace: NAMESPACE, body });
  }

  /** The pod once it is Ready with an address; undefined while it is not (or the API is away). */
  async readyPod(name: string): Promise<ReadyPod | undefined> {
    try {
      const p = await this.core.readNamespacedPod({ name, namespace: NAMESPACE });
      const s = podState(p);
      if (!s.ready || !s.node) return undefined;
      return { name, node: s.node, ip: p.status!.podIP!, netns: this.netnsOf(name, s.node) };
    } catch {
      return undefined;
    }
  }

  async waitReady(name: string, timeoutMs: number): Promise<ReadyPod | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const p = await this.readyPod(name);
      if (p) return p;
      await sleep(100);
    }
    return undefined;
  }

  /** One ping from a pod's namespace; true on a reply within a second. */
  async reaches(fromNetns: string, ip: string): Promise<boolean> {
    const r = await execa('ip', ['netns', 'exec', fromNetns, 'ping', '-c', '1', '-W', '1', '-q', ip], {
      reject: false,
    });
    return r.exitCode === 0;
  }

  /**
   * Creates a pod on the node and resolves with the time (ms since the epoch) at which it was Ready and
   * answered a ping from `from`; undefined if that did not happen within timeoutMs. Creation is retried
   * while the API server is away.
   */
  async probe(name: string, node: string, from: ReadyPod, timeoutMs: number): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        await this.createPod(name, node, { role: 'probe' });
        break;
      } catch (e) {
        if (isConflict(e)) break; // an earlier attempt got through before its answer was lost
        await sleep(200);
      }
    }
    while (Date.now() < deadline) {
      const p = await this.readyPod(name);
      if (p && (await this.reaches(from.netns, p.ip))) return Date.now();
      await sleep(100);
    }
    return undefined;
  }

  async deletePod(name: string): Promise<boolean> {
    try {
      await this.core.deleteNamespacedPod({ name, namespace: NAMESPACE });
      return true;
    } catch (e) {
      return isNotFound(e);
    }
  }

  /**
   * Starts the churn: a pod every periodMs on the nodes in turn; pods older than lifetimeMs are deleted.
   * Failed calls are counted and retried on the next tick.
   */
  startChurn(periodMs: number, lifetimeMs: number): void {
    const tick = async () => {
      const node = this.nodes[this.churnSeq % this.nodes.length]!;
      const name = `churn-${this.churnSeq}`;
      try {
        await this.createPod(name, node, { role: 'churn' });
        this.churnPods.push({ name, at: Date.now() });
        this.churn.created++;
        this.churnSeq++;
      } catch (e) {
        this.churn.apiErrors++;
        if (isConflict(e)) this.churnSeq++; // created after all; it is picked up by the final cleanup
      }
      const now = Date.now();
      while (this.churnPods.length > 0 && now - this.churnPods[0]!.at > lifetimeMs) {
        const old = this.churnPods[0]!;
        if (!(await this.deletePod(old.name))) {
          this.churn.apiErrors++;
          break;
        }
        this.churnPods.shift();
        this.churn.deleted++;
      }
    };
    let running = false;
    this.churnTimer = setInterval(() => {
      if (running) return; // a slow API (during a fault) must not pile up ticks
      running = true;
      tick().finally(() => (running = false));
    }, periodMs);
  }

  stopChurn(): void {
    clearInterval(this.churnTimer);
  }

  /** Names of every pod in the chaos namespace with the label role=<role>. */
  async podsWithRole(role: string): Promise<string[]> {
    const list = await this.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `role=${role}` });
    return list.items.map((p) => p.metadata!.name!);
  }
}

function status(e: unknown): number | undefined {
  return (e as { code?: number }).code;
}
const isConflict = (e: unknown) => status(e) === 409;
const isNotFound = (e: unknown) => status(e) === 404;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
