// A watch-backed cache of one resource that never gives up, after client-go's reflector. client-node's
// ListWatch is not used: its start() resolves even when the first list failed (an empty cache that looks
// synced), it stops on any error other than 410, and it has no backoff. Here:
// - start() resolves only once a list has filled the cache; until then it keeps retrying.
// - Every failure (API server away, 5xx, a stream that breaks) is retried with exponential backoff and
//   jitter, on a timer that keeps the process alive: a component whose API server is gone waits for it.
// - 410 Gone (history too old, e.g. a restarted API server) re-lists at once; the re-list is diffed with the
//   cache, so what changed or vanished meanwhile reaches onChange like any other change.
// - Watches carry a server-side timeout and a client-side deadline, so a hung server cannot hold one open.
// Every add, update and delete reaches `onChange` with the object's key ("name" or "namespace/name"), for a
// work queue; optionally not the updates that change only an object's status (the controller's own
// status writes).
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  Watch,
} from '@kubernetes/client-node';
import type { ApiHealth } from './api-health.ts';

export function keyOf(o: KubernetesObject): string {
  const m = o.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name}` : (m.name ?? '');
}

export interface ResourceCacheOptions {
  fieldSelector?: string;
  /**
   * Updates that change nothing but status (and resourceVersion) do not reach onChange. For objects
   * whose status the controller writes itself: at 100 subnets, every status write re-ran the subnet's
   * whole reconcile and what it fans out to.
   */
  quietStatus?: boolean;
  /** Retry delays: initialMs growing by 1.6 per failure up to maxMs (defaults 250 ms and 5 s), plus jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Where failures and recoveries are reported (one per process: see api-health.ts). */
  health?: ApiHealth;
  /** A list that has not answered after this long counts as failed (default 60 s). */
  listTimeoutMs?: number;
}

/** How one watch request ended. */
type WatchEnd = 'closed' | 'expired';

class Gone extends Error {}

export class ResourceCache<T extends KubernetesObject> {
  /** namespace ('' for cluster-scoped) -> name -> object. */
  private objects = new Map<string, Map<string, T>>();
  private resourceVersion = '';
  private stopped = false;
  private loop: Promise<void> | undefined;
  private synced: Promise<void> | undefined;
  private markSynced: (() => void) | undefined;
  private rejectSynced: ((e: Error) => void) | undefined;
  private hasSynced = false;
  /** Aborts the watch in flight, or ends the backoff sleep, when stop() is called. */
  private interrupt: (() => void) | undefined;
  /** Ends a backoff sleep early: another watch of this process has just reached the API server. */
  private wake: (() => void) | undefined;
  private readonly forgetHealth: () => void;
  private readonly watch: Watch;

  constructor(
    kc: KubeConfig,
    private readonly path: string,
    private readonly listFn: () => Promise<KubernetesListObject<T>>,
    private readonly onChange: (key: string) => void,
    private readonly opts: ResourceCacheOptions = {},
  ) {
    this.watch = new Watch(kc);
    this.forgetHealth = opts.health?.onRecovered(() => this.wake?.()) ?? (() => {});
  }

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

  private notify(ev: 'add' | 'update' | 'delete', o: T): void {
    if (this.changed(ev, o)) this.onChange(keyOf(o));
  }

  /**
   * Starts listing and watching; resolves once the first list is in the cache (retrying until it is).
   * Rejects only if stop() comes first.
   */
  start(): Promise<void> {
    if (!this.synced) {
      this.synced = new Promise<void>((resolve, reject) => {
        this.markSynced = resolve;
        this.rejectSynced = reject;
      });
      // a caller that stopped caring (stop() before the first list) must not see an unhandled rejection
      this.synced.catch(() => undefined);
    }
    this.loop ??= this.run();
    return this.synced;
  }

  /** Whether a list has filled the cache. */
  get isSynced(): boolean {
    return this.hasSynced;
  }

  get(key: string): T | undefined {
    const i = key.indexOf('/');
    return i < 0 ? this.objects.get('')?.get(key) : this.objects.get(key.slice(0, i))?.get(key.slice(i + 1));
  }

  list(namespace?: string): readonly T[] {
    if (namespace !== undefined && namespace !== '')
      return [...(this.objects.get(namespace)?.values() ?? [])];
    const out: T[] = [];
    for (const byName of this.objects.values()) out.push(...byName.values());
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.forgetHealth();
    this.interrupt?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const initial = this.opts.backoff?.initialMs ?? 250;
    const max = this.opts.backoff?.maxMs ?? 5_000;
    let delay = initial;
    let mustList = true;
    while (!this.stopped) {
      try {
        if (mustList) {
          await this.relist();
          mustList = false;
          this.opts.health?.reached(this.path);
        }
        if (this.stopped) break;
        const started = Date.now();
        const end = await this.watchOnce();
        if (end === 'expired') mustList = true;
        // a watch that ran a while was healthy: its end is the normal timeout, not a failure to back off
        if (end === 'expired' || Date.now() - started > 5_000) delay = initial;
        else {
          await this.sleep(delay);
          delay = Math.min(delay * 1.6, max);
        }
      } catch (e) {
        if (this.stopped) break;
        if (e instanceof Gone) {
          mustList = true;
          continue;
        }
        this.opts.health?.failed(this.path, e);
        // the API server back for a sibling watch is back for this one too: no need to sleep on
        const woken = await this.sleep(delay * (1 + Math.random() * 0.25), true);
        delay = woken ? initial : Math.min(delay * 1.6, max);
      }
    }
    if (!this.hasSynced)
      this.rejectSynced?.(new Error(`watch of ${this.path} stopped before its first list`));
  }

  /** Lists, replaces the cache with the result and reports what changed, vanished or appeared. */
  private async relist(): Promise<void> {
    const timeoutMs = this.opts.listTimeoutMs ?? 60_000;
    // a list cannot be aborted, but neither a hung server nor stop() waits for it
    const list = await new Promise<KubernetesListObject<T>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`list of ${this.path} timed out`)), timeoutMs);
      this.interrupt = () => {
        clearTimeout(timer);
        reject(new Error(`list of ${this.path} interrupted`));
      };
      this.listFn()
        .then(resolve, reject)
        .finally(() => clearTimeout(timer));
    });
    this.interrupt = undefined;
    if (this.stopped) return;
    const fresh = new Map<string, Map<string, T>>();
    for (const o of list.items ?? []) {
      namespaceOf(fresh, o).set(o.metadata?.name ?? '', o);
    }
    const old = this.objects;
    this.objects = fresh;
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    for (const [ns, byName] of old)
      for (const [name, o] of byName) if (!fresh.get(ns)?.has(name)) this.notify('delete', o);
    for (const [ns, byName] of fresh)
      for (const [name, o] of byName) {
        const before = old.get(ns)?.get(name);
        if (!before) this.notify('add', o);
        else if (before.metadata?.resourceVersion !== o.metadata?.resourceVersion) this.notify('update', o);
      }
    this.hasSynced = true;
    this.markSynced?.();
  }

  /**
   * One watch request from the cache's resourceVersion; resolves when the server ends it. Throws when it
   * cannot be made or breaks; Gone when the server no longer has the history it resumes from.
   */
  private watchOnce(): Promise<WatchEnd> {
    // client-go's reflector: a random server-side timeout of 5 to 10 minutes spreads re-watches out
    const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
    const query: Record<string, string | number | boolean> = {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds,
    };
    if (this.opts.fieldSelector !== undefined) query.fieldSelector = this.opts.fieldSelector;
    return new Promise<WatchEnd>((resolve, reject) => {
      if (this.stopped) return resolve('closed');
      let expired = false;
      let settled = false;
      let request: AbortController | undefined;
      let deadline: NodeJS.Timeout | undefined;
      const finish = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        this.interrupt = undefined;
        request?.abort();
        if (this.stopped) resolve('closed');
        else if (expired || isGone(err)) reject(new Gone());
        else if (err) reject(err);
        else resolve('closed');
      };
      // a server that stopped answering (SIGSTOP, a dead peer behind a live socket) ends here, not never
      deadline = setTimeout(() => finish(undefined), (timeoutSeconds + 30) * 1000);
      this.interrupt = () => finish(undefined);
      const onEvent = (type: string, obj: T & { code?: number }) => {
        if (settled) return;
        if (type === 'ERROR') {
          // the stream ends after an ERROR event; a 410 means the history we resume from is gone
          if (obj.code === 410) expired = true;
          return;
        }
        const rv = obj.metadata?.resourceVersion;
        if (type === 'BOOKMARK') {
          if (rv) this.resourceVersion = rv;
          return;
        }
        if (type === 'ADDED' || type === 'MODIFIED') this.upsert(obj);
        else if (type === 'DELETED') this.remove(obj);
        else return;
        if (rv) this.resourceVersion = rv;
      };
      this.watch
        .watch(this.path, query, onEvent, finish)
        .then((ac) => {
          request = ac;
          if (settled) ac.abort();
          // the request is established: whatever failed before has recovered
          else this.opts.health?.reached(this.path);
        })
        .catch(finish);
    });
  }

  private upsert(o: T): void {
    const byName = namespaceOf(this.objects, o);
    const name = o.metadata?.name ?? '';
    const had = byName.has(name);
    byName.set(name, o);
    this.notify(had ? 'update' : 'add', o);
  }

  private remove(o: T): void {
    const ns = o.metadata?.namespace ?? '';
    const byName = this.objects.get(ns);
    const name = o.metadata?.name ?? '';
    const had = byName?.get(name);
    if (!had) return;
    byName!.delete(name);
    if (byName!.size === 0) this.objects.delete(ns);
    this.notify('delete', o);
  }

  /** Resolves after ms, or at once on stop(); with wakeable, also when a sibling watch recovers (true). */
  private sleep(ms: number, wakeable = false): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const end = (woken: boolean) => {
        clearTimeout(timer);
        this.interrupt = undefined;
        this.wake = undefined;
        resolve(woken);
      };
      const timer = setTimeout(() => end(false), ms);
      this.interrupt = () => end(false);
      if (wakeable) this.wake = () => end(true);
    });
  }
}

/** The objects of o's namespace in `objects`, made when missing. */
function namespaceOf<T extends KubernetesObject>(objects: Map<string, Map<string, T>>, o: T): Map<string, T> {
  const ns = o.metadata?.namespace ?? '';
  let byName = objects.get(ns);
  if (!byName) {
    byName = new Map();
    objects.set(ns, byName);
  }
  return byName;
}

function isGone(err: unknown): boolean {
  const e = err as { statusCode?: number; code?: number } | undefined;
  return e?.statusCode === 410 || e?.code === 410;
}
