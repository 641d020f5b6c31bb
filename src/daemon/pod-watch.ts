// The pods of this node, watched (spec.nodeName=<node>), with waiters: a CNI ADD waits for the
// controller's annotations by being woken on the pod's next change, not by polling the API.
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { ApiHealth } from '../controller/k8s/api-health.ts';
import { ResourceCache } from '../controller/k8s/informer.ts';

interface Waiter {
  test: (pod: V1Pod | undefined) => boolean;
  wake: () => void;
}

export class PodWatch {
  private readonly cache: ResourceCache<V1Pod>;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly listeners = new Set<(key: string, pod: V1Pod | undefined) => void>();
  private readonly core: CoreV1Api;

  constructor(
    kc: KubeConfig,
    private readonly nodeName: string,
    health?: ApiHealth,
  ) {
    const core = kc.makeApiClient(CoreV1Api);
    this.core = core;
    const fieldSelector = `spec.nodeName=${nodeName}`;
    this.cache = new ResourceCache<V1Pod>(
      kc,
      '/api/v1/pods',
      () => core.listPodForAllNamespaces({ fieldSelector }),
      (key) => this.changed(key),
      { fieldSelector, health },
    );
  }

  start(): Promise<void> {
    return this.cache.start();
  }

  get(namespace: string, name: string): V1Pod | undefined {
    return this.cache.get(`${namespace}/${name}`);
  }

  list(): readonly V1Pod[] {
    return this.cache.list();
  }

  /**
   * Whether the API has the pod, bound to this node, right now: a GET, not the cache, which may lag. Throws
   * when the API cannot be asked.
   */
  async existsOnNode(namespace: string, name: string): Promise<boolean> {
    try {
      const pod = await this.core.readNamespacedPod({ name, namespace });
      return pod.spec?.nodeName === this.nodeName;
    } catch (e) {
      if ((e as { code?: number }).code === 404) return false;
      throw e;
    }
  }

  /**
   * Resolves with the pod once `ready(pod)` holds (at once if it already does); rejects with the last
   * state seen after timeoutMs.
   */
  waitFor(
    namespace: string,
    name: string,
    ready: (pod: V1Pod) => boolean,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<V1Pod> {
    const key = `${namespace}/${name}`;
    const now = this.cache.get(key);
    if (now && ready(now)) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const set = this.waiters.get(key) ?? new Set<Waiter>();
      this.waiters.set(key, set);
      const abandon = () => {
        done();
        reject(signal?.reason);
      };
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abandon);
        set.delete(waiter);
        if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
      };
      signal?.addEventListener('abort', abandon, { once: true });
      const waiter: Waiter = {
        test: (pod) => !!pod && ready(pod),
        wake: () => {
          done();
          resolve(this.cache.get(key)!);
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(new PodWaitTimeout(key, timeoutMs, this.cache.get(key)));
      }, timeoutMs);
      set.add(waiter);
    });
  }

  /** Calls `listener` with "<namespace>/<name>" and the pod (undefined once deleted) on every change. */
  onChange(listener: (key: string, pod: V1Pod | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(key: string): void {
    const pod = this.cache.get(key);
    for (const l of this.listeners) l(key, pod);
    const set = this.waiters.get(key);
    if (!set) return;
    for (const w of [...set]) if (w.test(pod)) w.wake();
  }

  stop(): Promise<void> {
    return this.cache.stop();
  }
}

export class PodWaitTimeout extends Error {
  constructor(
    readonly key: string,
    timeoutMs: number,
    readonly lastSeen: V1Pod | undefined,
  ) {
    super(
      lastSeen
        ? `pod ${key} has no address from the controller after ${timeoutMs} ms`
        : `pod ${key} not found on this node after ${timeoutMs} ms`,
    );
    this.name = 'PodWaitTimeout';
  }
}
