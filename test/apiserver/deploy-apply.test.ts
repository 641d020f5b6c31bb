// The install's CRDs, RBAC and settings applied with the real kubectl, as an administrator does: created,
// unchanged on a second apply, read back as written; the CRDs serve Kube-OVN's short names and printer
// columns, take the examples and refuse a malformed object with the field named.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readManifests } from '../../src/apiserver/manifests.ts';
import { kubectl, startTestServer, type TestServer } from './helpers.ts';

const deploy = join(import.meta.dirname, '../../deploy');
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const lines = (s: string) => s.split('\n').filter(Boolean).sort();

describe('kubectl apply', () => {
  test('the CRDs, then the RBAC and the settings, are created; applied again, nothing changes', async () => {
    const crds = await kubectl(t, ['apply', '-f', join(deploy, 'crds')]);
    expect(crds.stderr).toBe('');
    expect(lines(crds.stdout)).toEqual([
      'customresourcedefinition.apiextensions.k8s.io/ippools.kubeovn.io created',
      'customresourcedefinition.apiextensions.k8s.io/ips.kubeovn.io created',
      'customresourcedefinition.apiextensions.k8s.io/provider-networks.kubeovn.io created',
      'customresourcedefinition.apiextensions.k8s.io/subnets.kubeovn.io created',
      'customresourcedefinition.apiextensions.k8s.io/vlans.kubeovn.io created',
      'customresourcedefinition.apiextensions.k8s.io/vpcs.kubeovn.io created',
    ]);
    const rest = ['-f', join(deploy, 'rbac'), '-f', join(deploy, 'config.yaml')];
    const applied = await kubectl(t, ['apply', ...rest]);
    expect(applied.stderr).toBe('');
    expect(lines(applied.stdout)).toEqual([
      'clusterrole.rbac.authorization.k8s.io/ovnk-controller created',
      'clusterrole.rbac.authorization.k8s.io/ovnk-daemon created',
      'clusterrolebinding.rbac.authorization.k8s.io/ovnk-controller created',
      'clusterrolebinding.rbac.authorization.k8s.io/ovnk-daemon created',
      'configmap/ovnk-config created',
      'role.rbac.authorization.k8s.io/ovnk-controller-leader-election created',
      'rolebinding.rbac.authorization.k8s.io/ovnk-controller-leader-election created',
      'serviceaccount/ovnk-controller created',
      'serviceaccount/ovnk-daemon created',
    ]);
    const again = await kubectl(t, ['apply', '-f', join(deploy, 'crds'), ...rest]);
    expect(lines(again.stdout).every((l) => l.endsWith(' unchanged'))).toBe(true);
  });

  test('the RBAC objects read back as the manifests wrote them', async () => {
    for (const file of ['controller.yaml', 'daemon.yaml']) {
      for (const o of readManifests(join(deploy, 'rbac', file))) {
        const ns = o.metadata.namespace ? ['-n', o.metadata.namespace] : [];
        const got = await kubectl(t, ['get', String(o.kind), String(o.metadata.name), ...ns, '-o', 'json']);
        const { metadata: _, ...body } = o;
        expect(JSON.parse(got.stdout)).toMatchObject(body);
      }
    }
    const roles = await kubectl(t, ['get', 'clusterroles', '-o', 'name']);
    expect(lines(roles.stdout)).toEqual([
      'clusterrole.rbac.authorization.k8s.io/ovnk-controller',
      'clusterrole.rbac.authorization.k8s.io/ovnk-daemon',
    ]);
  });

  test('a binding whose role changes is refused, as a real server does', async () => {
    const r = await kubectl(
      t,
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'ovnk-daemon' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'ovnk-controller' },
        subjects: [{ kind: 'ServiceAccount', name: 'ovnk-daemon', namespace: 'kube-system' }],
      }),
    );
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('cannot change roleRef');
  });
});

describe('the CRDs', () => {
  test('take the examples; short names and Kube-OVN printer columns', async () => {
    const ex = await kubectl(t, ['apply', '-f', join(deploy, 'examples')]);
    expect(ex.stderr).toBe('');
    expect(ex.stdout).toContain('subnet.kubeovn.io/blue created');
    expect(ex.stdout).toContain('subnet.kubeovn.io/green created');
    const table = await kubectl(t, ['get', 'subnet']);
    expect(table.stdout.split('\n')[0]!.split(/\s+/)).toEqual([
      'NAME',
      'PROVIDER',
      'VPC',
      'PROTOCOL',
      'CIDR',
      'PRIVATE',
      'NAT',
      'DEFAULT',
      'GATEWAYTYPE',
      'V4USED',
      'V4AVAILABLE',
      'V6USED',
      'V6AVAILABLE',
      'EXCLUDEIPS',
    ]);
    // gatewayType defaults to distributed
    expect(table.stdout).toMatch(/^blue\s.*10\.66\.0\.0\/24\s+distributed\s/m);
    const wide = await kubectl(t, ['get', 'subnet', 'green', '-o', 'wide']);
    expect(wide.stdout.split('\n')[0]).toMatch(/\bVLAN\b.*\bU2OINTERCONNECTIONIP$/);
    for (const kind of ['vpc', 'ip', 'ippool']) {
      expect((await kubectl(t, ['get', kind])).exitCode).toBe(0);
    }
  });

  test('refuse a bad CIDR and a Vlan named by a negative id, naming the fields', async () => {
    const r = await kubectl(
      t,
      ['apply', '-f', '-'],
      'apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata:\n  name: broken\nspec:\n  cidrBlock: 10.0.0.0/33\n  vlan: "-1"\n',
    );
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('The Subnet "broken" is invalid');
    expect(r.stderr).toMatch(
      /spec\.cidrBlock: Invalid value: "10\.0\.0\.0\/33": spec\.cidrBlock in body should match/,
    );
    expect(r.stderr).toMatch(/spec\.vlan: Invalid value: "-1": spec\.vlan in body should match/);
  });
});
