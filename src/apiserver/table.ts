// Server-side printing: `kubectl get` asks for a meta.k8s.io Table and prints its columns as they come.
import type { ResourceInfo } from './registry.ts';
import type { KObject } from './types.ts';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableRequest {
  /** meta.k8s.io version the client asked for (v1 or v1beta1). */
  version: string;
  includeObject: IncludeObject;
}

function rowObject(obj: KObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export function columnDefinitions(info: ResourceInfo): unknown[] {
  return info.columns.map((c) => ({
    name: c.name,
    type: c.type,
    format: c.format ?? '',
    description: c.description ?? '',
    priority: c.priority,
  }));
}

/** A Table of objects; resourceVersion and continue are the list's. */
export function toTable(
  info: ResourceInfo,
  objects: KObject[],
  req: TableRequest,
  listMeta: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${req.version}`,
    metadata: listMeta,
    columnDefinitions: columnDefinitions(info),
    rows: objects.map((o) => {
      const row: Record<string, unknown> = { cells: info.columns.map((c) => c.cell(o) ?? null) };
      const object = rowObject(o, req.includeObject);
      if (object !== undefined) row.object = object;
      return row;
    }),
  };
}

/** Parses an Accept header; returns the Table request if the client prefers a Table. */
export function wantsTable(
  accept: string | undefined,
  includeObject: string | null,
): TableRequest | undefined {
  if (!accept?.includes('as=Table')) return undefined;
  for (const part of accept.split(',')) {
    const params = new Map(
      part
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    if (params.get('as') === 'Table' && (params.get('g') ?? 'meta.k8s.io') === 'meta.k8s.io') {
      const include = includeObject === 'None' || includeObject === 'Object' ? includeObject : 'Metadata';
      return { version: params.get('v') ?? 'v1', includeObject: include };
    }
  }
  return undefined;
}
