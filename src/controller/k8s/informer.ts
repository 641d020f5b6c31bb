// A watch-backed cache of one resource that does not give up: client-node's informer re-lists on 410 but
// stops on any other error, so it is restarted here after a short pause. Every add, update and delete
// reaches `onChange` with the object's key ("name" or "namespace/name"), for a work queue; optionally not
// the updates that change only an object's status (the controller's own status writes).
import {
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  type ObjectCache,
  Watch,
} from '@kubernetes/client-node';

export function keyOf(o: KubernetesObject): string {
  const m = o.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name}` : (m.name ?? '');
}

export class ResourceCache<T extends KubernetesObject> {
  private informer: (Informer<T> & ObjectCache<T>) | undefined;
  private stopped = false;
  private synced: Promise<void> | undefined;

  constructor(
    private readonly kc: KubeConfig,
    private readonly path: string,
    private readonly listFn: () => Promise<KubernetesListObject<T>>,
    private readonly onChange: (key: string) => void,
    private readonly opts: {
      fieldSelector?: string;
      restartDelayMs?: number;
      /**
       * Updates that change nothing but status (and resourceVersion) do not reach onChange. For objects
       * whose status the controller writes itself: at 100 subnets, every status write re-ran the subnet's
       * whole reconcile and what it fans out to.
       */
      quietStatus?: boolean;
    } = {},
  ) {}

  /** Per key, the object as onChange last saw it without its status (quietStatus only). */
  private readonly seen = new Map<string, string>();

  private changed(ev: 'add' | 'update' | 'delete', o: T): boolean {
    if (!this.opts.quietStatus) return true;
    const key = keyOf(o);
    if (ev === 'delete') {
      this.seen.delete(key);
      return true;
    }
    const { status: _status, metadata, ...rest } = o as T & { status?: unknown };
    const { resourceVersion: _rv, managedFields: _mf, ...meta } = metadata ?? {};
    const print = JSON.stringify([meta, rest]);
    if (ev === 'update' && this.seen.get(key) === print) return false;
    this.seen.set(key, print);
    return true;
  }

  /** Starts watching; resolves after the initial list is in the cache. */
  start(): Promise<void> {
    // the field selector (e.g. spec.nodeName=<node>) must reach the watch too, not only the list
    const informer = new ListWatch<T>(
      this.path,
      new Watch(this.kc),
      this.listFn,
      false,
      undefined,
      this.opts.fieldSelector,
    );
    this.informer = informer;
    for (const ev of ['add', 'update', 'delete'] as const)
      informer.on(ev, (o: T) => {
        if (this.changed(ev, o)) this.onChange(keyOf(o));
      });
    informer.on('error', () => {
      if (this.stopped) return;
      setTimeout(() => {
        if (!this.stopped) informer.start().catch(() => undefined);
      }, this.opts.restartDelayMs ?? 500).unref();
    });
    this.synced ??= informer.start();
    return this.synced;
  }

  get(key: string): T | undefined {
    const i = key.indexOf('/');
    return i < 0 ? this.informer?.get(key) : this.informer?.get(key.slice(i + 1), key.slice(0, i));
  }

  list(namespace?: string): readonly T[] {
    return this.informer?.list(namespace) ?? [];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer?.stop();
  }
}
