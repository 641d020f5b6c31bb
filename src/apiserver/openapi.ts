// OpenAPI v3 documents, only as far as clients read them: kubectl checks that PATCH of a kind takes the
// fieldValidation query parameter (then it leaves validation to the server), and whether the PATCH takes
// strategic merge patches (it does not say so: kubectl then computes strategic patches of built-in kinds
// from its own types and merge patches for custom resources). CRD schemas are included as components.
import { createHash } from 'node:crypto';
import { groupVersion, type Registry, type ResourceInfo } from './registry.ts';

function pathParams(namespaced: boolean): unknown[] {
  const p: unknown[] = [
    { name: 'name', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } },
  ];
  if (namespaced)
    p.push({ name: 'namespace', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } });
  return p;
}

const writeParams = [
  { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
  { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
  { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
];

function schemaName(info: ResourceInfo): string {
  const g = info.group ? info.group.split('.').reverse().join('.') : 'io.k8s.api.core';
  return `${g}.${info.version}.${info.kind}`;
}

function itemPath(info: ResourceInfo): string {
  const prefix = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  return info.namespaced
    ? `${prefix}/namespaces/{namespace}/${info.plural}/{name}`
    : `${prefix}/${info.plural}/{name}`;
}

function operation(info: ResourceInfo, action: string, ref: string, body: string[]): Record<string, unknown> {
  const op: Record<string, unknown> = {
    operationId: `${action}${info.kind}`,
    parameters: writeParams,
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: ref } } } } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: info.group, version: info.version, kind: info.kind },
  };
  op.requestBody = {
    content: Object.fromEntries(body.map((t) => [t, { schema: { type: 'object' } }])),
    required: true,
  };
  return op;
}

export class OpenApi {
  private cache = new Map<string, string>();
  private cachedAt = -1;

  constructor(
    private readonly registry: Registry,
    private readonly schemaOf: (info: ResourceInfo) => unknown,
  ) {}

  private fresh(): void {
    if (this.cachedAt !== this.registry.generation) {
      this.cache = new Map();
      this.cachedAt = this.registry.generation;
    }
  }

  private groupVersions(): [string, string][] {
    const out: [string, string][] = [];
    for (const g of this.registry.groups()) for (const v of this.registry.versions(g)) out.push([g, v]);
    return out;
  }

  /** /openapi/v3: one entry per group-version, with a hash so clients can cache. */
  root(): string {
    this.fresh();
    let s = this.cache.get('/');
    if (s === undefined) {
      const paths: Record<string, unknown> = {};
      for (const [g, v] of this.groupVersions()) {
        const key = g ? `apis/${g}/${v}` : `api/${v}`;
        const hash = createHash('sha256')
          .update(this.doc(g, v) ?? '')
          .digest('hex')
          .slice(0, 32)
          .toUpperCase();
        paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
      }
      s = JSON.stringify({ paths });
      this.cache.set('/', s);
    }
    return s;
  }

  /** /openapi/v3/api/v1 or /openapi/v3/apis/<group>/<version>. */
  doc(group: string, version: string): string | undefined {
    this.fresh();
    const key = groupVersion(group, version);
    let s = this.cache.get(key);
    if (s !== undefined) return s;
    const infos = this.registry.inGroupVersion(group, version);
    if (infos.length === 0) return undefined;
    const paths: Record<string, unknown> = {};
    const schemas: Record<string, unknown> = {};
    for (const info of infos) {
      const name = schemaName(info);
      const ref = `#/components/schemas/${name}`;
      schemas[name] = {
        ...((this.schemaOf(info) as Record<string, unknown> | undefined) ?? {
          type: 'object',
          'x-kubernetes-preserve-unknown-fields': true,
        }),
        'x-kubernetes-group-version-kind': [{ group: info.group, version: info.version, kind: info.kind }],
      };
      paths[itemPath(info)] = {
        parameters: pathParams(info.namespaced),
        get: { ...operation(info, 'get', ref, []), parameters: [], requestBody: undefined },
        put: operation(info, 'put', ref, ['*/*']),
        patch: operation(info, 'patch', ref, ['application/json-patch+json', 'application/merge-patch+json']),
        delete: { ...operation(info, 'delete', ref, []), requestBody: undefined },
      };
    }
    s = JSON.stringify({
      openapi: '3.0.0',
      info: { title: 'Kubernetes', version: 'v1.32.0' },
      paths,
      components: { schemas },
    });
    this.cache.set(key, s);
    return s;
  }
}
