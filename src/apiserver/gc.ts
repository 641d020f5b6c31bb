// The controllers a real control plane runs behind the API that clients rely on:
// the garbage collector (ownerReferences: background, foreground, orphan), the namespace controller
// (deleting a namespace deletes its content) and CRD cleanup (deleting a CRD deletes its objects).
// They react to store events and work in the background (setImmediate), as the real ones do.
import { crdCleanupFinalizer, crdsKey } from './crd.ts';
import { ApiError } from './errors.ts';
import { namespacesKey, type ObjectApi } from './objects.ts';
import type { ResourceInfo } from './registry.ts';
import type { StoreEvent } from './store.ts';
import type { KObject } from './types.ts';

interface Ref {
  resource: string;
  namespace: string;
  name: string;
}

const sep = '\u0000';
const refKey = (r: Ref) => `${r.resource}${sep}${r.namespace}${sep}${r.name}`;
const parseRef = (k: string): Ref => {
  const [resource, namespace, name] = k.split(sep) as [string, string, string];
  return { resource, namespace, name };
};

export class Lifecycle {
  /** uid -> where the object lives. */
  private readonly byUid = new Map<string, Ref>();
  /** owner uid -> keys of the objects that name it in ownerReferences. */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly queue = new Set<string>();
  private scheduled = false;
  private readonly unsubscribe: () => void;

  constructor(private readonly api: ObjectApi) {
    this.unsubscribe = api.store.subscribeAll((ev) => this.onEvent(ev));
  }

  close(): void {
    this.unsubscribe();
  }

  /** Indexes already stored objects (after a restore). */
  indexAll(): void {
    for (const resource of this.api.store.resources()) {
      for (const e of this.api.store.list(resource)) this.index(resource, e.obj, undefined);
    }
  }

  private index(resource: string, obj: KObject, prev: KObject | undefined): void {
    const md = obj.metadata;
    const ref: Ref = { resource, namespace: md.namespace ?? '', name: md.name ?? '' };
    const key = refKey(ref);
    if (md.uid) this.byUid.set(md.uid, ref);
    for (const o of prev?.metadata.ownerReferences ?? []) this.dependents.get(o.uid)?.delete(key);
    for (const o of md.ownerReferences ?? []) {
      let set = this.dependents.get(o.uid);
      if (!set) {
        set = new Set();
        this.dependents.set(o.uid, set);
      }
      set.add(key);
    }
  }

  private onEvent(ev: StoreEvent): void {
    const obj = ev.entry.obj;
    const md = obj.metadata;
    if (ev.type === 'DELETED') {
      const key = refKey({ resource: ev.resource, namespace: ev.namespace, name: md.name ?? '' });
      if (md.uid) this.byUid.delete(md.uid);
      for (const o of md.ownerReferences ?? []) {
        this.dependents.get(o.uid)?.delete(key);
        this.enqueue(`owner${sep}${o.uid}`);
      }
      for (const dep of this.dependents.get(md.uid ?? '') ?? []) this.enqueue(`dep${sep}${dep}`);
      this.dependents.delete(md.uid ?? '');
      if (ev.namespace) this.enqueue(`ns${sep}${ev.namespace}`);
      const info = this.api.registry.byKey(ev.resource);
      info?.hooks.released?.(obj);
      if (info?.crd === undefined) return;
      this.enqueue(`crd${sep}${info.crd}`);
      return;
    }
    this.index(ev.resource, obj, ev.prev?.obj);
    if (md.deletionTimestamp && !ev.prev?.obj.metadata.deletionTimestamp) {
      if (ev.resource === namespacesKey) this.enqueue(`ns${sep}${md.name}`);
      else if (ev.resource === crdsKey) this.enqueue(`crd${sep}${md.name}`);
      if (md.finalizers?.includes('orphan') || md.finalizers?.includes('foregroundDeletion')) {
        this.enqueue(`owner${sep}${md.uid}`);
      }
    }
  }

  private enqueue(task: string): void {
    this.queue.add(task);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    const tasks = [...this.queue];
    this.queue.clear();
    for (const t of tasks) {
      const [kind, ...rest] = t.split(sep);
      try {
        if (kind === 'dep') this.collectDependent(parseRef(rest.join(sep)));
        else if (kind === 'owner') this.processOwner(rest[0] ?? '');
        else if (kind === 'ns') this.processNamespace(rest[0] ?? '');
        else if (kind === 'crd') this.processCrd(rest[0] ?? '');
      } catch (err) {
        // A conflict or a vanished object: the next event retries. Anything else is a bug: say so, but
        // keep serving (a lab's whole cluster lives in this process).
        if (!(err instanceof ApiError))
          process.emitWarning(`apiserver lifecycle task ${t} failed: ${String(err)}`);
      }
    }
  }

  private infoOf(resource: string): ResourceInfo | undefined {
    return this.api.registry.byKey(resource);
  }

  /** A dependent whose owner went away: delete it when no owner is left, else drop the dangling refs. */
  private collectDependent(ref: Ref): void {
    const info = this.infoOf(ref.resource);
    const e = this.api.store.get(ref.resource, ref.namespace, ref.name);
    if (!info || !e) return;
    const refs = e.obj.metadata.ownerReferences ?? [];
    const alive = refs.filter((o) => {
      const where = this.byUid.get(o.uid);
      return (
        where !== undefined && this.api.store.get(where.resource, where.namespace, where.name) !== undefined
      );
    });
    if (alive.length === refs.length) return;
    if (alive.length === 0) {
      this.api.delete(info, ref.namespace, ref.name, { propagationPolicy: 'Background' });
      return;
    }
    const next = JSON.parse(e.json) as KObject;
    next.metadata.ownerReferences = alive;
    this.api.update(info, ref.namespace, ref.name, next);
  }

  /** An owner being deleted with the orphan or foregroundDeletion finalizer, or a dependent of one went away. */
  private processOwner(uid: string): void {
    const where = this.byUid.get(uid);
    if (!where) return;
    const info = this.infoOf(where.resource);
    const owner = this.api.store.get(where.resource, where.namespace, where.name);
    if (!info || !owner?.obj.metadata.deletionTimestamp) return;
    const fin = owner.obj.metadata.finalizers ?? [];
    const deps = [...(this.dependents.get(uid) ?? [])].map(parseRef);
    if (fin.includes('orphan')) {
      for (const d of deps) {
        const di = this.infoOf(d.resource);
        const de = this.api.store.get(d.resource, d.namespace, d.name);
        if (!di || !de) continue;
        const next = JSON.parse(de.json) as KObject;
        next.metadata.ownerReferences = (next.metadata.ownerReferences ?? []).filter((o) => o.uid !== uid);
        if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
        this.api.update(di, d.namespace, d.name, next);
      }
      this.api.removeFinalizer(info, where.namespace, where.name, 'orphan');
      return;
    }
    if (fin.includes('foregroundDeletion')) {
      const left = deps.filter((d) => this.api.store.get(d.resource, d.namespace, d.name));
      for (const d of left) {
        const di = this.infoOf(d.resource);
        if (di) this.api.delete(di, d.namespace, d.name, { propagationPolicy: 'Foreground' });
      }
      if (left.length === 0)
        this.api.removeFinalizer(info, where.namespace, where.name, 'foregroundDeletion');
    }
  }

  /** Deletes everything in a terminating namespace, and finalizes it once empty. */
  private processNamespace(name: string): void {
    const ns = this.api.store.get(namespacesKey, '', name);
    if (!ns?.obj.metadata.deletionTimestamp) return;
    let remaining = 0;
    for (const resource of this.api.store.resources()) {
      const info = this.infoOf(resource);
      if (!info?.namespaced) continue;
      for (const e of this.api.store.list(resource, name)) {
        remaining++;
        if (!e.obj.metadata.deletionTimestamp) this.api.delete(info, name, e.obj.metadata.name ?? '', {});
      }
    }
    if (remaining === 0 || this.api.store.resources().every((r) => this.api.store.count(r, name) === 0)) {
      this.api.finalizeNamespace(name);
    }
  }

  /** Deletes a terminating CRD's objects, then lets the CRD go. */
  private processCrd(crdName: string): void {
    const crd = this.api.store.get(crdsKey, '', crdName);
    if (!crd?.obj.metadata.deletionTimestamp) return;
    const info = this.api.registry.all().find((i) => i.crd === crdName);
    const crdInfo = this.infoOf(crdsKey);
    if (!crdInfo) return;
    const left = info ? this.api.store.list(info.key) : [];
    for (const e of left) {
      if (!e.obj.metadata.deletionTimestamp && info) {
        this.api.delete(info, e.obj.metadata.namespace ?? '', e.obj.metadata.name ?? '', {});
      }
    }
    if (!info || this.api.store.count(info.key) === 0) {
      this.api.removeFinalizer(crdInfo, '', crdName, crdCleanupFinalizer);
    }
  }
}
