// Deletion semantics: finalizers and deletionTimestamp, namespace deletion, ownerReference garbage
// collection (background, orphan, foreground), and CRD deletion removing its objects and its API.
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { crdDir, eventually, failure, raw, startTestServer, type TestServer } from './helpers.ts';

let t: TestServer;
let core: CoreV1Api;
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

beforeAll(async () => {
  t = await startTestServer({ manifests: [crdDir] });
  core = t.kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'life' } } });
});
afterAll(() => t.close());

const cm = (name: string, extra: Partial<V1ConfigMap['metadata']> = {}): V1ConfigMap => ({
  metadata: { name, ...extra },
});
const gone = async (name: string, namespace = 'life') =>
  expect((await failure(core.readNamespacedConfigMap({ name, namespace }))).code).toBe(404);

describe('finalizers', () => {
  test('delete sets deletionTimestamp (202); removing the last finalizer removes the object', async () => {
    await core.createNamespacedConfigMap({
      namespace: 'life',
      body: cm('held', { finalizers: ['example.com/hold'] }),
    });
    const del = await raw(t.server, 'DELETE', '/api/v1/namespaces/life/configmaps/held');
    expect(del.code).toBe(202);
    const held = await core.readNamespacedConfigMap({ name: 'held', namespace: 'life' });
    expect(held.metadata?.deletionTimestamp).toBeInstanceOf(Date);

    const added = await failure(
      core.patchNamespacedConfigMap(
        {
          name: 'held',
          namespace: 'life',
          body: { metadata: { finalizers: ['example.com/hold', 'x.io/more'] } },
        },
        merge,
      ),
    );
    expect(added.code).toBe(422);
    expect(added.body.message).toContain('no new finalizers can be added if the object is being deleted');

    await core.patchNamespacedConfigMap(
      { name: 'held', namespace: 'life', body: { metadata: { finalizers: null } } },
      merge,
    );
    await gone('held');
  });

  test('preconditions on delete: a stale resourceVersion is 409', async () => {
    const c = await core.createNamespacedConfigMap({ namespace: 'life', body: cm('pre') });
    await core.patchNamespacedConfigMap(
      { name: 'pre', namespace: 'life', body: { data: { a: 'b' } } },
      merge,
    );
    const f = await failure(
      core.deleteNamespacedConfigMap({
        name: 'pre',
        namespace: 'life',
        body: { preconditions: { resourceVersion: c.metadata?.resourceVersion } },
      }),
    );
    expect(f.code).toBe(409);
    expect(f.body.message).toContain('Precondition failed: ResourceVersion in precondition');
  });
});

describe('garbage collection', () => {
  test('background: dependents of a deleted owner are deleted', async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: 'life', body: cm('owner') });
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! };
    await core.createNamespacedConfigMap({ namespace: 'life', body: cm('dep1', { ownerReferences: [ref] }) });
    await core.createNamespacedConfigMap({
      namespace: 'life',
      body: cm('dep2', { ownerReferences: [{ ...ref, controller: true }] }),
    });
    await core.deleteNamespacedConfigMap({ name: 'owner', namespace: 'life' });
    await eventually(async () => {
      await gone('dep1');
      await gone('dep2');
    });
  });

  test('a dependent with another live owner stays, without the dangling reference', async () => {
    const o1 = await core.createNamespacedConfigMap({ namespace: 'life', body: cm('o1') });
    const o2 = await core.createNamespacedConfigMap({ namespace: 'life', body: cm('o2') });
    const refs = [o1, o2].map((o) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: o.metadata!.name!,
      uid: o.metadata!.uid!,
    }));
    await core.createNamespacedConfigMap({
      namespace: 'life',
      body: cm('shared', { ownerReferences: refs }),
    });
    await core.deleteNamespacedConfigMap({ name: 'o1', namespace: 'life' });
    await eventually(async () => {
      const s = await core.readNamespacedConfigMap({ name: 'shared', namespace: 'life' });
      expect(s.metadata?.ownerReferences?.map((r) => r.name)).toEqual(['o2']);
    });
  });

  test('orphan: dependents stay and lose the reference', async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: 'life', body: cm('orph-owner') });
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'orph-owner', uid: owner.metadata!.uid! };
    await core.createNamespacedConfigMap({
      namespace: 'life',
      body: cm('orphan', { ownerReferences: [ref] }),
    });
    await core.deleteNamespacedConfigMap({
      name: 'orph-owner',
      namespace: 'life',
      propagationPolicy: 'Orphan',
    });
    await eventually(() => gone('orph-owner'));
    const o = await core.readNamespacedConfigMap({ name: 'orphan', namespace: 'life' });
    expect(o.metadata?.ownerReferences).toBeUndefined();
  });

  test('foreground: the owner waits (deletionTimestamp) until its dependents are gone', async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: 'life', body: cm('fg-owner') });
    const ref = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'fg-owner',
      uid: owner.metadata!.uid!,
      blockOwnerDeletion: true,
    };
    await core.createNamespacedConfigMap({
      namespace: 'life',
      body: cm('fg-dep', { ownerReferences: [ref], finalizers: ['example.com/slow'] }),
    });
    await core.deleteNamespacedConfigMap({
      name: 'fg-owner',
      namespace: 'life',
      propagationPolicy: 'Foreground',
    });
    await eventually(async () => {
      const dep = await core.readNamespacedConfigMap({ name: 'fg-dep', namespace: 'life' });
      expect(dep.metadata?.deletionTimestamp).toBeDefined();
    });
    const o = await core.readNamespacedConfigMap({ name: 'fg-owner', namespace: 'life' });
    expect(o.metadata?.finalizers).toContain('foregroundDeletion');
    await core.patchNamespacedConfigMap(
      { name: 'fg-dep', namespace: 'life', body: { metadata: { finalizers: null } } },
      merge,
    );
    await eventually(() => gone('fg-owner'));
  });
});

describe('namespaces', () => {
  test('deleting a namespace deletes its content, then the namespace', async () => {
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedConfigMap({ namespace: 'doomed', body: cm('plain') });
    await core.createNamespacedConfigMap({
      namespace: 'doomed',
      body: cm('sticky', { finalizers: ['example.com/hold'] }),
    });
    await core.createNamespacedPod({
      namespace: 'doomed',
      body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    });
    await core.deleteNamespace({ name: 'doomed' });
    const ns = await core.readNamespace({ name: 'doomed' });
    expect(ns.status?.phase).toBe('Terminating');
    await eventually(async () => {
      expect((await core.listNamespacedPod({ namespace: 'doomed' })).items).toEqual([]);
      await gone('plain', 'doomed');
    });
    const f = await failure(core.createNamespacedConfigMap({ namespace: 'doomed', body: cm('late') }));
    expect(f.code).toBe(403);
    expect(f.body.message).toBe(
      'configmaps "late" is forbidden: unable to create new content in namespace doomed because it is being terminated',
    );
    expect((await core.readNamespace({ name: 'doomed' })).metadata?.name).toBe('doomed');
    await core.patchNamespacedConfigMap(
      { name: 'sticky', namespace: 'doomed', body: { metadata: { finalizers: null } } },
      merge,
    );
    await eventually(async () =>
      expect((await failure(core.readNamespace({ name: 'doomed' }))).code).toBe(404),
    );
  });
});

describe('CRDs', () => {
  test('deleting a CRD deletes its objects and stops serving it', async () => {
    const custom = t.kc.makeApiClient(CustomObjectsApi);
    await custom.createClusterCustomObject({
      group: 'kubeovn.io',
      version: 'v1',
      plural: 'ips',
      body: { apiVersion: 'kubeovn.io/v1', kind: 'IP', metadata: { name: 'p.ns' }, spec: { podName: 'p' } },
    });
    expect((await raw(t.server, 'GET', '/apis/kubeovn.io/v1')).json.resources).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'ips' })]),
    );
    await t.kc.makeApiClient(ApiextensionsV1Api).deleteCustomResourceDefinition({ name: 'ips.kubeovn.io' });
    await eventually(async () =>
      expect((await raw(t.server, 'GET', '/apis/kubeovn.io/v1/ips')).code).toBe(404),
    );
    const names = (
      (await raw(t.server, 'GET', '/apis/kubeovn.io/v1')).json.resources as { name: string }[]
    ).map((r) => r.name);
    expect(names).not.toContain('ips');
    expect(names).toContain('subnets');
  });

  test('a CRD without a schema, or with a name that does not match, is 422', async () => {
    const api = t.kc.makeApiClient(ApiextensionsV1Api);
    const f = await failure(
      api.createCustomResourceDefinition({
        body: {
          metadata: { name: 'wrong.example.com' },
          spec: {
            group: 'example.com',
            names: { plural: 'things', kind: 'Thing' },
            scope: 'Namespaced',
            versions: [{ name: 'v1', served: true, storage: true }],
          },
        } as never,
      }),
    );
    expect(f.code).toBe(422);
    expect(f.body.details?.causes?.map((c) => c.field)).toEqual([
      'metadata.name',
      'spec.versions[0].schema.openAPIV3Schema',
    ]);
  });
});
