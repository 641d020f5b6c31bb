// Which resources are served: the built-in kinds plus whatever the stored CRDs define.
// Discovery, routing and the handlers all read from here; CRD create/update/delete re-register.
import type { StatusCause } from './errors.ts';
import type { KObject } from './types.ts';

/** A printed column of `kubectl get` (server-side Table). */
export interface Column {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority: number;
  cell(obj: KObject): unknown;
}

/** Per-kind behaviour, the strategy of a real server's registry. */
export interface ResourceHooks {
  /** Defaults and resets on create; mutates the new object. */
  prepareForCreate?(obj: KObject, ctx: HookContext): void;
  /** Resets on update of the main resource; mutates the new object. */
  prepareForUpdate?(obj: KObject, old: KObject, ctx: HookContext): void;
  /** Field errors (422) for a new object, or for an update when old is given. */
  validate?(obj: KObject, old: KObject | undefined): StatusCause[];
  /** Pruning and defaulting before validation; returns unknown field paths (for warnings or strict). */
  normalize?(obj: KObject): string[];
  /** Releases what the object held (a service's cluster IP) once it is gone. */
  released?(obj: KObject): void;
}

export interface HookContext {
  /** Warnings to return in the Warning header. */
  warnings: string[];
}

export interface ResourceInfo {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Whether /status is a subresource: the main resource then ignores status, /status ignores the rest. */
  statusSubresource: boolean;
  /** Store key shared by all versions of the resource: "group/plural". */
  key: string;
  /** "v1" or "group/version". */
  apiVersion: string;
  /** metadata.generation is set and bumped on changes outside metadata and status. */
  generation: boolean;
  /** An update without metadata.resourceVersion is accepted (custom resources refuse it). */
  allowUnconditionalUpdate: boolean;
  /** Custom resources take no strategic merge patch. */
  strategicMergePatch: boolean;
  /** Extra field selector labels beyond metadata.name and metadata.namespace, with how to read them. */
  fieldLabels: Record<string, (obj: KObject) => string | undefined>;
  /** Name format check: returns the failure message, or undefined. */
  nameValidator(name: string): string | undefined;
  columns: Column[];
  hooks: ResourceHooks;
  /** Verbs served (discovery lists them; others get 405). */
  verbs: string[];
  /** Served subresources besides status (pods/binding...). */
  subresources: string[];
  /** Set for resources defined by a CRD: the CRD's name. */
  crd?: string;
  /** The CRD version's openAPIV3Schema, published in /openapi/v3. */
  schema?: unknown;
}

export const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function resourceKey(group: string, plural: string): string {
  return `${group}/${plural}`;
}

export function groupVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** Listeners are told when the set of served resources changes (discovery caches). */
export class Registry {
  private readonly byPath = new Map<string, ResourceInfo>();
  private readonly groupOrder: string[] = [];
  private readonly versionsOf = new Map<string, string[]>();
  private generationCounter = 0;

  /** Bumped on every change, so discovery answers can be cached. */
  get generation(): number {
    return this.generationCounter;
  }

  register(info: ResourceInfo): void {
    this.byPath.set(`${info.group}/${info.version}/${info.plural}`, info);
    if (!this.groupOrder.includes(info.group)) this.groupOrder.push(info.group);
    const versions = this.versionsOf.get(info.group) ?? [];
    if (!versions.includes(info.version)) versions.push(info.version);
    this.versionsOf.set(info.group, versions);
    this.generationCounter++;
  }

  /** Removes every version of the resources a CRD defined. */
  unregisterCrd(crdName: string): void {
    for (const [path, info] of this.byPath) if (info.crd === crdName) this.byPath.delete(path);
    for (const [group, versions] of this.versionsOf) {
      const left = versions.filter((v) => this.inGroupVersion(group, v).length > 0);
      if (left.length === 0) {
        this.versionsOf.delete(group);
        this.groupOrder.splice(this.groupOrder.indexOf(group), 1);
      } else this.versionsOf.set(group, left);
    }
    this.generationCounter++;
  }

  lookup(group: string, version: string, plural: string): ResourceInfo | undefined {
    return this.byPath.get(`${group}/${version}/${plural}`);
  }

  /** The preferred (first registered) version's info for a store key. */
  byKey(key: string): ResourceInfo | undefined {
    for (const info of this.byPath.values()) if (info.key === key) return info;
    return undefined;
  }

  /** For ownerReferences: apiVersion + kind to the resource. */
  byKind(apiVersion: string, kind: string): ResourceInfo | undefined {
    for (const info of this.byPath.values())
      if (info.apiVersion === apiVersion && info.kind === kind) return info;
    return undefined;
  }

  groups(): string[] {
    return [...this.groupOrder];
  }

  versions(group: string): string[] {
    return [...(this.versionsOf.get(group) ?? [])];
  }

  inGroupVersion(group: string, version: string): ResourceInfo[] {
    return [...this.byPath.values()].filter((i) => i.group === group && i.version === version);
  }

  all(): ResourceInfo[] {
    return [...this.byPath.values()];
  }
}
