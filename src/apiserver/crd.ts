// CustomResourceDefinitions: validating one, its status, and the resources it serves.

import { ageColumn, makeInfo, nameColumn } from './builtins.ts';
import { fieldError, type StatusCause } from './errors.ts';
import { evalJsonPath } from './jsonpath.ts';
import { dns1123Subdomain, humanAge } from './meta.ts';
import type { Column, Registry, ResourceHooks, ResourceInfo } from './registry.ts';
import { CrdSchema, type Schema, structuralProblems } from './schema.ts';
import type { Store } from './store.ts';
import { isRecord, type KObject, nowTimestamp } from './types.ts';

export const crdCleanupFinalizer = 'customresourcecleanup.apiextensions.k8s.io';
export const crdsKey = 'apiextensions.k8s.io/customresourcedefinitions';

interface CrdNames {
  plural: string;
  singular?: string;
  kind: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: Schema };
  subresources?: { status?: unknown; scale?: unknown };
  additionalPrinterColumns?: {
    name: string;
    type: string;
    format?: string;
    description?: string;
    priority?: number;
    jsonPath: string;
  }[];
  selectableFields?: { jsonPath: string }[];
}

interface CrdSpec {
  group: string;
  names: CrdNames;
  scope: 'Namespaced' | 'Cluster';
  versions: CrdVersion[];
}

function crdSpec(obj: KObject): CrdSpec {
  return obj.spec as CrdSpec;
}

function validateCrd(obj: KObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const s = obj.spec;
  if (!isRecord(s)) return [fieldError.required('spec')];
  const group = s.group;
  const names = isRecord(s.names) ? s.names : {};
  if (typeof group !== 'string' || group === '') causes.push(fieldError.required('spec.group'));
  else if (!group.includes('.'))
    causes.push(fieldError.invalid('spec.group', group, 'should be a domain with at least one dot'));
  if (typeof names.plural !== 'string' || names.plural === '')
    causes.push(fieldError.required('spec.names.plural'));
  if (typeof names.kind !== 'string' || names.kind === '')
    causes.push(fieldError.required('spec.names.kind'));
  if (s.scope !== 'Namespaced' && s.scope !== 'Cluster') {
    causes.push(fieldError.notSupported('spec.scope', s.scope ?? '', ['Cluster', 'Namespaced']));
  }
  if (
    typeof names.plural === 'string' &&
    typeof group === 'string' &&
    obj.metadata.name !== `${names.plural}.${group}`
  ) {
    causes.push(
      fieldError.invalid('metadata.name', obj.metadata.name, 'must be spec.names.plural+"."+spec.group'),
    );
  }
  const versions = Array.isArray(s.versions) ? s.versions : [];
  if (versions.length === 0) causes.push(fieldError.required('spec.versions'));
  if (versions.filter((v) => isRecord(v) && v.storage === true).length !== 1) {
    causes.push(
      fieldError.invalid(
        'spec.versions',
        versions.map((v) => (isRecord(v) ? v.name : v)),
        'must have exactly one version marked as storage version',
      ),
    );
  }
  versions.forEach((v, i) => {
    if (!isRecord(v)) return;
    if (typeof v.name !== 'string' || v.name === '')
      causes.push(fieldError.required(`spec.versions[${i}].name`));
    const schema = isRecord(v.schema) ? v.schema.openAPIV3Schema : undefined;
    if (!isRecord(schema)) {
      causes.push(fieldError.required(`spec.versions[${i}].schema.openAPIV3Schema`));
      return;
    }
    for (const p of structuralProblems(schema, `spec.versions[${i}].schema.openAPIV3Schema`)) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: p.slice(p.indexOf(': ') + 2),
        field: p.slice(0, p.indexOf(': ')),
      });
    }
  });
  return causes;
}

/** Hooks of the customresourcedefinitions resource itself. */
export const crdHooks: ResourceHooks = {
  prepareForCreate(obj) {
    const fin = obj.metadata.finalizers ?? [];
    if (!fin.includes(crdCleanupFinalizer)) obj.metadata.finalizers = [...fin, crdCleanupFinalizer];
    obj.status = crdStatus(obj);
  },
  prepareForUpdate(obj, old) {
    obj.status = { ...(isRecord(old.status) ? old.status : {}), ...crdStatus(obj) };
  },
  validate(obj, old) {
    const causes = validateCrd(obj);
    if (old && isRecord(old.spec) && isRecord(obj.spec)) {
      if (old.spec.group !== obj.spec.group)
        causes.push(fieldError.invalid('spec.group', obj.spec.group, 'field is immutable'));
      if (old.spec.scope !== obj.spec.scope)
        causes.push(fieldError.invalid('spec.scope', obj.spec.scope, 'field is immutable'));
    }
    return causes;
  },
};

function crdStatus(obj: KObject): Record<string, unknown> {
  const s = crdSpec(obj);
  const now = nowTimestamp();
  const storage = s.versions?.find((v) => v.storage)?.name;
  return {
    acceptedNames: {
      ...s.names,
      singular: s.names?.singular ?? s.names?.kind?.toLowerCase(),
      listKind: s.names?.listKind ?? `${s.names?.kind}List`,
    },
    conditions: [
      {
        type: 'NamesAccepted',
        status: 'True',
        reason: 'NoConflicts',
        message: 'no conflicts found',
        lastTransitionTime: now,
      },
      {
        type: 'Established',
        status: 'True',
        reason: 'InitialNamesAccepted',
        message: 'the initial names have been accepted',
        lastTransitionTime: now,
      },
    ],
    storedVersions: storage ? [storage] : [],
  };
}

function formatCell(values: unknown[], type: string): unknown {
  if (values.length === 0) return null;
  if (type === 'date') return humanAge(values[0]);
  if (values.length === 1) {
    const v = values[0];
    return isRecord(v) || Array.isArray(v) ? JSON.stringify(v) : v;
  }
  return values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(',');
}

function printerColumns(v: CrdVersion): Column[] {
  const cols = v.additionalPrinterColumns;
  if (!cols || cols.length === 0) return [nameColumn, ageColumn];
  return [
    nameColumn,
    ...cols.map((c) => ({
      name: c.name,
      type: c.type === 'date' ? 'string' : c.type,
      format: c.format,
      description: c.description ?? c.name,
      priority: c.priority ?? 0,
      cell: (o: KObject) => formatCell(evalJsonPath(o, c.jsonPath), c.type),
    })),
  ];
}

/** The resources (one per served version) a CRD defines. */
export function crdResources(crd: KObject): ResourceInfo[] {
  const s = crdSpec(crd);
  const out: ResourceInfo[] = [];
  for (const v of s.versions) {
    if (!v.served) continue;
    const schema = v.schema?.openAPIV3Schema ? new CrdSchema(v.schema.openAPIV3Schema) : undefined;
    const fieldLabels: ResourceInfo['fieldLabels'] = {};
    for (const f of v.selectableFields ?? []) {
      fieldLabels[f.jsonPath.replace(/^\./, '')] = (o) => {
        const val = evalJsonPath(o, f.jsonPath)[0];
        return val === undefined ? undefined : String(val);
      };
    }
    const statusSubresource = v.subresources?.status !== undefined;
    const info = makeInfo({
      group: s.group,
      version: v.name,
      plural: s.names.plural,
      kind: s.names.kind,
      namespaced: s.scope === 'Namespaced',
      shortNames: s.names.shortNames,
      categories: s.names.categories,
      statusSubresource,
      nameValidator: dns1123Subdomain,
      fieldLabels,
      columns: printerColumns(v),
      allowUnconditionalUpdate: false,
      generation: true,
      hooks: {
        prepareForCreate(obj) {
          if (statusSubresource) delete obj.status;
        },
        normalize: schema ? (obj) => schema.normalize(obj) : undefined,
        validate: schema ? (obj) => schema.validate(obj) : undefined,
      },
    });
    info.singular = s.names.singular ?? s.names.kind.toLowerCase();
    info.listKind = s.names.listKind ?? `${s.names.kind}List`;
    info.strategicMergePatch = false;
    info.crd = crd.metadata.name;
    info.schema = v.schema?.openAPIV3Schema;
    out.push(info);
  }
  return out;
}

/** Keeps the registry in step with the stored CRDs: what a CRD defines is served while it exists. */
export function serveCrds(store: Store, registry: Registry): () => void {
  for (const e of store.list(crdsKey)) for (const info of crdResources(e.obj)) registry.register(info);
  return store.subscribe(crdsKey, (ev) => {
    const name = ev.entry.obj.metadata.name ?? '';
    registry.unregisterCrd(name);
    if (ev.type !== 'DELETED') for (const info of crdResources(ev.entry.obj)) registry.register(info);
  });
}

/** The customresourcedefinitions resource itself. */
export function crdResourceInfo(): ResourceInfo {
  return makeInfo({
    group: 'apiextensions.k8s.io',
    plural: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    statusSubresource: true,
    generation: true,
    columns: [nameColumn, { ...ageColumn, name: 'Created At' }],
    hooks: crdHooks,
  });
}
