// The controller's Kubernetes writes, in one place: merge patches, finalizers, IP CRs and Events.
// Reads come from the informer caches; only writes go to the API server.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { type IpCr, KUBEOVN_GROUP, KUBEOVN_VERSION } from './k8s/types.ts';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export const FINALIZER = 'kubeovn.io/subnet-controller';

export function isNotFound(e: unknown): boolean {
  return e instanceof ApiException && e.code === 404;
}

export function isConflict(e: unknown): boolean {
  return e instanceof ApiException && e.code === 409;
}

/** A call made after the controller's leadership term ended: refused, so an old term writes nothing. */
export class TermEnded extends Error {
  readonly code = 'ERR_TERM_ENDED';
  constructor() {
    super('the leadership term has ended: no more Kubernetes calls');
    this.name = 'TermEnded';
  }
}

/** The API object with every method refusing to run once signal has aborted. */
function fenced<T extends object>(api: T, signal: AbortSignal | undefined): T {
  if (!signal) return api;
  return new Proxy(api, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (signal.aborted) return Promise.reject(new TermEnded());
        return v.apply(target, args);
      };
    },
  });
}

export class Kube {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;

  /** `signal`: the leadership term; once it aborts every call is refused (TermEnded). */
  constructor(kc: KubeConfig, signal?: AbortSignal) {
    this.core = fenced(kc.makeApiClient(CoreV1Api), signal);
    this.custom = fenced(kc.makeApiClient(CustomObjectsApi), signal);
  }

  private cr(plural: string, name: string) {
    return { group: KUBEOVN_GROUP, version: KUBEOVN_VERSION, plural, name };
  }

  /** Merge-patches the status of a cluster-scoped kubeovn.io object (subnets, ippools, vpcs). */
  async patchCrStatus(plural: string, name: string, status: Record<string, unknown>): Promise<void> {
    await this.custom.patchClusterCustomObjectStatus(
      { ...this.cr(plural, name), body: { status } },
      mergePatch,
    );
  }

  /** A cluster-scoped kubeovn.io object, or undefined when there is none. */
  async getCr<T>(plural: string, name: string): Promise<T | undefined> {
    try {
      return (await this.custom.getClusterCustomObject(this.cr(plural, name))) as T;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Creates a cluster-scoped kubeovn.io object; one that already exists is left as it is. */
  async createCr(plural: string, body: KubernetesObject): Promise<void> {
    try {
      await this.custom.createClusterCustomObject({
        group: KUBEOVN_GROUP,
        version: KUBEOVN_VERSION,
        plural,
        body,
      });
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
  }

  async patchSubnet(name: string, body: Record<string, unknown>): Promise<void> {
    await this.custom.patchClusterCustomObject({ ...this.cr('subnets', name), body }, mergePatch);
  }

  async patchPodAnnotations(
    namespace: string,
    name: string,
    annotations: Record<string, string | null>,
  ): Promise<void> {
    await this.core.patchNamespacedPod({ namespace, name, body: { metadata: { annotations } } }, mergePatch);
  }

  async patchNamespaceAnnotations(name: string, annotations: Record<string, string | null>): Promise<void> {
    await this.core.patchNamespace({ name, body: { metadata: { annotations } } }, mergePatch);
  }

  async patchNodeAnnotations(name: string, annotations: Record<string, string | null>): Promise<void> {
    await this.core.patchNode({ name, body: { metadata: { annotations } } }, mergePatch);
  }

  /**
   * Creates the IP CR, or replaces its spec when it differs; the CR is the durable record of an allocation.
   * `cached` (the informer's copy) saves the API calls when nothing changed.
   */
  async upsertIp(ip: IpCr, cached?: IpCr): Promise<void> {
    if (cached && JSON.stringify(cached.spec) === JSON.stringify(ip.spec)) return;
    const name = ip.metadata!.name!;
    try {
      await this.custom.createClusterCustomObject({ ...this.cr('ips', name), body: ip });
      return;
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
    const current = (await this.custom.getClusterCustomObject(this.cr('ips', name))) as IpCr;
    if (JSON.stringify(current.spec) === JSON.stringify(ip.spec)) return;
    await this.custom.patchClusterCustomObject(
      { ...this.cr('ips', name), body: { spec: ip.spec } },
      mergePatch,
    );
  }

  async deleteIp(name: string): Promise<void> {
    try {
      await this.custom.deleteClusterCustomObject(this.cr('ips', name));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** A Kubernetes Event on `obj` (namespaced objects get it in their namespace, others in default). */
  async event(
    obj: KubernetesObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const m = obj.metadata ?? {};
    const namespace = m.namespace ?? 'default';
    const now = new Date().toISOString();
    await this.core
      .createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${m.name}.`, namespace },
          involvedObject: {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            name: m.name,
            namespace: m.namespace,
            uid: m.uid,
          },
          type,
          reason,
          message,
          source: { component: 'ovnk-controller' },
          firstTimestamp: now as unknown as Date,
          lastTimestamp: now as unknown as Date,
          count: 1,
        },
      })
      .catch(() => undefined); // an Event is best effort: never fail a reconcile over it
  }

  /**
   * Adds or removes our finalizer on a cluster-scoped kubeovn.io object (subnets, vpcs) with a merge patch
   * of the whole list.
   */
  async setFinalizer(obj: KubernetesObject, present: boolean, plural = 'subnets'): Promise<void> {
    const list = obj.metadata?.finalizers ?? [];
    const has = list.includes(FINALIZER);
    if (has === present) return;
    const finalizers = present ? [...list, FINALIZER] : list.filter((f) => f !== FINALIZER);
    await this.custom.patchClusterCustomObject(
      { ...this.cr(plural, obj.metadata!.name!), body: { metadata: { finalizers } } },
      mergePatch,
    );
  }
}
