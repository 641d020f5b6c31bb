// @kubernetes/client-node against the server: CRUD, list options, patch types, status subresource,
// generation, optimistic concurrency, and the Status bodies of bad requests.
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { crdDir, failure, raw, startTestServer, type TestServer } from './helpers.ts';

let t: TestServer;
let core: CoreV1Api;
let custom: CustomObjectsApi;
const kubeovn = { group: 'kubeovn.io', version: 'v1' };

/** A custom object as CustomObjectsApi returns it (untyped JSON). */
interface Custom {
  apiVersion: string;
  kind: string;
  metadata: { name: string; generation: number; resourceVersion: string };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

const pod = (name: string, labels: Record<string, string> = {}, nodeName?: string): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'busybox:1.36' }], nodeName },
});

beforeAll(async () => {
  t = await startTestServer({ manifests: [crdDir] });
  core = t.kc.makeApiClient(CoreV1Api);
  custom = t.kc.makeApiClient(CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: 'crud' } } });
});
afterAll(() => t.close());

describe('core objects', () => {
  test('create, read, replace, delete a pod; server fields are set', async () => {
    const created = await core.createNamespacedPod({ namespace: 'crud', body: pod('p1', { app: 'web' }) });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.namespace).toBe('crud');
    expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(created.status?.phase).toBe('Pending');
    expect(created.spec?.restartPolicy).toBe('Always');

    const read = await core.readNamespacedPod({ name: 'p1', namespace: 'crud' });
    expect(read.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    read.metadata!.annotations = { note: 'x' };
    const replaced = await core.replaceNamespacedPod({ name: 'p1', namespace: 'crud', body: read });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(
      Number(read.metadata?.resourceVersion),
    );
    expect(replaced.metadata?.annotations).toEqual({ note: 'x' });

    await core.deleteNamespacedPod({ name: 'p1', namespace: 'crud' });
    const gone = await failure(core.readNamespacedPod({ name: 'p1', namespace: 'crud' }));
    expect(gone.code).toBe(404);
    expect(gone.body).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
      message: 'pods "p1" not found',
      details: { name: 'p1', kind: 'pods' },
    });
  });

  test('a duplicate create is 409 AlreadyExists', async () => {
    await core.createNamespacedPod({ namespace: 'crud', body: pod('dup') });
    const f = await failure(core.createNamespacedPod({ namespace: 'crud', body: pod('dup') }));
    expect(f.code).toBe(409);
    expect(f.body).toMatchObject({ reason: 'AlreadyExists', message: 'pods "dup" already exists' });
  });

  test('generateName', async () => {
    const p = await core.createNamespacedPod({
      namespace: 'crud',
      body: { ...pod(''), metadata: { generateName: 'gen-' } },
    });
    expect(p.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
  });

  test('list with label and field selectors, limit and continue', async () => {
    for (let i = 0; i < 7; i++) {
      await core.createNamespacedPod({
        namespace: 'crud',
        body: pod(`l${i}`, { set: 'list', parity: String(i % 2) }, i < 3 ? 'node-a' : 'node-b'),
      });
    }
    const odd = await core.listNamespacedPod({ namespace: 'crud', labelSelector: 'set=list,parity=1' });
    expect(odd.items.map((p) => p.metadata?.name)).toEqual(['l1', 'l3', 'l5']);
    const onA = await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-a' });
    expect(onA.items.map((p) => p.metadata?.name)).toEqual(['l0', 'l1', 'l2']);
    const notA = await core.listNamespacedPod({
      namespace: 'crud',
      labelSelector: 'set=list',
      fieldSelector: 'spec.nodeName!=node-a,metadata.name!=l6',
    });
    expect(notA.items.map((p) => p.metadata?.name)).toEqual(['l3', 'l4', 'l5']);

    const names: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedPod({
        namespace: 'crud',
        labelSelector: 'set=list',
        limit: 3,
        _continue: cont,
      });
      names.push(...page.items.map((p) => p.metadata?.name ?? ''));
      cont = page.metadata?._continue;
      if (cont) expect(page.metadata?.remainingItemCount).toBe(7 - names.length);
      pages++;
    } while (cont);
    expect(pages).toBe(3);
    expect(names).toEqual(['l0', 'l1', 'l2', 'l3', 'l4', 'l5', 'l6']);

    const bad = await failure(core.listNamespacedPod({ namespace: 'crud', fieldSelector: 'spec.nope=1' }));
    expect(bad.code).toBe(400);
    expect(bad.body.message).toContain('field label not supported: spec.nope');
  });

  test('merge, JSON and strategic merge patches', async () => {
    await core.createNamespacedPod({ namespace: 'crud', body: pod('pp', { a: '1' }) });
    const merged = await core.patchNamespacedPod(
      { name: 'pp', namespace: 'crud', body: { metadata: { labels: { a: null, b: '2' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(merged.metadata?.labels).toEqual({ b: '2' });
    const jsonPatched = await core.patchNamespacedPod(
      {
        name: 'pp',
        namespace: 'crud',
        body: [{ op: 'add', path: '/metadata/annotations', value: { k: 'v' } }],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    expect(jsonPatched.metadata?.annotations).toEqual({ k: 'v' });
    const smp = await core.patchNamespacedPod(
      {
        name: 'pp',
        namespace: 'crud',
        body: { spec: { containers: [{ name: 'c', image: 'busybox:1.37' }] } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(smp.spec?.containers.map((c) => [c.name, c.image])).toEqual([['c', 'busybox:1.37']]);
    const failedTest = await failure(
      core.patchNamespacedPod(
        { name: 'pp', namespace: 'crud', body: [{ op: 'test', path: '/metadata/labels/b', value: 'x' }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      ),
    );
    expect(failedTest.code).toBe(422);
    const forbidden = await failure(
      core.patchNamespacedPod(
        { name: 'pp', namespace: 'crud', body: { spec: { nodeName: 'elsewhere' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(forbidden.code).toBe(422);
    expect(forbidden.body.message).toContain('pod updates may not change fields other than');
  });

  test('pod status goes through /status only; binding assigns a node once', async () => {
    await core.createNamespacedPod({ namespace: 'crud', body: pod('st') });
    const p = await core.readNamespacedPod({ name: 'st', namespace: 'crud' });
    p.status = { phase: 'Running', podIP: '10.16.0.5' };
    const viaMain = await core.replaceNamespacedPod({ name: 'st', namespace: 'crud', body: p });
    expect(viaMain.status?.phase).toBe('Pending');
    p.metadata!.resourceVersion = viaMain.metadata?.resourceVersion;
    const viaStatus = await core.replaceNamespacedPodStatus({ name: 'st', namespace: 'crud', body: p });
    expect(viaStatus.status).toMatchObject({ phase: 'Running', podIP: '10.16.0.5' });
    const byIP = await core.listNamespacedPod({ namespace: 'crud', fieldSelector: 'status.podIP=10.16.0.5' });
    expect(byIP.items.map((x) => x.metadata?.name)).toEqual(['st']);

    await core.createNamespacedBinding({
      namespace: 'crud',
      body: { metadata: { name: 'st' }, target: { kind: 'Node', name: 'n1' } },
    });
    expect((await core.readNamespacedPod({ name: 'st', namespace: 'crud' })).spec?.nodeName).toBe('n1');
    const again = await failure(
      core.createNamespacedBinding({
        namespace: 'crud',
        body: { metadata: { name: 'st' }, target: { kind: 'Node', name: 'n2' } },
      }),
    );
    expect(again.code).toBe(409);
  });

  test('services get a cluster IP from the service CIDR', async () => {
    const svc = await core.createNamespacedService({
      namespace: 'crud',
      body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } },
    });
    expect(svc.spec?.clusterIP).toMatch(/^10\.(9[6-9]|1[01]\d)\.\d+\.\d+$/);
    expect(svc.spec?.clusterIP).not.toBe('10.96.0.1');
    expect(svc.spec?.ports?.[0]).toMatchObject({ port: 80, protocol: 'TCP', targetPort: 80 });
  });

  test('optimistic concurrency: of two writers from the same version, the second gets 409', async () => {
    await core.createNamespacedPod({ namespace: 'crud', body: pod('occ') });
    const a = await core.readNamespacedPod({ name: 'occ', namespace: 'crud' });
    const b = await core.readNamespacedPod({ name: 'occ', namespace: 'crud' });
    a.metadata!.labels = { writer: 'a' };
    b.metadata!.labels = { writer: 'b' };
    await core.replaceNamespacedPod({ name: 'occ', namespace: 'crud', body: a });
    const lost = await failure(core.replaceNamespacedPod({ name: 'occ', namespace: 'crud', body: b }));
    expect(lost.code).toBe(409);
    expect(lost.body).toMatchObject({
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on pods "occ": the object has been modified; please apply your changes to the latest version and try again',
      details: { name: 'occ', kind: 'pods' },
    });
    expect((await core.readNamespacedPod({ name: 'occ', namespace: 'crud' })).metadata?.labels).toEqual({
      writer: 'a',
    });
  });

  test('a no-op update keeps the resourceVersion (no event, no write)', async () => {
    const p = await core.readNamespacedPod({ name: 'occ', namespace: 'crud' });
    const same = await core.replaceNamespacedPod({ name: 'occ', namespace: 'crud', body: p });
    expect(same.metadata?.resourceVersion).toBe(p.metadata?.resourceVersion);
  });

  test('a pod in a missing namespace is 404, in a namespace being deleted 403', async () => {
    const f = await failure(core.createNamespacedPod({ namespace: 'nope', body: pod('x') }));
    expect(f.code).toBe(404);
    expect(f.body.message).toBe('namespaces "nope" not found');
  });
});

describe('custom resources', () => {
  const subnet = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: 'kubeovn.io/v1',
    kind: 'Subnet',
    metadata: { name },
    spec,
  });

  test('status subresource, generation and required resourceVersion', async () => {
    const s = (await custom.createClusterCustomObject({
      ...kubeovn,
      plural: 'subnets',
      body: { ...subnet('s1', { cidrBlock: '10.1.0.0/16' }), status: { v4usingIPs: 9 } },
    })) as Custom;
    expect(s.metadata.generation).toBe(1);
    expect(s.status).toBeUndefined();

    s.status = { v4usingIPs: 3, v4availableIPs: 65530 };
    const st = (await custom.replaceClusterCustomObjectStatus({
      ...kubeovn,
      plural: 'subnets',
      name: 's1',
      body: s,
    })) as Custom;
    expect(st.status).toEqual({ v4usingIPs: 3, v4availableIPs: 65530 });
    expect(st.metadata.generation).toBe(1);

    const labelled = (await custom.patchClusterCustomObject(
      { ...kubeovn, plural: 'subnets', name: 's1', body: { metadata: { labels: { a: 'b' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as Custom;
    expect(labelled.metadata.generation).toBe(1);
    const specChanged = (await custom.patchClusterCustomObject(
      {
        ...kubeovn,
        plural: 'subnets',
        name: 's1',
        body: { spec: { natOutgoing: true }, status: { v4usingIPs: 100 } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as Custom;
    expect(specChanged.metadata.generation).toBe(2);
    expect(specChanged.status?.v4usingIPs).toBe(3);

    const { metadata, ...rest } = specChanged;
    const noRv = await failure(
      custom.replaceClusterCustomObject({
        ...kubeovn,
        plural: 'subnets',
        name: 's1',
        body: { ...rest, metadata: { name: 's1' } },
      }),
    );
    expect(noRv.code).toBe(422);
    expect(noRv.body.message).toContain(
      'metadata.resourceVersion: Invalid value: "0x0": must be specified for an update',
    );

    const smp = await failure(
      custom.patchClusterCustomObject(
        { ...kubeovn, plural: 'subnets', name: 's1', body: { spec: {} } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      ),
    );
    expect(smp.code).toBe(415);
  });

  test('schema violations are 422 Invalid naming each field; nothing is stored', async () => {
    const f = await failure(
      custom.createClusterCustomObject({
        ...kubeovn,
        plural: 'subnets',
        body: subnet('bad', { cidrBlock: 42, gatewayType: 'sideways', mtu: 10 }),
      }),
    );
    expect(f.code).toBe(422);
    expect(f.body.reason).toBe('Invalid');
    expect(f.body.details).toMatchObject({ name: 'bad', group: 'kubeovn.io', kind: 'Subnet' });
    expect(f.body.details?.causes?.map((c) => c.field).sort()).toEqual([
      'spec.cidrBlock',
      'spec.gatewayType',
      'spec.mtu',
    ]);
    expect(f.body.message).toMatch(/^Subnet\.kubeovn\.io "bad" is invalid: \[/);
    expect(f.body.message).toContain(
      'spec.cidrBlock: Invalid value: "integer": spec.cidrBlock in body must be of type string: "integer"',
    );
    expect(f.body.message).toContain(
      'spec.gatewayType: Unsupported value: "sideways": supported values: "distributed", "centralized"',
    );
    const missing = await failure(
      custom.getClusterCustomObject({ ...kubeovn, plural: 'subnets', name: 'bad' }),
    );
    expect(missing.code).toBe(404);
    expect(missing.body.message).toBe('subnets.kubeovn.io "bad" not found');

    const required = await failure(
      custom.createClusterCustomObject({
        ...kubeovn,
        plural: 'ippools',
        body: {
          apiVersion: 'kubeovn.io/v1',
          kind: 'IPPool',
          metadata: { name: 'p' },
          spec: { subnet: 's1' },
        },
      }),
    );
    expect(required.body.details?.causes).toEqual([
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.ips' },
    ]);
  });

  test('unknown fields are pruned with a warning, or rejected with fieldValidation=Strict', async () => {
    const created = (await custom.createClusterCustomObject({
      ...kubeovn,
      plural: 'vpcs',
      body: {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Vpc',
        metadata: { name: 'v1' },
        spec: { namespaces: ['a'], bogus: 1 },
      },
    })) as Custom;
    expect(created.spec).toEqual({ namespaces: ['a'] });
    const strict = await raw(
      t.server,
      'POST',
      '/apis/kubeovn.io/v1/vpcs?fieldValidation=Strict',
      JSON.stringify({
        apiVersion: 'kubeovn.io/v1',
        kind: 'Vpc',
        metadata: { name: 'v2' },
        spec: { bogus: 1 },
      }),
    );
    expect(strict.code).toBe(400);
    expect(strict.json.message).toBe(
      'Vpc in version "v1" cannot be handled as a Vpc: strict decoding error: unknown field "spec.bogus"',
    );
  });

  test('defaults from the schema are applied', async () => {
    const pool = (await custom.createClusterCustomObject({
      ...kubeovn,
      plural: 'ippools',
      body: {
        apiVersion: 'kubeovn.io/v1',
        kind: 'IPPool',
        metadata: { name: 'pool1' },
        spec: { subnet: 's1', ips: ['10.1.0.10..10.1.0.20'] },
      },
    })) as Custom;
    expect(pool.spec.enableAddressSet).toBe(false);
  });
});

describe('bad input gets the Status a real server returns', () => {
  test('malformed JSON and YAML are 400', async () => {
    const r = await raw(t.server, 'POST', '/api/v1/namespaces/crud/pods', '{"metadata": {');
    expect(r.code).toBe(400);
    expect(r.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400 });
    const y = await raw(
      t.server,
      'POST',
      '/api/v1/namespaces/crud/configmaps',
      'metadata: [unclosed',
      'application/yaml',
    );
    expect(y.code).toBe(400);
  });

  test('YAML bodies are accepted', async () => {
    const y = await raw(
      t.server,
      'POST',
      '/api/v1/namespaces/crud/configmaps',
      'metadata:\n  name: from-yaml\ndata:\n  k: v\n',
      'application/yaml',
    );
    expect(y.code).toBe(201);
    expect(y.json.data).toEqual({ k: 'v' });
  });

  test('unknown resources and groups are 404 NotFound', async () => {
    for (const path of [
      '/api/v1/namespaces/crud/widgets',
      '/apis/example.com/v1/things',
      '/apis/kubeovn.io/v9/subnets',
    ]) {
      const r = await raw(t.server, 'GET', path);
      expect(r.code).toBe(404);
      expect(r.json).toMatchObject({
        kind: 'Status',
        reason: 'NotFound',
        message: 'the server could not find the requested resource',
      });
    }
  });

  test('wrong apiVersion or kind in the body is 400; a custom object without kind is 400', async () => {
    const v = await raw(
      t.server,
      'POST',
      '/apis/kubeovn.io/v1/subnets',
      JSON.stringify({
        apiVersion: 'kubeovn.io/v2',
        kind: 'Subnet',
        metadata: { name: 'x' },
        spec: { cidrBlock: '1.0.0.0/8' },
      }),
    );
    expect(v.code).toBe(400);
    expect(v.json.message).toBe(
      'the API version in the data (kubeovn.io/v2) does not match the expected API version (kubeovn.io/v1)',
    );
    const k = await raw(
      t.server,
      'POST',
      '/apis/kubeovn.io/v1/subnets',
      JSON.stringify({ apiVersion: 'kubeovn.io/v1', kind: 'Vpc', metadata: { name: 'x' } }),
    );
    expect(k.code).toBe(400);
    const none = await raw(
      t.server,
      'POST',
      '/apis/kubeovn.io/v1/subnets',
      JSON.stringify({ metadata: { name: 'x' } }),
    );
    expect(none.code).toBe(400);
    expect(String(none.json.message)).toMatch(/^Object 'Kind' is missing in/);
  });

  test('names that are not DNS-1123 are 422 naming metadata.name', async () => {
    const f = await failure(core.createNamespacedPod({ namespace: 'crud', body: pod('Bad_Name') }));
    expect(f.code).toBe(422);
    expect(f.body.details?.causes?.[0]).toMatchObject({
      reason: 'FieldValueInvalid',
      field: 'metadata.name',
    });
    expect(f.body.message).toMatch(
      /^Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    );
    const ns = await failure(core.createNamespace({ body: { metadata: { name: 'a.b' } } }));
    expect(ns.body.message).toContain('a lowercase RFC 1123 label');
    const svc = await failure(
      core.createNamespacedService({
        namespace: 'crud',
        body: { metadata: { name: '1svc' }, spec: { ports: [{ port: 1 }] } },
      }),
    );
    expect(svc.body.message).toContain('a DNS-1035 label');
  });

  test('a pod without containers is 422 with spec.containers: Required value', async () => {
    const f = await failure(
      core.createNamespacedPod({
        namespace: 'crud',
        body: { metadata: { name: 'empty' }, spec: { containers: [] } },
      }),
    );
    expect(f.body.message).toBe('Pod "empty" is invalid: spec.containers: Required value');
  });

  test('a name in the body that differs from the URL is 400', async () => {
    const r = await raw(t.server, 'PUT', '/api/v1/namespaces/crud/pods/dup', JSON.stringify(pod('other')));
    expect(r.code).toBe(400);
    expect(r.json.message).toBe('the name of the object (other) does not match the name on the URL (dup)');
  });

  test('POST on a named object is 405; apply patches are 415', async () => {
    expect((await raw(t.server, 'POST', '/api/v1/namespaces/crud/pods/dup', '{}')).code).toBe(405);
    const apply = await raw(
      t.server,
      'PATCH',
      '/api/v1/namespaces/crud/pods/dup',
      '{}',
      'application/apply-patch+yaml',
    );
    expect(apply.code).toBe(415);
    expect(apply.json.reason).toBe('UnsupportedMediaType');
  });

  test('injected faults fail the next matching requests', async () => {
    t.server.faults.inject({ verb: 'get', resource: 'pods', name: 'dup', code: 503, times: 2 });
    expect((await failure(core.readNamespacedPod({ name: 'dup', namespace: 'crud' }))).code).toBe(503);
    expect((await failure(core.readNamespacedPod({ name: 'dup', namespace: 'crud' }))).body.reason).toBe(
      'ServiceUnavailable',
    );
    expect((await core.readNamespacedPod({ name: 'dup', namespace: 'crud' })).metadata?.name).toBe('dup');
  });

  test('leases (coordination.k8s.io) take any path-segment name', async () => {
    const leases = t.kc.makeApiClient(CoordinationV1Api);
    const l = await leases.createNamespacedLease({
      namespace: 'crud',
      body: { metadata: { name: 'Lock_1' }, spec: { holderIdentity: 'me' } },
    });
    expect(l.spec?.holderIdentity).toBe('me');
  });
});
