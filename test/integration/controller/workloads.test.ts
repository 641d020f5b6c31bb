// Workloads that keep their address, against real NB/SB and ovn-northd: KubeVirt VMs (the launcher pods
// share the VM's port and address, kept across pod deletion, released with the VM; live migration moves
// requested-chassis) and StatefulSet pods (kept while their ordinal is wanted).
import { join } from 'node:path';
import { AppsV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { Ann } from '../../../src/controller/k8s/annotations.ts';
import { eventually } from '../helpers.ts';
import { crd, useControllerStack } from './harness.ts';

const s = useControllerStack([], [join(import.meta.dirname, '../../fixtures/kubevirt/crds.yaml')]);
const { nbctl, annotated } = s;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const kv = (plural: string) => ({ group: 'kubevirt.io', version: 'v1', plural });

function launcher(name: string, vm: string, node: string, annotations: Record<string, string> = {}): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'default',
      annotations,
      labels: { 'kubevirt.io/domain': vm, 'vm.kubevirt.io/name': vm },
      ownerReferences: [
        {
          apiVersion: 'kubevirt.io/v1',
          kind: 'VirtualMachineInstance',
          name: vm,
          uid: `uid-${vm}`,
          controller: true,
        },
      ],
    },
    spec: { nodeName: node, containers: [{ name: 'compute', image: 'virt-launcher' }] },
  };
}

async function createKv(plural: string, kind: string, name: string, body: Record<string, unknown> = {}) {
  const { status, ...rest } = body;
  await s.custom.createNamespacedCustomObject({
    ...kv(plural),
    namespace: 'default',
    body: { apiVersion: 'kubevirt.io/v1', kind, metadata: { name, namespace: 'default' }, ...rest },
  });
  // status is KubeVirt's to write, through the status subresource (a create ignores it)
  if (status) await setKvStatus(plural, name, status);
}

async function setKvStatus(plural: string, name: string, status: unknown) {
  await s.custom.patchNamespacedCustomObjectStatus(
    { ...kv(plural), namespace: 'default', name, body: { status } },
    mergePatch,
  );
}

const lspGone = async (name: string) =>
  expect(await nbctl('--if-exists', 'get', 'Logical_Switch_Port', name, 'name')).toBe('');
const ipCr = (name: string) =>
  s.custom.getClusterCustomObject({ ...crd('ips'), name }).catch(() => undefined);

describe('KubeVirt VMs keep their address', () => {
  test("fixed IP and MAC from the VM template; the port and IP CR are the VM's; kept across pod deletion; same on a new launcher pod on another node", async () => {
    await s.createCr('subnets', 'Subnet', 'vm-net', { cidrBlock: '172.16.3.0/24' });
    await eventually(async () =>
      expect((await s.getCr('subnets', 'vm-net')).spec.gateway).toBe('172.16.3.1'),
    );
    await createKv('virtualmachines', 'VirtualMachine', 'vm1', { spec: { running: true } });
    await createKv('virtualmachineinstances', 'VirtualMachineInstance', 'vm1');
    const annotations = {
      [Ann.logicalSwitch]: 'vm-net',
      [Ann.ipAddress]: '172.16.3.203',
      [Ann.macAddress]: '00:00:00:1F:C5:8F',
    };
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: launcher('virt-launcher-vm1-abcde', 'vm1', 'node1', annotations),
    });
    const a = await annotated('virt-launcher-vm1-abcde');
    expect([a[Ann.ipAddress], a[Ann.macAddress], a[Ann.virtualMachine]]).toEqual([
      '172.16.3.203',
      '00:00:00:1f:c5:8f',
      'vm1',
    ]);
    expect(await nbctl('lsp-get-addresses', 'vm1.default')).toBe('00:00:00:1f:c5:8f 172.16.3.203');
    expect(await nbctl('get', 'Logical_Switch_Port', 'vm1.default', 'options:requested-chassis')).toBe(
      'node1',
    );
    const ip = (await ipCr('vm1.default')) as { spec: { podType: string; podName: string } };
    expect(ip.spec).toMatchObject({ podType: 'VirtualMachine', podName: 'vm1' });

    // the VM stops: its pod goes, its address stays
    await s.core.deleteNamespacedPod({ namespace: 'default', name: 'virt-launcher-vm1-abcde' });
    await (async () => {
      await new Promise((r) => setTimeout(r, 500));
      await s.controller.idle();
    })();
    expect(await nbctl('lsp-get-addresses', 'vm1.default')).toBe('00:00:00:1f:c5:8f 172.16.3.203');
    expect(await ipCr('vm1.default')).toBeDefined();
    // a plain pod asking for that address is refused: it is still the VM's
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: {
          name: 'thief',
          annotations: { [Ann.logicalSwitch]: 'vm-net', [Ann.ipAddress]: '172.16.3.203' },
        },
        spec: { nodeName: 'node1', containers: [{ name: 'c', image: 'x' }] },
      },
    });
    await eventually(async () => {
      const ev = (await s.core.listNamespacedEvent({ namespace: 'default' })).items.find(
        (e) => e.involvedObject.name === 'thief',
      );
      expect(ev?.message).toMatch(/172\.16\.3\.203/);
    });

    // it starts again on another node, from a template without the fixed addresses: same IP and MAC
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: launcher('virt-launcher-vm1-fghij', 'vm1', 'node2', { [Ann.logicalSwitch]: 'vm-net' }),
    });
    const b = await annotated('virt-launcher-vm1-fghij');
    expect([b[Ann.ipAddress], b[Ann.macAddress]]).toEqual(['172.16.3.203', '00:00:00:1f:c5:8f']);
    await eventually(async () =>
      expect(await nbctl('get', 'Logical_Switch_Port', 'vm1.default', 'options:requested-chassis')).toBe(
        'node2',
      ),
    );
  });

  test('a live migration binds the port on source and target while it runs, then on the target only; a failed one on the source', async () => {
    const chassis = () => nbctl('get', 'Logical_Switch_Port', 'vm1.default', 'options');
    await createKv('virtualmachineinstancemigrations', 'VirtualMachineInstanceMigration', 'mig1', {
      spec: { vmiName: 'vm1' },
      status: { phase: 'Running', migrationState: { sourceNode: 'node2', targetNode: 'node3' } },
    });
    await eventually(async () => {
      const o = await chassis();
      expect(o).toMatch(/requested-chassis="node2,node3"/);
      expect(o).toMatch(/activation-strategy=rarp/);
    });
    await setKvStatus('virtualmachineinstancemigrations', 'mig1', {
      phase: 'Succeeded',
      migrationState: { sourceNode: 'node2', targetNode: 'node3', completed: true },
    });
    await eventually(async () => expect(await chassis()).toBe('{requested-chassis=node3}'));
    await createKv('virtualmachineinstancemigrations', 'VirtualMachineInstanceMigration', 'mig2', {
      spec: { vmiName: 'vm1' },
      status: { phase: 'Failed', migrationState: { sourceNode: 'node3', targetNode: 'node1', failed: true } },
    });
    await eventually(async () => expect(await chassis()).toBe('{requested-chassis=node3}'));
  });

  test('deleting the VM gives back its port, IP CR and address', async () => {
    await s.core.deleteNamespacedPod({ namespace: 'default', name: 'virt-launcher-vm1-fghij' });
    await s.custom.deleteNamespacedCustomObject({
      ...kv('virtualmachineinstances'),
      namespace: 'default',
      name: 'vm1',
    });
    await s.custom.deleteNamespacedCustomObject({
      ...kv('virtualmachines'),
      namespace: 'default',
      name: 'vm1',
    });
    await eventually(async () => {
      await lspGone('vm1.default');
      expect(await ipCr('vm1.default')).toBeUndefined();
    }, 15_000);
    expect(s.controller.deps.ipam.ownerOfIp('vm-net', '172.16.3.203')).toBeUndefined();
  });
});

describe('StatefulSet pods keep their address', () => {
  const sts = (replicas: number) => ({
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas,
      serviceName: 'web',
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    },
  });
  const stsPod = (i: number): V1Pod => ({
    metadata: {
      name: `web-${i}`,
      namespace: 'default',
      labels: { app: 'web' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'uid-web', controller: true },
      ],
    },
    spec: { nodeName: 'node1', containers: [{ name: 'c', image: 'x' }] },
  });

  test('a re-created pod gets its address back; scaling down and deleting the StatefulSet release them', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(s.api.kubeconfig);
    const appsApi = kc.makeApiClient(AppsV1Api);
    await appsApi.createNamespacedStatefulSet({ namespace: 'default', body: sts(2) });
    await s.core.createNamespacedPod({ namespace: 'default', body: stsPod(0) });
    await s.core.createNamespacedPod({ namespace: 'default', body: stsPod(1) });
    const [ip0, ip1] = [(await annotated('web-0'))[Ann.ipAddress], (await annotated('web-1'))[Ann.ipAddress]];
    await s.core.deleteNamespacedPod({ namespace: 'default', name: 'web-0' });
    await new Promise((r) => setTimeout(r, 300));
    await s.controller.idle();
    expect(await ipCr('web-0.default')).toBeDefined();
    await s.core.createNamespacedPod({ namespace: 'default', body: stsPod(0) });
    await eventually(async () => expect((await annotated('web-0'))[Ann.ipAddress]).toBe(ip0));

    // scale down to 1: web-1 goes and its address with it
    await appsApi.patchNamespacedStatefulSet(
      { namespace: 'default', name: 'web', body: { spec: { replicas: 1 } } },
      mergePatch,
    );
    await s.core.deleteNamespacedPod({ namespace: 'default', name: 'web-1' });
    await eventually(async () => {
      expect(await ipCr('web-1.default')).toBeUndefined();
      await lspGone('web-1.default');
    });
    expect(s.controller.deps.ipam.ownerOfIp('ovn-default', ip1!)).toBeUndefined();

    // the StatefulSet goes: so do the addresses of its pods once they are gone
    await appsApi.deleteNamespacedStatefulSet({ namespace: 'default', name: 'web' });
    await s.core.deleteNamespacedPod({ namespace: 'default', name: 'web-0' });
    await eventually(async () => expect(await ipCr('web-0.default')).toBeUndefined());
  });
});
