// The real kubectl (1.32) against the server: the project's CRDs and manifests, the read and write
// commands a user runs in the lab, and a schema-invalid Subnet rejected with the field named.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { crdDir, kubectl, startTestServer, type TestServer } from './helpers.ts';

let t: TestServer;

const manifests = `
apiVersion: kubeovn.io/v1
kind: Vpc
metadata:
  name: tenant-a
spec:
  namespaces: [tenant-a]
  staticRoutes:
    - { cidr: 0.0.0.0/0, nextHopIP: 10.0.1.254, policy: policyDst }
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata:
  name: tenant-a-net
spec:
  vpc: tenant-a
  cidrBlock: 10.0.1.0/24
  gateway: 10.0.1.1
  excludeIps: [10.0.1.1..10.0.1.10]
  namespaces: [tenant-a]
  gatewayType: distributed
  natOutgoing: false
  protocol: IPv4
---
apiVersion: v1
kind: Namespace
metadata:
  name: tenant-a
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: tenant-a
  labels: { app: web }
  annotations:
    ovn.kubernetes.io/logical_switch: tenant-a-net
spec:
  containers:
    - name: web
      image: nginx:1.27
`;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

test('apply -f the project CRDs, then Vpc, Subnet, Namespace and Pod manifests', async () => {
  const crds = await kubectl(t, ['apply', '-f', crdDir]);
  expect(crds.stderr).toBe('');
  expect(crds.stdout.split('\n').sort()).toEqual([
    'customresourcedefinition.apiextensions.k8s.io/ippools.kubeovn.io created',
    'customresourcedefinition.apiextensions.k8s.io/ips.kubeovn.io created',
    'customresourcedefinition.apiextensions.k8s.io/provider-networks.kubeovn.io created',
    'customresourcedefinition.apiextensions.k8s.io/subnets.kubeovn.io created',
    'customresourcedefinition.apiextensions.k8s.io/vlans.kubeovn.io created',
    'customresourcedefinition.apiextensions.k8s.io/vpcs.kubeovn.io created',
  ]);
  const file = join(t.dir, 'lab.yaml');
  writeFileSync(file, manifests);
  const applied = await kubectl(t, ['apply', '-f', file]);
  expect(applied.stderr).toBe('');
  expect(applied.stdout.split('\n')).toEqual([
    'vpc.kubeovn.io/tenant-a created',
    'subnet.kubeovn.io/tenant-a-net created',
    'namespace/tenant-a created',
    'pod/web created',
  ]);
  const again = await kubectl(t, ['apply', '-f', file]);
  expect(again.stdout).toContain('subnet.kubeovn.io/tenant-a-net unchanged');
  expect(again.stdout).toContain('pod/web unchanged');
  // A changed manifest is a three-way patch: strategic for the Pod, merge for the Subnet.
  writeFileSync(
    file,
    manifests.replace('natOutgoing: false', 'natOutgoing: true').replace('app: web', 'app: web2'),
  );
  const changed = await kubectl(t, ['apply', '-f', file]);
  expect(changed.stdout).toContain('subnet.kubeovn.io/tenant-a-net configured');
  expect(changed.stdout).toContain('pod/web configured');
});

test('get -o json, -o jsonpath, and the printer columns', async () => {
  const json = JSON.parse((await kubectl(t, ['get', 'subnet', 'tenant-a-net', '-o', 'json'])).stdout);
  expect(json).toMatchObject({
    apiVersion: 'kubeovn.io/v1',
    kind: 'Subnet',
    spec: { cidrBlock: '10.0.1.0/24', natOutgoing: true },
    metadata: { generation: 2 },
  });
  const jp = await kubectl(t, [
    'get',
    'pods',
    '-n',
    'tenant-a',
    '-o',
    'jsonpath={.items[*].metadata.labels.app} {.items[0].status.phase}',
  ]);
  expect(jp.stdout).toBe('web2 Pending');
  const table = await kubectl(t, ['get', 'subnets']);
  expect(table.stdout.split('\n')[0]).toMatch(
    /^NAME\s+PROVIDER\s+VPC\s+PROTOCOL\s+CIDR\s+PRIVATE\s+NAT\s+DEFAULT\s+GATEWAYTYPE/,
  );
  expect(table.stdout).toMatch(/tenant-a-net\s+tenant-a\s+IPv4\s+10\.0\.1\.0\/24\s+true\s+distributed/);
  const vpcs = await kubectl(t, [
    'get',
    'vpc',
    'tenant-a',
    '-o',
    'jsonpath={.spec.staticRoutes[0].nextHopIP}',
  ]);
  expect(vpcs.stdout).toBe('10.0.1.254');
  const pods = await kubectl(t, ['get', 'pods', '-A', '-o', 'wide']);
  expect(pods.stdout).toMatch(/tenant-a\s+web\s+0\/1\s+Pending\s+0\s+\S+\s+<none>\s+<none>/);
});

test('get --watch-only sees a change', async () => {
  const watch = execa(
    'kubectl',
    [
      'get',
      'subnets',
      '--watch-only',
      '-o',
      'custom-columns=NAME:.metadata.name,MTU:.spec.mtu',
      '--no-headers',
    ],
    {
      env: { KUBECONFIG: t.server.kubeconfigPath!, HOME: t.dir },
      reject: false,
      timeout: 20_000,
    },
  );
  let out = '';
  watch.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await new Promise((r) => setTimeout(r, 700));
  expect(out).toBe('');
  const patched = await kubectl(t, [
    'patch',
    'subnet',
    'tenant-a-net',
    '--type',
    'merge',
    '-p',
    '{"spec":{"mtu":1400}}',
  ]);
  expect(patched.stdout).toBe('subnet.kubeovn.io/tenant-a-net patched');
  const deadline = Date.now() + 10_000;
  while (!out.includes('1400') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  watch.kill();
  await watch;
  expect(out).toMatch(/tenant-a-net\s+1400/);
});

test('annotate, label, patch --type merge', async () => {
  expect(
    (await kubectl(t, ['annotate', 'pod', 'web', '-n', 'tenant-a', 'ovn.kubernetes.io/ip_address=10.0.1.20']))
      .stdout,
  ).toBe('pod/web annotated');
  expect((await kubectl(t, ['label', 'subnet', 'tenant-a-net', 'tier=gold'])).stdout).toBe(
    'subnet.kubeovn.io/tenant-a-net labeled',
  );
  expect((await kubectl(t, ['label', 'pod', 'web', '-n', 'tenant-a', 'app-'])).stdout).toBe(
    'pod/web unlabeled',
  );
  expect(
    (
      await kubectl(t, [
        'patch',
        'vpc',
        'tenant-a',
        '--type',
        'merge',
        '-p',
        '{"spec":{"enableExternal":true}}',
      ])
    ).stdout,
  ).toBe('vpc.kubeovn.io/tenant-a patched');
  const pod = JSON.parse((await kubectl(t, ['get', 'pod', 'web', '-n', 'tenant-a', '-o', 'json'])).stdout);
  expect(pod.metadata.annotations['ovn.kubernetes.io/ip_address']).toBe('10.0.1.20');
  expect(pod.metadata.labels).toBeUndefined();
  expect((await kubectl(t, ['get', 'subnets', '-l', 'tier=gold', '-o', 'name'])).stdout).toBe(
    'subnet.kubeovn.io/tenant-a-net',
  );
  expect((await kubectl(t, ['get', 'vpc', 'tenant-a', '-o', 'jsonpath={.spec.enableExternal}'])).stdout).toBe(
    'true',
  );
});

test('a schema-invalid Subnet is rejected with a message naming the field', async () => {
  const bad = `apiVersion: kubeovn.io/v1
kind: Subnet
metadata:
  name: broken
spec:
  cidrBlock: 10.9.0.0/16
  gatewayType: sideways
  mtu: "1500"
`;
  const r = await kubectl(t, ['apply', '-f', '-'], bad);
  expect(r.exitCode).not.toBe(0);
  expect(r.stderr).toContain('The Subnet "broken" is invalid');
  expect(r.stderr).toContain(
    'spec.gatewayType: Unsupported value: "sideways": supported values: "distributed", "centralized"',
  );
  expect(r.stderr).toContain(
    'spec.mtu: Invalid value: "string": spec.mtu in body must be of type integer: "string"',
  );
  const unknown = await kubectl(
    t,
    ['apply', '-f', '-'],
    bad.replace('gatewayType: sideways\n  mtu: "1500"', 'colour: blue'),
  );
  expect(unknown.exitCode).not.toBe(0);
  expect(unknown.stderr).toContain('unknown field "spec.colour"');
  expect((await kubectl(t, ['get', 'subnet', 'broken'])).stderr).toContain(
    'subnets.kubeovn.io "broken" not found',
  );
});

test('delete', async () => {
  expect((await kubectl(t, ['delete', 'pod', 'web', '-n', 'tenant-a'])).stdout).toBe('pod "web" deleted');
  expect((await kubectl(t, ['delete', 'subnet', 'tenant-a-net'])).stdout).toBe(
    'subnet.kubeovn.io "tenant-a-net" deleted',
  );
  const left = await kubectl(t, ['get', 'subnets,pods', '-A', '-o', 'name']);
  expect(left.stdout).toBe('');
});
