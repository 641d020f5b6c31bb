// Watches and informers: events stream at once, resume from a resourceVersion, 410 Gone when too old,
// informers that survive a server-side close and re-list after a 410, bookmarks, selector transitions.
import { CoreV1Api, makeInformer, type V1ConfigMap, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, startTestServer, type TestServer } from './helpers.ts';

let t: TestServer;
let core: CoreV1Api;

beforeAll(async () => {
  t = await startTestServer({ historySize: 50, bookmarkIntervalMs: 100 });
  core = t.kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'w' } } });
});
afterAll(() => t.close());

const cm = (
  name: string,
  labels: Record<string, string> = {},
  data: Record<string, string> = {},
): V1ConfigMap => ({
  metadata: { name, labels },
  data,
});

interface Seen {
  type: string;
  name: string;
  rv: string;
  code?: number;
}

/** Opens a client-node watch and collects its events until stopped. */
async function collect(path: string, params: Record<string, string | number | boolean | undefined>) {
  const events: Seen[] = [];
  let done: unknown = 'open';
  const ctl = await new Watch(t.kc).watch(
    path,
    params,
    (type, obj: { metadata?: { name?: string; resourceVersion?: string }; code?: number }) => {
      events.push({
        type,
        name: obj.metadata?.name ?? '',
        rv: obj.metadata?.resourceVersion ?? '',
        code: obj.code,
      });
    },
    (err) => {
      done = err;
    },
  );
  return { events, stop: () => ctl.abort(), done: () => done };
}

describe('watch', () => {
  test('events arrive as they happen, in resourceVersion order', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: 'w' });
    const w = await collect('/api/v1/namespaces/w/configmaps', {
      resourceVersion: list.metadata?.resourceVersion,
    });
    const t0 = Date.now();
    await core.createNamespacedConfigMap({ namespace: 'w', body: cm('a') });
    await eventually(() => expect(w.events).toHaveLength(1));
    expect(Date.now() - t0).toBeLessThan(1000);
    await core.patchNamespacedConfigMap({
      name: 'a',
      namespace: 'w',
      body: [{ op: 'add', path: '/data', value: { k: 'v' } }],
    });
    await core.deleteNamespacedConfigMap({ name: 'a', namespace: 'w' });
    await eventually(() => expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']));
    const rvs = w.events.map((e) => Number(e.rv));
    expect(rvs).toEqual([...rvs].sort((x, y) => x - y));
    w.stop();
  });

  test('resume from a resourceVersion replays what came after it', async () => {
    const created = await core.createNamespacedConfigMap({ namespace: 'w', body: cm('r1') });
    await core.createNamespacedConfigMap({ namespace: 'w', body: cm('r2') });
    await core.createNamespacedConfigMap({ namespace: 'w', body: cm('r3') });
    const w = await collect('/api/v1/namespaces/w/configmaps', {
      resourceVersion: created.metadata?.resourceVersion,
    });
    await eventually(() => expect(w.events.map((e) => e.name)).toEqual(['r2', 'r3']));
    w.stop();
  });

  test('without a resourceVersion the watch starts with the current objects', async () => {
    const w = await collect('/api/v1/namespaces/w/configmaps', { labelSelector: 'initial=yes' });
    await core.createNamespacedConfigMap({ namespace: 'w', body: cm('i1', { initial: 'yes' }) });
    await eventually(() => expect(w.events.map((e) => `${e.type}:${e.name}`)).toEqual(['ADDED:i1']));
    w.stop();
    const again = await collect('/api/v1/namespaces/w/configmaps', { labelSelector: 'initial=yes' });
    await eventually(() => expect(again.events.map((e) => `${e.type}:${e.name}`)).toEqual(['ADDED:i1']));
    again.stop();
  });

  test('a too-old resourceVersion gets an ERROR event with a 410 Status, then the stream ends', async () => {
    for (let i = 0; i < 60; i++)
      await core.createNamespacedConfigMap({ namespace: 'w', body: cm(`old${i}`) });
    const w = await collect('/api/v1/namespaces/w/configmaps', { resourceVersion: '2' });
    await eventually(() => expect(w.done()).toBeNull());
    expect(w.events).toEqual([{ type: 'ERROR', name: '', rv: '', code: 410 }]);
  });

  test('objects moving out of a label selector are DELETED for that watcher, moving in ADDED', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: 'w' });
    const w = await collect('/api/v1/namespaces/w/configmaps', {
      resourceVersion: list.metadata?.resourceVersion,
      labelSelector: 'tier=front',
    });
    await core.createNamespacedConfigMap({ namespace: 'w', body: cm('sel', { tier: 'back' }) });
    await core.patchNamespacedConfigMap({
      name: 'sel',
      namespace: 'w',
      body: [{ op: 'replace', path: '/metadata/labels/tier', value: 'front' }],
    });
    await core.patchNamespacedConfigMap({
      name: 'sel',
      namespace: 'w',
      body: [{ op: 'replace', path: '/metadata/labels/tier', value: 'back' }],
    });
    await eventually(() => expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'DELETED']));
    w.stop();
  });

  test('bookmarks carry the current resourceVersion when allowed', async () => {
    const w = await collect('/api/v1/namespaces/w/configmaps', {
      resourceVersion: String(t.server.store.resourceVersion),
      allowWatchBookmarks: true,
    });
    await eventually(() => expect(w.events.some((e) => e.type === 'BOOKMARK')).toBe(true));
    const b = w.events.find((e) => e.type === 'BOOKMARK')!;
    expect(Number(b.rv)).toBeGreaterThan(0);
    w.stop();
  });

  test('timeoutSeconds ends the watch from the server side', async () => {
    const w = await collect('/api/v1/namespaces/w/configmaps', {
      resourceVersion: String(t.server.store.resourceVersion),
      timeoutSeconds: 1,
    });
    await eventually(() => expect(w.done()).toBeNull(), 3000);
  });
});

describe('informer', () => {
  test('keeps its cache through a server-side watch close and through a 410 re-list', async () => {
    await core.createNamespace({ body: { metadata: { name: 'inf' } } });
    await core.createNamespacedConfigMap({ namespace: 'inf', body: cm('before') });
    let lists = 0;
    const informer = makeInformer(t.kc, '/api/v1/namespaces/inf/configmaps', () => {
      lists++;
      return core.listNamespacedConfigMap({ namespace: 'inf' });
    });
    const adds: string[] = [];
    const deletes: string[] = [];
    const errors: unknown[] = [];
    informer.on('add', (o) => adds.push(o.metadata?.name ?? ''));
    informer.on('delete', (o) => deletes.push(o.metadata?.name ?? ''));
    informer.on('error', (e) => errors.push(e));
    await informer.start();
    await eventually(() => expect(adds).toEqual(['before']));
    expect(lists).toBe(1);

    // 1. The server ends every watch: the informer resumes from its resourceVersion without re-listing.
    t.server.closeWatches();
    await eventually(() => expect(t.server.watchCount()).toBe(1));
    await core.createNamespacedConfigMap({ namespace: 'inf', body: cm('after-close') });
    await eventually(() => expect(adds).toEqual(['before', 'after-close']));
    expect(lists).toBe(1);

    // 2. The history is gone (as after etcd compaction) and the watch ends: the resume gets 410 and the
    //    informer re-lists; what changed meanwhile reaches it as add/delete from the new list.
    t.server.expireHistory();
    t.server.closeWatches();
    await core.deleteNamespacedConfigMap({ name: 'before', namespace: 'inf' });
    await core.createNamespacedConfigMap({ namespace: 'inf', body: cm('during-gap') });
    await eventually(() => expect(lists).toBe(2));
    await eventually(() => {
      expect(deletes).toContain('before');
      expect(adds).toContain('during-gap');
      expect(
        informer
          .list()
          .map((o) => o.metadata?.name)
          .sort(),
      ).toEqual(['after-close', 'during-gap']);
    });
    await core.createNamespacedConfigMap({ namespace: 'inf', body: cm('after-relist') });
    await eventually(() => expect(informer.get('after-relist', 'inf')).toBeDefined());
    expect(errors).toEqual([]);
    await informer.stop();
  });
});
