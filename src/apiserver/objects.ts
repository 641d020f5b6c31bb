// Object-level verbs (create, get, list, update, patch, delete) with a real server's admission order:
// decode checks -> system fields -> prune/default -> strategy -> validation -> precondition -> store.
// Nothing here knows HTTP; the HTTP layer and in-process callers share it.
import { randomUUID } from 'node:crypto';
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  fieldError,
  forbidden,
  invalid,
  notFound,
  type StatusCause,
  tooOldResourceVersion,
  unsupportedMediaType,
} from './errors.ts';
import { generateName, validateMetadata } from './meta.ts';
import { jsonPatch, mergePatch } from './patch.ts';
import type { Registry, ResourceInfo } from './registry.ts';
import { both, fieldMatcher, labelMatcher } from './selectors.ts';
import type { Entry, Store } from './store.ts';
import { strategicMerge } from './strategic.ts';
import { isRecord, jsonEqual, type KObject, nowTimestamp } from './types.ts';

export const namespacesKey = '/namespaces';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  /** Write through a subresource ("status"). */
  subresource?: string;
}

export interface WriteResult {
  entry: Entry;
  warnings: string[];
}

export interface ListOptions {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  limit?: number;
  continue?: string | null;
  resourceVersion?: string | null;
  resourceVersionMatch?: string | null;
}

export interface ListResult {
  items: Entry[];
  resourceVersion: number;
  continue?: string;
  remainingItemCount?: number;
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface DeleteResult {
  entry: Entry;
  /** False when finalizers keep the object (deletionTimestamp set instead): HTTP 202. */
  deleted: boolean;
}

export const patchTypes = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/** The object without metadata and status: what generation tracks. */
function specPart(obj: KObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

/** Whether something still holds the object: metadata.finalizers, or a namespace's spec.finalizers. */
function hasFinalizers(info: ResourceInfo, obj: KObject): boolean {
  if (obj.metadata.finalizers?.length) return true;
  return (
    info.key === namespacesKey &&
    isRecord(obj.spec) &&
    Array.isArray(obj.spec.finalizers) &&
    obj.spec.finalizers.length > 0
  );
}

/** Go's omitempty: empty labels, annotations, finalizers and ownerReferences are not stored. */
function dropEmptyMetadata(md: KObject['metadata']): void {
  for (const k of ['labels', 'annotations', 'finalizers', 'ownerReferences'] as const) {
    const v = md[k];
    if (v === null || (Array.isArray(v) && v.length === 0) || (isRecord(v) && Object.keys(v).length === 0))
      delete md[k];
  }
}

function copy(entry: Entry): KObject {
  return JSON.parse(entry.json) as KObject;
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString()) as { rv: unknown; start: unknown };
    if (typeof t.rv === 'number' && typeof t.start === 'string') return { rv: t.rv, start: t.start };
  } catch {
    // fall through
  }
  throw badRequest(
    'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
  );
}

export class ObjectApi {
  constructor(
    readonly store: Store,
    readonly registry: Registry,
  ) {}

  get(info: ResourceInfo, namespace: string, name: string): Entry {
    const e = this.store.get(info.key, info.namespaced ? namespace : '', name);
    if (!e) throw notFound(info, name);
    return e;
  }

  list(info: ResourceInfo, namespace: string, opts: ListOptions = {}): ListResult {
    const match = both(labelMatcher(opts.labelSelector), fieldMatcher(opts.fieldSelector, info));
    let rv = this.store.resourceVersion;
    const requested = opts.resourceVersion ? Number(opts.resourceVersion) : 0;
    if (opts.resourceVersionMatch === 'Exact' && requested !== rv) {
      throw tooOldResourceVersion(requested, this.store.history.floor);
    }
    let start: string | undefined;
    if (opts.continue) {
      const t = decodeContinue(opts.continue);
      if (t.rv < this.store.history.floor) {
        throw new ApiError(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
      }
      rv = t.rv;
      start = t.start;
    }
    const all = this.store.list(info.key, info.namespaced ? namespace : undefined);
    let i = 0;
    if (start !== undefined) {
      // Binary search for the first key after start.
      let lo = 0;
      let hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const md = all[mid]!.obj.metadata;
        const key = md.namespace ? `${md.namespace}/${md.name}` : (md.name ?? '');
        if (key <= start) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Number.POSITIVE_INFINITY;
    const items: Entry[] = [];
    for (; i < all.length && items.length < limit; i++) {
      const e = all[i]!;
      if (match(e.obj)) items.push(e);
    }
    const out: ListResult = { items, resourceVersion: rv };
    if (i < all.length && items.length >= limit) {
      const md = items[items.length - 1]!.obj.metadata;
      out.continue = encodeContinue(rv, md.namespace ? `${md.namespace}/${md.name}` : (md.name ?? ''));
      let remaining = 0;
      for (let j = i; j < all.length; j++) if (match(all[j]!.obj)) remaining++;
      if (remaining === 0) delete out.continue;
      else out.remainingItemCount = remaining;
    }
    return out;
  }

  /** Checks apiVersion, kind and namespace of a request body; fills what a real decoder defaults. */
  private decode(info: ResourceInfo, namespace: string, body: unknown): KObject {
    if (!isRecord(body)) throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
    const obj = body as KObject;
    if (obj.kind === undefined || obj.kind === '') {
      if (info.crd) throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body).slice(0, 200)}'`);
      obj.kind = info.kind;
    }
    if (obj.apiVersion === undefined || obj.apiVersion === '') {
      if (info.crd)
        throw badRequest(`Object 'apiVersion' is missing in '${JSON.stringify(body).slice(0, 200)}'`);
      obj.apiVersion = info.apiVersion;
    }
    if (obj.apiVersion !== info.apiVersion) {
      const sameGroup = info.group
        ? String(obj.apiVersion).startsWith(`${info.group}/`)
        : !String(obj.apiVersion).includes('/');
      if (
        !sameGroup ||
        !this.registry.lookup(info.group, String(obj.apiVersion).split('/').pop()!, info.plural)
      ) {
        throw badRequest(
          `the API version in the data (${obj.apiVersion}) does not match the expected API version (${info.apiVersion})`,
        );
      }
      obj.apiVersion = info.apiVersion;
    }
    if (obj.kind !== info.kind) {
      throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${info.kind})`);
    }
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (!isRecord(obj.metadata))
      throw badRequest('json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta');
    if (info.namespaced) {
      const ns = obj.metadata.namespace;
      if (ns === undefined || ns === '') obj.metadata.namespace = namespace;
      else if (ns !== namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
    } else {
      delete obj.metadata.namespace;
    }
    delete obj.metadata.selfLink;
    delete obj.metadata.managedFields;
    dropEmptyMetadata(obj.metadata);
    return obj;
  }

  /** Applies prune/default; Strict turns unknown fields into a 400, Warn into warnings. */
  private normalize(
    info: ResourceInfo,
    obj: KObject,
    fv: FieldValidation | undefined,
    warnings: string[],
  ): void {
    const unknown = info.hooks.normalize?.(obj) ?? [];
    if (unknown.length === 0 || fv === 'Ignore') return;
    if (fv === 'Strict') {
      const list = unknown.map((u) => `unknown field "${u}"`).join(', ');
      throw badRequest(
        `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: strict decoding error: ${list}`,
      );
    }
    for (const u of unknown) warnings.push(`unknown field "${u}"`);
  }

  private validate(info: ResourceInfo, obj: KObject, old: KObject | undefined): void {
    const causes: StatusCause[] = [];
    const name = obj.metadata.name ?? '';
    if (!old) {
      const err = info.nameValidator(name);
      if (err) causes.push(fieldError.invalid('metadata.name', name, err));
    }
    causes.push(...validateMetadata(obj));
    causes.push(...(info.hooks.validate?.(obj, old) ?? []));
    if (causes.length) throw invalid(info, name, causes);
  }

  private checkNamespace(info: ResourceInfo, namespace: string, name: string): void {
    if (!info.namespaced) return;
    const ns = this.store.get(namespacesKey, '', namespace);
    if (!ns) {
      throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`, {
        name: namespace,
        kind: 'namespaces',
      });
    }
    if (ns.obj.metadata.deletionTimestamp) {
      throw new ApiError(
        403,
        'Forbidden',
        `${info.plural} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        {
          name: namespace,
          group: '',
          kind: 'namespaces',
          causes: [
            {
              reason: 'NamespaceTerminating',
              message: `namespace ${namespace} is being terminated`,
              field: 'metadata.namespace',
            },
          ],
        },
      );
    }
  }

  create(info: ResourceInfo, namespace: string, body: unknown, opts: WriteOptions = {}): WriteResult {
    const warnings: string[] = [];
    const obj = this.decode(info, namespace, body);
    const md = obj.metadata;
    if (!md.name) {
      if (md.generateName) md.name = generateName(md.generateName);
      else throw invalid(info, '', [fieldError.required('metadata.name')]);
    }
    this.checkNamespace(info, namespace, md.name);
    if (md.resourceVersion !== undefined && md.resourceVersion !== '') {
      throw new ApiError(
        500,
        'InternalError',
        'Internal error occurred: resourceVersion should not be set on objects to be created',
      );
    }
    md.uid = randomUUID();
    md.creationTimestamp = nowTimestamp();
    delete md.deletionTimestamp;
    delete md.deletionGracePeriodSeconds;
    if (info.generation) md.generation = 1;
    else delete md.generation;
    this.normalize(info, obj, opts.fieldValidation, warnings);
    info.hooks.prepareForCreate?.(obj, { warnings });
    this.validate(info, obj, undefined);
    if (this.store.get(info.key, md.namespace ?? '', md.name)) throw alreadyExists(info, md.name);
    if (opts.dryRun) return { entry: { obj, json: JSON.stringify(obj), rv: 0 }, warnings };
    return { entry: this.store.create(info.key, obj), warnings };
  }

  update(
    info: ResourceInfo,
    namespace: string,
    name: string,
    body: unknown,
    opts: WriteOptions = {},
  ): WriteResult {
    const old = this.get(info, namespace, name);
    const obj = this.decode(info, namespace, body);
    if (obj.metadata.name !== undefined && obj.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    obj.metadata.name = name;
    return this.replace(info, old, obj, opts);
  }

  patch(
    info: ResourceInfo,
    namespace: string,
    name: string,
    contentType: string,
    patch: unknown,
    opts: WriteOptions = {},
  ): WriteResult {
    const old = this.get(info, namespace, name);
    const accepted = info.strategicMergePatch
      ? [patchTypes.json, patchTypes.merge, patchTypes.strategic]
      : [patchTypes.json, patchTypes.merge];
    if (!(accepted as string[]).includes(contentType)) throw unsupportedMediaType(contentType, accepted);
    let patched: unknown;
    if (contentType === patchTypes.json) patched = jsonPatch(copy(old), patch);
    else {
      if (!isRecord(patch))
        throw badRequest('json: cannot unmarshal into Go value of type map[string]interface {}');
      patched =
        contentType === patchTypes.merge ? mergePatch(copy(old), patch) : strategicMerge(copy(old), patch);
    }
    if (!isRecord(patched) || !isRecord(patched.metadata))
      throw badRequest('the patch removed the object metadata');
    const obj = this.decode(info, namespace, patched);
    if (obj.metadata.name !== name) {
      throw invalid(info, name, [
        fieldError.invalid('metadata.name', obj.metadata.name, 'field is immutable'),
      ]);
    }
    return this.replace(info, old, obj, opts);
  }

  /** The shared tail of update and patch: preconditions, strategy, validation, no-op detection, store. */
  private replace(info: ResourceInfo, old: Entry, obj: KObject, opts: WriteOptions): WriteResult {
    const warnings: string[] = [];
    const md = obj.metadata;
    const om = old.obj.metadata;
    const name = om.name ?? '';
    if (md.resourceVersion !== undefined && md.resourceVersion !== '') {
      if (md.resourceVersion !== om.resourceVersion) throw conflict(info, name);
    } else if (!info.allowUnconditionalUpdate) {
      throw invalid(info, name, [
        fieldError.invalid('metadata.resourceVersion', '0x0', 'must be specified for an update'),
      ]);
    }
    let next: KObject;
    if (opts.subresource === 'status') {
      next = { ...copy(old), status: obj.status };
      if (obj.status === undefined) delete next.status;
    } else {
      next = obj;
      if (info.statusSubresource) {
        if (old.obj.status === undefined) delete next.status;
        else next.status = structuredClone(old.obj.status);
      }
      this.normalize(info, next, opts.fieldValidation, warnings);
    }
    const nm = next.metadata;
    nm.uid = om.uid;
    nm.creationTimestamp = om.creationTimestamp;
    nm.namespace = om.namespace;
    if (nm.namespace === undefined) delete nm.namespace;
    nm.deletionTimestamp = om.deletionTimestamp;
    nm.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds;
    if (om.deletionTimestamp === undefined) {
      delete nm.deletionTimestamp;
      delete nm.deletionGracePeriodSeconds;
    } else {
      const before = new Set(om.finalizers ?? []);
      const added = (nm.finalizers ?? []).filter((f) => !before.has(f));
      if (added.length) {
        throw invalid(info, name, [
          fieldError.forbidden(
            'metadata.finalizers',
            'no new finalizers can be added if the object is being deleted, found new finalizers ' +
              JSON.stringify(added),
          ),
        ]);
      }
    }
    nm.generation = om.generation;
    if (nm.generation === undefined) delete nm.generation;
    if (opts.subresource !== 'status') info.hooks.prepareForUpdate?.(next, old.obj, { warnings });
    this.validate(info, next, old.obj);
    if (info.generation && !jsonEqual(specPart(next), specPart(old.obj)))
      nm.generation = (om.generation ?? 0) + 1;
    dropEmptyMetadata(nm);
    nm.resourceVersion = om.resourceVersion;
    if (jsonEqual(next, old.obj)) return { entry: old, warnings };
    if (opts.dryRun) return { entry: { obj: next, json: JSON.stringify(next), rv: old.rv }, warnings };
    if (nm.deletionTimestamp && !hasFinalizers(info, next)) {
      return { entry: this.store.remove(info.key, old, next), warnings };
    }
    return { entry: this.store.update(info.key, next, old), warnings };
  }

  delete(info: ResourceInfo, namespace: string, name: string, opts: DeleteOptions = {}): DeleteResult {
    const old = this.get(info, namespace, name);
    const om = old.obj.metadata;
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== om.uid) {
      throw conflict(
        info,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${om.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== om.resourceVersion) {
      throw conflict(
        info,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${om.resourceVersion}`,
      );
    }
    const finalizers = [...(om.finalizers ?? [])];
    if (opts.propagationPolicy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
    if (opts.propagationPolicy === 'Foreground' && !finalizers.includes('foregroundDeletion')) {
      finalizers.push('foregroundDeletion');
    }
    if (!hasFinalizers(info, { ...old.obj, metadata: { ...om, finalizers } })) {
      if (opts.dryRun) return { entry: old, deleted: true };
      return { entry: this.store.remove(info.key, old), deleted: true };
    }
    if (om.deletionTimestamp) return { entry: old, deleted: false };
    const next = copy(old);
    next.metadata.deletionTimestamp = nowTimestamp();
    next.metadata.deletionGracePeriodSeconds = 0;
    if (finalizers.length) next.metadata.finalizers = finalizers;
    if (info.key === namespacesKey)
      next.status = { ...(isRecord(next.status) ? next.status : {}), phase: 'Terminating' };
    if (opts.dryRun) return { entry: { obj: next, json: JSON.stringify(next), rv: old.rv }, deleted: false };
    return { entry: this.store.update(info.key, next, old), deleted: false };
  }

  deleteCollection(
    info: ResourceInfo,
    namespace: string,
    list: ListOptions,
    opts: DeleteOptions = {},
  ): Entry[] {
    const out: Entry[] = [];
    for (const e of this.list(info, namespace, { ...list, limit: 0, continue: null }).items) {
      const md = e.obj.metadata;
      try {
        out.push(this.delete(info, md.namespace ?? '', md.name ?? '', opts).entry);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
    }
    return out;
  }

  /** pods/binding: assigns a node to an unscheduled pod. */
  bind(info: ResourceInfo, namespace: string, name: string, body: unknown): Entry {
    const old = this.get(info, namespace, name);
    const target = isRecord(body) && isRecord(body.target) ? body.target : undefined;
    if (!target || typeof target.name !== 'string' || target.name === '') {
      throw invalid({ group: '', kind: 'Binding' }, name, [fieldError.required('target.name')]);
    }
    const spec = isRecord(old.obj.spec) ? old.obj.spec : {};
    if (spec.nodeName) {
      throw conflict(
        { group: '', plural: 'pods/binding' },
        name,
        `pod ${name} is already assigned to node "${spec.nodeName}"`,
      );
    }
    if (old.obj.metadata.deletionTimestamp)
      throw forbidden(`pod ${name} is being deleted, cannot be assigned to a host`);
    const next = copy(old);
    (next.spec as Record<string, unknown>).nodeName = target.name;
    const status = isRecord(next.status) ? next.status : {};
    const conds = Array.isArray(status.conditions)
      ? status.conditions.filter((c) => !(isRecord(c) && c.type === 'PodScheduled'))
      : [];
    conds.push({
      type: 'PodScheduled',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: nowTimestamp(),
    });
    next.status = { ...status, conditions: conds };
    return this.store.update(info.key, next, old);
  }

  /** Finalizes a terminating namespace whose content is gone (the namespace controller's last step). */
  finalizeNamespace(name: string): void {
    const old = this.store.get(namespacesKey, '', name);
    if (!old?.obj.metadata.deletionTimestamp) return;
    const next = copy(old);
    if (isRecord(next.spec)) next.spec.finalizers = [];
    if (!next.metadata.finalizers?.length) this.store.remove(namespacesKey, old, next);
    else this.store.update(namespacesKey, next, old);
  }

  /** Removes one finalizer (internal controllers: GC orphaning, CRD cleanup, foreground deletion). */
  removeFinalizer(info: ResourceInfo, namespace: string, name: string, finalizer: string): void {
    const old = this.store.get(info.key, namespace, name);
    if (!old?.obj.metadata.finalizers?.includes(finalizer)) return;
    const next = copy(old);
    next.metadata.finalizers = next.metadata.finalizers!.filter((f) => f !== finalizer);
    this.replace(info, old, next, {});
  }
}
