// What the controller and the node daemon really ask of the API server, against the list the RBAC is written
// from (src/deploy/api-calls.ts). Both run as the processes a cluster runs (their main.ts), each with a
// kubeconfig whose token is its service account's name, against the embedded API server with its audit log
// on; the scenario takes them through every path that calls the API (start with leader election, a node and
// its gateway, namespaces bound to subnets, an overlapping subnet's Event, pools, VPCs, an underlay network
// (ProviderNetwork, Vlan), pods created and deleted, an IP CR that exists already, KubeVirt kinds served, a graceful stop that releases the Lease).
// The recorded calls must be exactly the listed ones: a call not listed (so possibly not granted) or a
// listed call never made (so possibly granted for nothing) fails.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { type AuditEvent, readAuditLog } from '../../../src/apiserver/audit.ts';
import { readManifests } from '../../../src/apiserver/manifests.ts';
import { type ApiServer, startApiServer } from '../../../src/apiserver/server.ts';
import { callDaemon } from '../../../src/cni/daemon-client.ts';
import { API_CALLS, type ApiCall, type Component } from '../../../src/deploy/api-calls.ts';
import { waitGone } from '../../../src/lab/proc.ts';
import { type Service, startService } from '../../../src/lab/services.ts';
import { eventually, useLab } from '../helpers.ts';

const root = join(import.meta.dirname, '../../..');
const ctx = useLab({ nodes: 1, northd: true });
let api: ApiServer;
let auditLog: string;
const services: Service[] = [];
let core: CoreV1Api;
let custom: CustomObjectsApi;

/** The service account each component runs as, from its workload manifest. */
function userOf(component: Component): string {
  const file =
    component === 'controller' ? 'deploy/controller/deployment.yaml' : 'deploy/daemon/daemonset.yaml';
  const [w] = readManifests(join(root, file));
  const sa = (w!.spec as { template: { spec: { serviceAccountName: string } } }).template.spec
    .serviceAccountName;
  return `system:serviceaccount:${w!.metadata.namespace}:${sa}`;
}

/** The server's kubeconfig with another bearer token: the identity the audit log records. */
function kubeconfigFor(user: string): string {
  const kc = parseYaml(api.kubeconfig) as { users: { user: { token: string } }[] };
  kc.users[0]!.user.token = user;
  const file = join(ctx.lab.dir, `${user.split(':').pop()}.kubeconfig`);
  writeFileSync(file, stringify(kc), { mode: 0o600 });
  return file;
}

const kubeovn = (plural: string) => ({ group: 'kubeovn.io', version: 'v1', plural });
const condition = async (plural: string, name: string, type: string) => {
  const o = (await custom.getClusterCustomObject({ ...kubeovn(plural), name })) as {
    status?: { conditions?: { type: string; status: string }[] };
  };
  return o.status?.conditions?.find((c) => c.type === type)?.status;
};

beforeAll(async () => {
  const lab = ctx.lab;
  auditLog = join(lab.dir, 'audit.jsonl');
  api = await startApiServer({
    port: 0,
    manifests: [join(root, 'deploy/crds'), join(root, 'test/fixtures/kubevirt/crds.yaml')],
    auditLogPath: auditLog,
  });
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  const node = lab.chassis[0]!;
  await core.createNode({
    body: {
      metadata: { name: node.name },
      status: { addresses: [{ type: 'InternalIP', address: node.cfg.underlayIp }] },
    },
  });
  services.push(
    await startService({
      dir: lab.dir,
      name: 'controller',
      entry: 'src/controller/main.ts',
      args: [
        '--kubeconfig',
        kubeconfigFor(userOf('controller')),
        '--ovn-nb-addr',
        lab.central.nb.unixRemotes,
        '--retry-period-ms',
        '500',
        // not the machine's loopback port: other runs may hold it
        '--debug-addr',
        `unix:${join(lab.dir, 'controller-debug.sock')}`,
      ],
      readyLog: /"msg":"synced"/,
    }),
  );
  services.push(
    await startService({
      dir: lab.dir,
      name: 'daemon',
      entry: 'src/daemon/main.ts',
      args: [
        '--node-name',
        node.name,
        '--kubeconfig',
        kubeconfigFor(userOf('daemon')),
        '--ovs-socket',
        node.ovsSock,
        '--bind-socket',
        join(lab.dir, 'daemon.sock'),
        '--node-netns',
        node.cfg.netns,
        '--debug-addr',
        `unix:${join(lab.dir, 'daemon-debug.sock')}`,
      ],
      readyLog: /"msg":"daemon started"/,
    }),
  );
}, 60_000);

afterAll(async () => {
  for (const s of services) await s.stop();
  await api?.close();
});

/** The entry an audit event is an instance of, if any. */
function entryOf(calls: readonly ApiCall[], e: AuditEvent): ApiCall | undefined {
  const resource = e.subresource ? `${e.resource}/${e.subresource}` : e.resource;
  return calls.find(
    (c) =>
      c.verb === e.verb &&
      c.apiGroup === e.apiGroup &&
      c.resource === resource &&
      (c.namespace === undefined || c.namespace === e.namespace) &&
      (c.resourceName === undefined || c.resourceName === e.name),
  );
}

test('the controller and the daemon make exactly the listed API calls', async () => {
  const node = ctx.lab.chassis[0]!.name;
  // the daemon's gateway works: its Node condition says so
  await eventually(async () => {
    const n = await core.readNode({ name: node });
    const c = n.status?.conditions?.find((x) => x.type === 'NetworkUnavailable');
    expect(c?.status).toBe('False');
  }, 30_000);

  // a namespace bound to a subnet; a subnet that overlaps it (refused with an Event)
  await core.createNamespace({ body: { metadata: { name: 'blue' } } });
  const subnet = (name: string, spec: Record<string, unknown>) =>
    custom.createClusterCustomObject({
      ...kubeovn('subnets'),
      body: { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name }, spec },
    });
  await subnet('blue', { cidrBlock: '10.66.0.0/24', namespaces: ['blue'] });
  await subnet('clash', { cidrBlock: '10.66.0.128/25' });
  // a pool; a custom VPC
  await custom.createClusterCustomObject({
    ...kubeovn('ippools'),
    body: {
      apiVersion: 'kubeovn.io/v1',
      kind: 'IPPool',
      metadata: { name: 'pool' },
      spec: { subnet: 'ovn-default', ips: ['10.16.200.10..10.16.200.11'] },
    },
  });
  await custom.createClusterCustomObject({
    ...kubeovn('vpcs'),
    body: { apiVersion: 'kubeovn.io/v1', kind: 'Vpc', metadata: { name: 'tenant' }, spec: {} },
  });
  // a pod whose IP CR exists already with another spec (the controller reads and patches it), and one
  // that comes and goes (its IP CR is deleted)
  await custom.createClusterCustomObject({
    ...kubeovn('ips'),
    body: {
      apiVersion: 'kubeovn.io/v1',
      kind: 'IP',
      metadata: { name: 'kept.default' },
      spec: { podName: 'kept', namespace: 'default', subnet: 'ovn-default', macAddress: '0a:00:00:00:00:99' },
    },
  });
  const pod = (name: string, namespace: string) =>
    core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, namespace },
        spec: { nodeName: node, containers: [{ name: 'c', image: 'pause' }] },
      },
    });
  await pod('kept', 'default');
  await pod('passing', 'blue');
  // an underlay network: its status (the controller's) and the node's labels for it (the daemon's)
  const cr = (plural: string, kind: string, name: string, spec: Record<string, unknown>) =>
    custom.createClusterCustomObject({
      ...kubeovn(plural),
      body: { apiVersion: 'kubeovn.io/v1', kind, metadata: { name }, spec },
    });
  await cr('provider-networks', 'ProviderNetwork', 'net1', { defaultInterface: 'eth1' });
  await cr('vlans', 'Vlan', 'vlan10', { id: 10, provider: 'net1' });
  await eventually(async () => {
    expect(await condition('subnets', 'clash', 'Validated')).toBe('False');
    const events = await core.listNamespacedEvent({ namespace: 'default' });
    expect(events.items.map((e) => e.involvedObject.name)).toContain('clash');
    expect(await condition('ippools', 'pool', 'Ready')).toBe('True');
    expect(await condition('vpcs', 'tenant', 'Ready')).toBe('True');
    const kept = (await custom.getClusterCustomObject({ ...kubeovn('ips'), name: 'kept.default' })) as {
      spec: { macAddress: string };
    };
    expect(kept.spec.macAddress).not.toBe('0a:00:00:00:00:99');
    const passing = await core.readNamespacedPod({ name: 'passing', namespace: 'blue' });
    expect(passing.metadata?.annotations?.['ovn.kubernetes.io/routed']).toBe('true');
    const ns = await core.readNamespace({ name: 'blue' });
    expect(ns.metadata?.annotations?.['ovn.kubernetes.io/logical_switch']).toBe('blue');
    expect(await condition('vlans', 'vlan10', 'Ready')).toBe('True');
    const pn = (await custom.getClusterCustomObject({ ...kubeovn('provider-networks'), name: 'net1' })) as {
      status?: { readyNodes?: string[] };
    };
    expect(pn.status?.readyNodes).toEqual([node]);
  }, 20_000);
  // an ADD for a pod that does not exist: the daemon asks the API whether it does
  const ghostNetns = await ctx.lab.addNetns('ghost');
  const ghost = await callDaemon(
    join(ctx.lab.dir, 'daemon.sock'),
    {
      command: 'ADD',
      cniVersion: '1.0.0',
      containerId: 'ghost0000000',
      netns: `/var/run/netns/${ghostNetns}`,
      ifName: 'eth0',
      podName: 'ghost',
      podNamespace: 'default',
      podUid: '',
      config: { cniVersion: '1.0.0', name: 'ovnk', type: 'ovnk' },
    },
    20_000,
  ).catch((e: unknown) => e);
  expect(ghost).toMatchObject({ code: 11, message: expect.stringMatching(/does not exist/) });
  await core.deleteNamespacedPod({ name: 'passing', namespace: 'blue' });
  await eventually(async () => {
    const ips = (await custom.listClusterCustomObject(kubeovn('ips'))) as {
      items: { metadata: { name: string } }[];
    };
    expect(ips.items.map((i) => i.metadata.name)).not.toContain('passing.blue');
  });
  // a graceful stop: the controller releases its Lease
  for (const s of services) {
    process.kill(s.pid, 'SIGTERM');
    await waitGone(s.pid, 15_000);
  }
  // a request is logged when its response ends: a watch when the server sees its connection close
  await eventually(() => expect(api.watchCount()).toBe(0));

  const events = readAuditLog(auditLog);
  for (const component of ['controller', 'daemon'] as const) {
    const user = userOf(component);
    const made = events.filter((e) => e.user === user);
    const calls = API_CALLS.filter((c) => c.component === component);
    const describe = (e: AuditEvent) =>
      `${e.verb} ${e.apiGroup || 'core'}/${e.resource}${e.subresource ? `/${e.subresource}` : ''}` +
      `${e.namespace ? ` in ${e.namespace}` : ''}${e.name ? ` ${e.name}` : ''}`;
    const unlisted = [...new Set(made.filter((e) => !entryOf(calls, e)).map(describe))];
    const unmade = calls
      .filter((c) => !made.some((e) => entryOf([c], e)))
      .map((c) => `${c.verb} ${c.apiGroup || 'core'}/${c.resource}`);
    expect({ component, unlisted, unmade }).toEqual({ component, unlisted: [], unmade: [] });
    // nothing failed on the server side
    expect(made.filter((e) => e.code >= 500).map(describe)).toEqual([]);
  }
}, 120_000);

test('the audit log attributes each request to its bearer token', () => {
  const users = new Set(readAuditLog(auditLog).map((e) => e.user));
  expect(users).toEqual(new Set([userOf('controller'), userOf('daemon'), 'ovnk-lab-no-auth']));
  expect(readFileSync(auditLog, 'utf8').split('\n')[0]).toMatch(/^\{"user":/);
});
