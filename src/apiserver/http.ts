// The HTTP face: routes a Kubernetes REST path to discovery or to a verb on a resource,
// negotiates JSON vs Table, and turns every failure into a Status body with the right code.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditLog } from './audit.ts';
import { decodeJson, decodeObject, mediaType, readBody } from './body.ts';
import type { Discovery } from './discovery.ts';
import { serverVersion } from './discovery.ts';
import { ApiError, badRequest, internalError, methodNotAllowed, pageNotFound } from './errors.ts';
import type { Faults } from './faults.ts';
import {
  type DeleteOptions,
  type FieldValidation,
  namespacesKey,
  type ObjectApi,
  type WriteResult,
} from './objects.ts';
import type { OpenApi } from './openapi.ts';
import type { ResourceInfo } from './registry.ts';
import type { Entry } from './store.ts';
import { type TableRequest, toTable, wantsTable } from './table.ts';
import { isRecord } from './types.ts';
import type { WatchHub } from './watch.ts';

export interface HttpContext {
  api: ObjectApi;
  discovery: Discovery;
  watches: WatchHub;
  faults: Faults;
  openapi: OpenApi;
  /** host:port as clients reach it. */
  serverAddress(): string;
  /** Called with each request that failed with a 5xx. */
  onServerError?(err: unknown, req: IncomingMessage): void;
  /** Records every resource request (opt-in). */
  audit?: AuditLog;
}

interface Target {
  info: ResourceInfo;
  namespace: string;
  name: string;
  subresource: string;
  /** Legacy /watch/ prefix. */
  watchPrefix: boolean;
}

const jsonType = 'application/json';

function send(
  res: ServerResponse,
  code: number,
  body: string,
  headers: Record<string, string | string[]> = {},
): void {
  res.writeHead(code, { 'Content-Type': jsonType, 'Cache-Control': 'no-cache, private', ...headers });
  res.end(body);
}

function sendError(res: ServerResponse, err: ApiError): void {
  const headers: Record<string, string> = {};
  if (err.details?.retryAfterSeconds) headers['Retry-After'] = String(err.details.retryAfterSeconds);
  send(res, err.code, JSON.stringify(err.toStatus()), headers);
}

function warningHeaders(warnings: string[]): Record<string, string[]> {
  return warnings.length ? { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) } : {};
}

/** The object as the requested version sees it (only apiVersion differs between CRD versions). */
function entryJson(entry: Entry, info: ResourceInfo): string {
  return entry.obj.apiVersion === info.apiVersion
    ? entry.json
    : JSON.stringify({ ...entry.obj, apiVersion: info.apiVersion });
}

function resolve(api: ObjectApi, group: string, version: string, rest: string[]): Target | undefined {
  let watchPrefix = false;
  if (rest[0] === 'watch') {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  const reg = api.registry;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const info = reg.lookup(group, version, rest[2]!);
    if (info?.namespaced) {
      if (rest.length > 5) return undefined;
      return { info, namespace: rest[1]!, name: rest[3] ?? '', subresource: rest[4] ?? '', watchPrefix };
    }
    // else /api/v1/namespaces/<name>/<subresource>
  }
  const info = reg.lookup(group, version, rest[0] ?? '');
  if (!info || rest.length > 3) return undefined;
  const name = rest[1] ?? '';
  if (info.namespaced && name !== '') return undefined;
  return { info, namespace: '', name, subresource: rest[2] ?? '', watchPrefix };
}

function verbOf(method: string, t: Target, q: URLSearchParams): string {
  const watch = t.watchPrefix || q.get('watch') === 'true' || q.get('watch') === '1';
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (watch) return 'watch';
      return t.name ? 'get' : 'list';
    case 'POST':
      return t.subresource ? 'create' : t.name ? 'invalid' : 'create';
    case 'PUT':
      return t.name ? 'update' : 'invalid';
    case 'PATCH':
      return t.name ? 'patch' : 'invalid';
    case 'DELETE':
      return t.name ? 'delete' : 'deletecollection';
    default:
      return 'invalid';
  }
}

function fieldValidation(q: URLSearchParams): FieldValidation {
  const v = q.get('fieldValidation');
  if (v === 'Strict' || v === 'Ignore') return v;
  return 'Warn';
}

function deleteOptions(body: string, q: URLSearchParams): DeleteOptions {
  const opts: DeleteOptions = {};
  let raw: Record<string, unknown> = {};
  if (body.trim() !== '') {
    const parsed = decodeJson(body, 'json parse error');
    if (isRecord(parsed)) raw = parsed;
  }
  const policy = q.get('propagationPolicy') ?? raw.propagationPolicy;
  if (policy !== undefined && policy !== null) {
    if (policy !== 'Background' && policy !== 'Foreground' && policy !== 'Orphan') {
      throw new ApiError(
        422,
        'Invalid',
        `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
      );
    }
    opts.propagationPolicy = policy;
  } else if (raw.orphanDependents === true || q.get('orphanDependents') === 'true') {
    opts.propagationPolicy = 'Orphan';
  }
  if (isRecord(raw.preconditions)) opts.preconditions = raw.preconditions as DeleteOptions['preconditions'];
  if ((Array.isArray(raw.dryRun) && raw.dryRun.includes('All')) || q.get('dryRun') === 'All')
    opts.dryRun = true;
  return opts;
}

function int(q: URLSearchParams, key: string): number | undefined {
  const v = q.get(key);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw badRequest(`invalid ${key}: ${v}`);
  return n;
}

export function createHandler(ctx: HttpContext): (req: IncomingMessage, res: ServerResponse) => void {
  const { api } = ctx;

  function listBody(
    info: ResourceInfo,
    items: Entry[],
    meta: Record<string, unknown>,
    table: TableRequest | undefined,
  ): string {
    if (table)
      return JSON.stringify(
        toTable(
          info,
          items.map((e) => e.obj),
          table,
          meta,
        ),
      );
    const parts = new Array<string>(items.length);
    for (let i = 0; i < items.length; i++) parts[i] = entryJson(items[i]!, info);
    return `{"kind":"${info.listKind}","apiVersion":"${info.apiVersion}","metadata":${JSON.stringify(meta)},"items":[${parts.join(',')}]}`;
  }

  function objectBody(info: ResourceInfo, entry: Entry, table: TableRequest | undefined): string {
    if (table)
      return JSON.stringify(toTable(info, [entry.obj], table, { resourceVersion: String(entry.rv) }));
    return entryJson(entry, info);
  }

  async function handleResource(
    req: IncomingMessage,
    res: ServerResponse,
    t: Target,
    q: URLSearchParams,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const verb = verbOf(method, t, q);
    const { info } = t;
    ctx.audit?.record(req, res, {
      verb,
      apiGroup: info.group,
      resource: info.plural,
      subresource: t.subresource,
      namespace: t.namespace,
      name: t.name,
    });
    if (verb === 'invalid' || (!t.subresource && !info.verbs.includes(verb))) {
      throw methodNotAllowed('the server does not allow this method on the requested resource');
    }
    if (t.subresource && t.subresource !== 'status' && !info.subresources.includes(t.subresource))
      throw pageNotFound();
    if (t.subresource === 'status' && !info.statusSubresource) throw pageNotFound();
    const fault = ctx.faults.take({
      verb,
      resource: t.subresource ? `${info.plural}/${t.subresource}` : info.plural,
      namespace: t.namespace,
      name: t.name,
    });
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault?.error) throw fault.error;
    const accept = req.headers.accept;
    if (accept && !/json|\*\/\*|yaml/.test(accept)) {
      throw new ApiError(
        406,
        'NotAcceptable',
        `only the following media types are accepted: application/json, application/yaml`,
      );
    }
    const table =
      verb === 'get' || verb === 'list' || verb === 'watch'
        ? wantsTable(accept, q.get('includeObject'))
        : undefined;
    const dryRun = q.get('dryRun') === 'All';
    const ns = t.namespace;
    const reply = (code: number, r: WriteResult) =>
      send(res, code, entryJson(r.entry, info), warningHeaders(r.warnings));

    switch (verb) {
      case 'get':
        send(res, 200, objectBody(info, api.get(info, ns, t.name), table));
        return;
      case 'list': {
        const r = api.list(info, ns, {
          labelSelector: q.get('labelSelector'),
          fieldSelector: q.get('fieldSelector'),
          limit: int(q, 'limit'),
          continue: q.get('continue'),
          resourceVersion: q.get('resourceVersion'),
          resourceVersionMatch: q.get('resourceVersionMatch'),
        });
        const meta: Record<string, unknown> = { resourceVersion: String(r.resourceVersion) };
        if (r.continue) meta.continue = r.continue;
        if (r.remainingItemCount !== undefined) meta.remainingItemCount = r.remainingItemCount;
        send(res, 200, listBody(info, r.items, meta, table));
        return;
      }
      case 'watch':
        ctx.watches.open(res, {
          info,
          namespace: ns,
          labelSelector: q.get('labelSelector'),
          fieldSelector: t.name ? `metadata.name=${t.name}` : q.get('fieldSelector'),
          resourceVersion: q.get('resourceVersion'),
          allowWatchBookmarks: q.get('allowWatchBookmarks') === 'true',
          sendInitialEvents: q.get('sendInitialEvents') === 'true',
          timeoutSeconds: int(q, 'timeoutSeconds'),
          table,
        });
        return;
    }

    const text = await readBody(req);
    switch (verb) {
      case 'create': {
        const body = decodeObject(text, req.headers['content-type']);
        const binding =
          info.key === '/bindings'
            ? isRecord(body) && isRecord(body.metadata)
              ? String(body.metadata.name)
              : ''
            : t.subresource === 'binding'
              ? t.name
              : undefined;
        if (binding !== undefined) {
          api.bind(api.registry.lookup('', 'v1', 'pods')!, ns, binding, body);
          send(
            res,
            201,
            JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }),
          );
          return;
        }
        if (t.name) throw methodNotAllowed('the server does not allow this method on the requested resource');
        reply(201, api.create(info, ns, body, { dryRun, fieldValidation: fieldValidation(q) }));
        return;
      }
      case 'update': {
        const body = decodeObject(text, req.headers['content-type']);
        if (t.subresource === 'finalize' && info.key === namespacesKey) {
          const spec = isRecord(body) && isRecord(body.spec) ? body.spec : {};
          if (Array.isArray(spec.finalizers) && spec.finalizers.length === 0) api.finalizeNamespace(t.name);
          const left = api.store.get(namespacesKey, '', t.name);
          send(res, 200, left ? left.json : text);
          return;
        }
        reply(
          200,
          api.update(info, ns, t.name, body, {
            dryRun,
            fieldValidation: fieldValidation(q),
            subresource: t.subresource,
          }),
        );
        return;
      }
      case 'patch': {
        const type = mediaType(req.headers['content-type']);
        const patch = decodeJson(text, 'error decoding patch');
        reply(
          200,
          api.patch(info, ns, t.name, type, patch, {
            dryRun,
            fieldValidation: fieldValidation(q),
            subresource: t.subresource,
          }),
        );
        return;
      }
      case 'delete': {
        const r = api.delete(info, ns, t.name, deleteOptions(text, q));
        send(res, r.deleted ? 200 : 202, entryJson(r.entry, info));
        return;
      }
      case 'deletecollection': {
        const opts = deleteOptions(text, q);
        const gone = api.deleteCollection(
          info,
          ns,
          { labelSelector: q.get('labelSelector'), fieldSelector: q.get('fieldSelector') },
          opts,
        );
        send(
          res,
          200,
          listBody(info, gone, { resourceVersion: String(api.store.resourceVersion) }, undefined),
        );
        return;
      }
    }
  }

  function handleNonResource(path: string, res: ServerResponse): boolean {
    switch (path) {
      case '/version':
      case '/version/':
        send(res, 200, JSON.stringify(serverVersion));
        return true;
      case '/healthz':
      case '/livez':
      case '/readyz':
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('ok');
        return true;
      case '/api':
      case '/api/':
        send(res, 200, ctx.discovery.apiVersions(ctx.serverAddress()));
        return true;
      case '/apis':
      case '/apis/':
        send(res, 200, ctx.discovery.groupList());
        return true;
      case '/':
        send(
          res,
          200,
          JSON.stringify({
            paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/readyz', '/version'],
          }),
        );
        return true;
    }
    return false;
  }

  function handleOpenApi(segs: string[], res: ServerResponse): void {
    let doc: string | undefined;
    if (segs.length === 2) doc = ctx.openapi.root();
    else if (segs[2] === 'api' && segs.length === 4) doc = ctx.openapi.doc('', segs[3]!);
    else if (segs[2] === 'apis' && segs.length === 5) doc = ctx.openapi.doc(segs[3]!, segs[4]!);
    if (doc === undefined) throw pageNotFound();
    send(res, 200, doc);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://apiserver');
    const path = url.pathname;
    if (handleNonResource(path, res)) return;
    const segs = path
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    if (segs[0] === 'openapi' && segs[1] === 'v3') {
      handleOpenApi(segs, res);
      return;
    }
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 2) {
      group = '';
      version = segs[1]!;
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 2) {
      group = segs[1]!;
      if (segs.length === 2) {
        const doc = ctx.discovery.apiGroup(group);
        if (!doc) throw pageNotFound();
        send(res, 200, doc);
        return;
      }
      version = segs[2]!;
      rest = segs.slice(3);
    } else {
      throw pageNotFound();
    }
    if (rest.length === 0) {
      const doc = ctx.discovery.resourceList(group, version);
      if (!doc) throw pageNotFound();
      send(res, 200, doc);
      return;
    }
    const target = resolve(api, group, version, rest);
    if (!target) throw pageNotFound();
    await handleResource(req, res, target, url.searchParams);
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      const apiErr = err instanceof ApiError ? err : internalError(err);
      if (apiErr.code >= 500) ctx.onServerError?.(err, req);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Drain what the client is still sending, so the connection stays usable.
      req.resume();
      sendError(res, apiErr);
    });
  };
}
