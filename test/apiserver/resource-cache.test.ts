// The watch-backed cache every component reads Kubernetes through, against the embedded API server going
// away and coming back: it waits for its first list, keeps its process alive while it retries, re-lists
// after a restart (whose history is gone: 410) and reports what changed meanwhile, and says when the API
// server is reachable again.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { execa } from 'execa';
import { afterAll, afterEach, expect, test } from 'vitest';
import { type ApiServer, startApiServer } from '../../src/apiserver/server.ts';
import { ApiHealth } from '../../src/controller/k8s/api-health.ts';
import { ResourceCache } from '../../src/controller/k8s/informer.ts';
import { eventually, kubeconfigForPort } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'resource-cache-'));
const stateFile = join(dir, 'state.json');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A port nothing listens on yet (the server comes there later). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function serve(port: number): Promise<ApiServer> {
  const server = await startApiServer({ port, stateFile, persistDebounceMs: 10 });
  cleanups.push(() => server.close().catch(() => undefined));
  return server;
}

function configMaps(kc: KubeConfig, changes: string[], health?: ApiHealth) {
  const core = kc.makeApiClient(CoreV1Api);
  const cache = new ResourceCache<V1ConfigMap>(
    kc,
    '/api/v1/configmaps',
    () => core.listConfigMapForAllNamespaces(),
    (key) => changes.push(key),
    { health, backoff: { initialMs: 50, maxMs: 300 } },
  );
  cleanups.push(() => cache.stop());
  return { cache, core };
}

const cm = (name: string, data = 'v'): V1ConfigMap => ({ metadata: { name }, data: { k: data } });

test('start() waits for a first list that succeeds; an API server that is not there yet is waited for', async () => {
  const port = await freePort();
  const kc = kubeconfigForPort(port);
  const { cache } = configMaps(kc, []);
  const started = cache.start();
  await sleep(500);
  expect(cache.isSynced).toBe(false);
  await serve(port);
  await kc.makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace: 'default', body: cm('early') });
  await started;
  // the first list may have come before or after the create: either way the cache gets it
  await eventually(() => expect(cache.get('default/early')?.data?.k).toBe('v'));
});

test('an API server restart: the cache re-lists, and reports what was added, changed and deleted meanwhile', async () => {
  const port = await freePort();
  let server = await serve(port);
  const kc = kubeconfigForPort(port);
  const changes: string[] = [];
  const health = new ApiHealth();
  const recovered: string[] = [];
  health.onRecovered((p) => recovered.push(p));
  const { cache, core } = configMaps(kc, changes, health);
  await core.createNamespacedConfigMap({ namespace: 'default', body: cm('stays') });
  await core.createNamespacedConfigMap({ namespace: 'default', body: cm('changes') });
  await core.createNamespacedConfigMap({ namespace: 'default', body: cm('goes') });
  await cache.start();
  expect(cache.list().map((c) => c.metadata?.name)).toEqual(
    expect.arrayContaining(['stays', 'changes', 'goes']),
  );

  await server.close();
  await eventually(() => expect(health.healthy).toBe(false));
  // what happens while this cache cannot see: written through another server on the same state
  const other = await startApiServer({ stateFile, persistDebounceMs: 10 });
  const otherCore = (() => {
    const k = new KubeConfig();
    k.loadFromString(other.kubeconfig);
    return k.makeApiClient(CoreV1Api);
  })();
  await otherCore.replaceNamespacedConfigMap({
    name: 'changes',
    namespace: 'default',
    body: {
      ...(await otherCore.readNamespacedConfigMap({ name: 'changes', namespace: 'default' })),
      data: { k: 'new' },
    },
  });
  await otherCore.deleteNamespacedConfigMap({ name: 'goes', namespace: 'default' });
  await otherCore.createNamespacedConfigMap({ namespace: 'default', body: cm('new') });
  await other.close();
  changes.length = 0;

  server = await serve(port);
  await eventually(() => {
    expect(cache.get('default/changes')?.data?.k).toBe('new');
    expect(cache.get('default/goes')).toBeUndefined();
    expect(cache.get('default/new')).toBeDefined();
  }, 10_000);
  expect(changes.sort()).toEqual(['default/changes', 'default/goes', 'default/new']);
  expect(health.healthy).toBe(true);
  expect(recovered).toContain('/api/v1/configmaps');
  // and it watches again: a change after the restart arrives
  await core.createNamespacedConfigMap({ namespace: 'default', body: cm('after') });
  await eventually(() => expect(cache.get('default/after')).toBeDefined());
});

test('watches of one process share their recovery: one that reaches the API server wakes the others from their backoff', async () => {
  const port = await freePort();
  const kc = kubeconfigForPort(port);
  const core = kc.makeApiClient(CoreV1Api);
  const health = new ApiHealth();
  const list = () => core.listConfigMapForAllNamespaces();
  const quick = new ResourceCache<V1ConfigMap>(kc, '/api/v1/configmaps', list, () => {}, {
    health,
    backoff: { initialMs: 100, maxMs: 100 },
  });
  // on its own this one would next try 20 s after its first failure
  const slow = new ResourceCache<V1ConfigMap>(kc, '/api/v1/configmaps', list, () => {}, {
    health,
    backoff: { initialMs: 20_000, maxMs: 20_000 },
  });
  cleanups.push(
    () => quick.stop(),
    () => slow.stop(),
  );
  void quick.start();
  const slowSynced = slow.start();
  await sleep(500);
  expect(slow.isSynced).toBe(false);
  await serve(port);
  const t0 = Date.now();
  await slowSynced;
  expect(Date.now() - t0).toBeLessThan(10_000);
});

test('stop() before the first list ends the retries and rejects start()', async () => {
  const kc = kubeconfigForPort(await freePort());
  const { cache } = configMaps(kc, []);
  const started = cache.start();
  await sleep(200);
  await cache.stop();
  await expect(started).rejects.toThrow(/stopped before its first list/);
});

test('a process whose API server is away stays alive and retries (it does not run out of work and exit)', async () => {
  const port = await freePort();
  const script = join(import.meta.dirname, 'fixtures/wait-for-api.ts');
  const child = execa(process.execPath, ['--import', 'tsx', script, String(port)], {
    cwd: join(import.meta.dirname, '../..'),
    reject: false,
  });
  cleanups.push(() => child.kill('SIGKILL'));
  await sleep(3_000);
  expect(child.exitCode).toBeNull();
  await serve(port);
  const result = await child;
  expect(result.stdout).toContain('synced');
  expect(result.exitCode).toBe(0);
}, 30_000);
