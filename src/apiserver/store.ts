// In-memory storage: one table per resource, a global monotonically increasing resourceVersion,
// and synchronous fan-out of every write to subscribers (watches, indexes, persistence).
// Stored objects are never mutated: every write stores a new object and its JSON text, serialized once.
import { History } from './history.ts';
import type { KObject, WatchEventType } from './types.ts';

export interface Entry {
  readonly obj: KObject;
  /** JSON of obj, computed once and shared by every reader (lists, watch events, persistence). */
  readonly json: string;
  readonly rv: number;
}

export interface StoreEvent {
  readonly rv: number;
  readonly type: WatchEventType;
  /** Store key of the resource, "group/plural". */
  readonly resource: string;
  readonly namespace: string;
  /** The new state; for DELETED the last state, stamped with the deletion's resourceVersion. */
  readonly entry: Entry;
  /** The state before, for MODIFIED and DELETED. */
  readonly prev: Entry | undefined;
}

export type Listener = (ev: StoreEvent) => void;

class Table {
  readonly byKey = new Map<string, Entry>();
  readonly byNamespace = new Map<string, Map<string, Entry>>();
  /** Keys in order, rebuilt lazily after an insert or removal (not after an update). */
  sortedKeys: string[] | undefined;
}

export function objectKey(namespace: string, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function stamp(obj: KObject, rv: number): Entry {
  obj.metadata.resourceVersion = String(rv);
  return { obj, json: JSON.stringify(obj), rv };
}

export class Store {
  private rv: number;
  private readonly tables = new Map<string, Table>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly allListeners = new Set<Listener>();
  readonly history: History;

  constructor(opts: { historySize: number; startRv?: number }) {
    this.rv = opts.startRv ?? 1;
    this.history = new History(opts.historySize, this.rv);
  }

  get resourceVersion(): number {
    return this.rv;
  }

  private table(resource: string): Table {
    let t = this.tables.get(resource);
    if (!t) {
      t = new Table();
      this.tables.set(resource, t);
    }
    return t;
  }

  get(resource: string, namespace: string, name: string): Entry | undefined {
    return this.tables.get(resource)?.byKey.get(objectKey(namespace, name));
  }

  /** Entries in key order (namespace/name), optionally of one namespace. */
  list(resource: string, namespace?: string): Entry[] {
    const t = this.tables.get(resource);
    if (!t) return [];
    if (namespace !== undefined && namespace !== '') {
      const ns = t.byNamespace.get(namespace);
      if (!ns) return [];
      return [...ns.keys()].sort().map((name) => ns.get(name)!);
    }
    if (!t.sortedKeys) t.sortedKeys = [...t.byKey.keys()].sort();
    const out = new Array<Entry>(t.sortedKeys.length);
    for (let i = 0; i < t.sortedKeys.length; i++) out[i] = t.byKey.get(t.sortedKeys[i]!)!;
    return out;
  }

  count(resource: string, namespace?: string): number {
    const t = this.tables.get(resource);
    if (!t) return 0;
    return namespace ? (t.byNamespace.get(namespace)?.size ?? 0) : t.byKey.size;
  }

  resources(): string[] {
    return [...this.tables.keys()].filter((r) => (this.tables.get(r)?.byKey.size ?? 0) > 0);
  }

  /** Stores a new object (the caller checked it does not exist); takes ownership of obj. */
  create(resource: string, obj: KObject): Entry {
    return this.write(resource, obj, undefined);
  }

  /** Replaces an object; takes ownership of obj. */
  update(resource: string, obj: KObject, prev: Entry): Entry {
    return this.write(resource, obj, prev);
  }

  private write(resource: string, obj: KObject, prev: Entry | undefined): Entry {
    const entry = stamp(obj, ++this.rv);
    this.insert(resource, entry);
    const type = prev ? 'MODIFIED' : 'ADDED';
    this.emit({ rv: entry.rv, type, resource, namespace: obj.metadata.namespace ?? '', entry, prev });
    return entry;
  }

  /** Removes an object; `last` (default: the stored one) becomes the DELETED event's object. */
  remove(resource: string, prev: Entry, last?: KObject): Entry {
    const md = prev.obj.metadata;
    const namespace = md.namespace ?? '';
    const t = this.table(resource);
    const key = objectKey(namespace, md.name ?? '');
    t.byKey.delete(key);
    const ns = t.byNamespace.get(namespace);
    ns?.delete(md.name ?? '');
    if (ns && ns.size === 0) t.byNamespace.delete(namespace);
    t.sortedKeys = undefined;
    const base = last ?? prev.obj;
    const entry = stamp({ ...base, metadata: { ...base.metadata } }, ++this.rv);
    this.emit({ rv: entry.rv, type: 'DELETED', resource, namespace, entry, prev });
    return entry;
  }

  private insert(resource: string, entry: Entry): void {
    const md = entry.obj.metadata;
    const namespace = md.namespace ?? '';
    const name = md.name ?? '';
    const t = this.table(resource);
    const key = objectKey(namespace, name);
    if (!t.byKey.has(key)) t.sortedKeys = undefined;
    t.byKey.set(key, entry);
    let ns = t.byNamespace.get(namespace);
    if (!ns) {
      ns = new Map();
      t.byNamespace.set(namespace, ns);
    }
    ns.set(name, entry);
  }

  /** Loads objects without events (restoring persisted state); history starts empty at rv. */
  load(resource: string, objects: KObject[], rv: number): void {
    for (const obj of objects) {
      const v = Number(obj.metadata.resourceVersion ?? 0);
      this.insert(resource, { obj, json: JSON.stringify(obj), rv: v });
    }
    this.rv = Math.max(this.rv, rv);
    this.history.reset(this.rv);
  }

  /** Called for every write to one resource, synchronously, in resourceVersion order. */
  subscribe(resource: string, fn: Listener): () => void {
    let set = this.listeners.get(resource);
    if (!set) {
      set = new Set();
      this.listeners.set(resource, set);
    }
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Called for every write to any resource. */
  subscribeAll(fn: Listener): () => void {
    this.allListeners.add(fn);
    return () => this.allListeners.delete(fn);
  }

  private emit(ev: StoreEvent): void {
    this.history.push(ev);
    for (const fn of this.allListeners) fn(ev);
    const set = this.listeners.get(ev.resource);
    if (set) for (const fn of set) fn(ev);
  }
}
