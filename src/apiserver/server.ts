// The embedded API server: startApiServer() wires storage, registry, lifecycle controllers, watches,
// optional persistence and TLS, listens on loopback and returns a handle with url, kubeconfig and close().
import { writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AuditLog } from './audit.ts';
import { builtinResources } from './builtins.ts';
import { crdResourceInfo, serveCrds } from './crd.ts';
import { Discovery } from './discovery.ts';
import { ApiError, badRequest } from './errors.ts';
import { Faults } from './faults.ts';
import { Lifecycle } from './gc.ts';
import { createHandler } from './http.ts';
import { kubeconfigYaml } from './kubeconfig.ts';
import { readManifests } from './manifests.ts';
import { ObjectApi } from './objects.ts';
import { OpenApi } from './openapi.ts';
import { Persistence, readState } from './persist.ts';
import { rbacResources } from './rbac.ts';
import { Registry } from './registry.ts';
import { reserveServiceAddresses, ServiceIPs } from './service-ips.ts';
import { Store } from './store.ts';
import { selfSignedCert } from './tls.ts';
import type { KObject } from './types.ts';
import { WatchHub } from './watch.ts';

export interface ApiServerOptions {
  /** Listen address; loopback by default. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Persist state to this JSON file and restore it at start. */
  stateFile?: string;
  /** Longest delay between a change and its write to stateFile (default 200 ms). */
  persistDebounceMs?: number;
  /** Events kept for watch resume; older resourceVersions get 410 Gone (default 10,000). */
  historySize?: number;
  /** Interval of BOOKMARK events for watches that allow them (default 60 s). */
  bookmarkIntervalMs?: number;
  /** Watches end after a random time in [t, 2t] seconds unless the client set timeoutSeconds (default 1800). */
  watchTimeoutSeconds?: number;
  /** A watcher that leaves more than this unread is dropped (default 64 MiB). */
  maxWatchBufferBytes?: number;
  /** Service cluster IP range (default 10.96.0.0/12). */
  serviceCIDR?: string;
  /** Serve HTTPS with a fresh self-signed certificate. */
  tls?: boolean;
  /** Also write the kubeconfig to this path. */
  kubeconfigPath?: string;
  /** Manifest files or folders applied at start (e.g. deploy/crds). */
  manifests?: string[];
  /** Append one JSON line per resource request to this file (see audit.ts). */
  auditLogPath?: string;
  logger?: Logger;
}

export interface ApiServer {
  /** http(s)://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** kubeconfig YAML for kubectl or KubeConfig.loadFromString. */
  readonly kubeconfig: string;
  readonly kubeconfigPath: string | undefined;
  /** PEM of the server certificate when tls is on. */
  readonly caPem: string | undefined;
  /** In-process access to the same objects the HTTP API serves. */
  readonly api: ObjectApi;
  readonly store: Store;
  readonly registry: Registry;
  /** Error injection: the next matching requests fail with a chosen Status. */
  readonly faults: Faults;
  /** Create or update (by apiVersion/kind/name); returns a copy of what is stored. */
  apply(obj: KObject): KObject;
  /** Ends every open watch from the server side (clients should resume). */
  closeWatches(): void;
  /** Forgets the watch history: resuming from any current or older resourceVersion then gets 410 Gone. */
  expireHistory(): void;
  /** Open watch streams. */
  watchCount(): number;
  /** Writes the state file now. */
  flush(): void;
  close(): Promise<void>;
}

const defaultNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

function bootstrap(api: ObjectApi, port: number): void {
  const nsInfo = api.registry.lookup('', 'v1', 'namespaces')!;
  for (const name of defaultNamespaces) {
    if (!api.store.get(nsInfo.key, '', name)) api.create(nsInfo, '', { metadata: { name } });
  }
  const svcInfo = api.registry.lookup('', 'v1', 'services')!;
  if (!api.store.get(svcInfo.key, 'default', 'kubernetes')) {
    api.create(svcInfo, 'default', {
      metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }] },
    });
  }
}

function apply(api: ObjectApi, obj: KObject): KObject {
  const apiVersion = String(obj.apiVersion ?? '');
  const info = api.registry.byKind(apiVersion, String(obj.kind ?? ''));
  if (!info) throw badRequest(`no matches for kind "${obj.kind}" in version "${apiVersion}"`);
  const ns = info.namespaced ? (obj.metadata?.namespace ?? 'default') : '';
  const name = obj.metadata?.name ?? '';
  const body = structuredClone(obj);
  const existing = api.store.get(info.key, ns, name);
  if (!existing) return JSON.parse(api.create(info, ns, body).entry.json) as KObject;
  body.metadata.resourceVersion = existing.obj.metadata.resourceVersion;
  return JSON.parse(api.update(info, ns, name, body).entry.json) as KObject;
}

export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  const host = opts.host ?? '127.0.0.1';
  const restored = opts.stateFile ? readState(opts.stateFile) : undefined;
  const store = new Store({
    historySize: opts.historySize ?? 10_000,
    startRv: restored?.resourceVersion ?? 1,
  });
  const registry = new Registry();
  const serviceIPs = new ServiceIPs(opts.serviceCIDR ?? '10.96.0.0/12');
  for (const info of builtinResources(serviceIPs)) registry.register(info);
  for (const info of rbacResources()) registry.register(info);
  registry.register(crdResourceInfo());
  const api = new ObjectApi(store, registry);
  for (const [key, objects] of restored?.resources ?? []) store.load(key, objects, restored!.resourceVersion);
  for (const e of store.list('/services')) reserveServiceAddresses(serviceIPs, e.obj);
  const stopCrds = serveCrds(store, registry);
  const lifecycle = new Lifecycle(api);
  lifecycle.indexAll();
  const persistence = opts.stateFile
    ? new Persistence(opts.stateFile, store, opts.persistDebounceMs ?? 200)
    : undefined;

  const faults = new Faults();
  const watches = new WatchHub(store, {
    bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000,
    watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 1800,
    maxBufferedBytes: opts.maxWatchBufferBytes ?? 64 * 1024 * 1024,
  });
  let address = '';
  const handler = createHandler({
    api,
    discovery: new Discovery(registry),
    watches,
    faults,
    openapi: new OpenApi(registry, (info) => info.schema),
    serverAddress: () => address,
    audit: opts.auditLogPath ? new AuditLog(opts.auditLogPath) : undefined,
    onServerError: (err, req) =>
      opts.logger?.error({ err, method: req.method, url: req.url }, 'apiserver request failed'),
  });
  const logged: typeof handler =
    opts.logger?.isLevelEnabled('debug') === true
      ? (req, res) => {
          res.once('finish', () =>
            opts.logger?.debug(
              { method: req.method, url: req.url, code: res.statusCode, accept: req.headers.accept },
              'request',
            ),
          );
          handler(req, res);
        }
      : handler;
  const keys = opts.tls ? selfSignedCert(host) : undefined;
  const server: Server = keys
    ? createHttpsServer({ key: keys.key, cert: keys.cert }, logged)
    : createHttpServer(logged);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const url = `${keys ? 'https' : 'http'}://${address}`;

  bootstrap(api, port);
  for (const path of opts.manifests ?? []) {
    for (const obj of readManifests(path)) {
      try {
        apply(api, obj);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        throw new Error(`${path}: ${obj.kind} ${obj.metadata?.name}: ${e.message}`);
      }
    }
  }

  const kubeconfig = kubeconfigYaml({ server: url, caPem: keys?.cert });
  if (opts.kubeconfigPath) writeFileSync(opts.kubeconfigPath, kubeconfig, { mode: 0o600 });
  opts.logger?.info(
    { url, stateFile: opts.stateFile, restored: restored !== undefined },
    'apiserver listening',
  );

  let closed = false;
  return {
    url,
    port,
    kubeconfig,
    kubeconfigPath: opts.kubeconfigPath,
    caPem: keys?.cert,
    api,
    store,
    registry,
    faults,
    apply: (obj) => apply(api, obj),
    closeWatches: () => watches.closeAll(),
    expireHistory: () => store.history.reset(store.resourceVersion + 1),
    watchCount: () => watches.count,
    flush: () => persistence?.flush(),
    async close() {
      if (closed) return;
      closed = true;
      watches.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      persistence?.close();
      lifecycle.close();
      stopCrds();
    },
  };
}
