// Kubernetes Events as client-go's recorder writes them for the lab's kubelet and scheduler: the same
// (object, type, reason, message) seen again bumps `count` and `lastTimestamp` on the existing Event instead
// of creating another one, so a pod retrying a failing sandbox shows one Event with a growing count.
import { ApiException, type CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface ObjectRef {
  kind: string;
  apiVersion: string;
  name: string;
  namespace?: string;
  uid?: string;
}

/** Events remembered for aggregation; older ones are forgotten (and a repeat then creates a new Event). */
const REMEMBERED = 4096;

export class EventRecorder {
  private readonly seen = new Map<string, { name: string; namespace: string; count: number }>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly source: { component: string; host?: string },
  ) {}

  /** Best effort, as in Kubernetes: a failure to record is returned as false, never thrown. */
  async record(
    obj: ObjectRef,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<boolean> {
    const namespace = obj.namespace ?? 'default';
    const key = JSON.stringify([obj.kind, namespace, obj.name, obj.uid, type, reason, message]);
    const now = new Date();
    const prev = this.seen.get(key);
    try {
      if (prev) {
        prev.count++;
        await this.core.patchNamespacedEvent(
          { name: prev.name, namespace, body: { count: prev.count, lastTimestamp: now.toISOString() } },
          mergePatch,
        );
        this.remember(key, prev);
        return true;
      }
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) return false;
      // the Event expired or was deleted: create it afresh
    }
    try {
      const created = await this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${obj.name}.`, namespace },
          involvedObject: {
            kind: obj.kind,
            apiVersion: obj.apiVersion,
            name: obj.name,
            namespace: obj.namespace,
            uid: obj.uid,
          },
          type,
          reason,
          message,
          source: this.source,
          reportingComponent: this.source.component,
          reportingInstance: this.source.host ?? '',
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
      this.remember(key, { name: created.metadata!.name!, namespace, count: 1 });
      return true;
    } catch {
      return false;
    }
  }

  private remember(key: string, v: { name: string; namespace: string; count: number }): void {
    this.seen.delete(key);
    this.seen.set(key, v);
    if (this.seen.size > REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
  }
}
