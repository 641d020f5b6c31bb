// The controller end to end: the embedded API server, real NB/SB ovsdb-servers and a real ovn-northd.
// After each scenario the northbound state read back with ovn-nbctl is what the objects ask for, and
// northd has bound the ports (Port_Binding rows in southbound).
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { Controller } from '../../../src/controller/controller.ts';
import { Ann } from '../../../src/controller/k8s/annotations.ts';
import { TermEnded } from '../../../src/controller/kube.ts';
import { eventually } from '../helpers.ts';
import { crd, pod, useControllerStack } from './harness.ts';

const s = useControllerStack(['ns1']);
const { nbctl, sbctl, annotated } = s;
const sub = crd('subnets');
const ipcr = crd('ips');
const getPod = (name: string, namespace = 'default') => s.core.readNamespacedPod({ name, namespace });
const getSubnet = (name: string) => s.getCr('subnets', name);

describe('controller', () => {
  test('default topology: router ovn-cluster, switches join and ovn-default with router port pairs', async () => {
    await eventually(async () =>
      expect(
        (await nbctl('ls-list'))
          .split('\n')
          .map((l) => /\((.+)\)/.exec(l)?.[1])
          .sort(),
      ).toEqual(['join', 'ovn-default']),
    );
    expect(await nbctl('lr-list')).toMatch(/\(ovn-cluster\)/);
    const lrps = (await nbctl('lrp-list', 'ovn-cluster'))
      .split('\n')
      .map((l) => /\((.+)\)/.exec(l)?.[1])
      .sort();
    expect(lrps).toEqual(['ovn-cluster-join', 'ovn-cluster-ovn-default']);
    expect(await nbctl('get', 'Logical_Router_Port', 'ovn-cluster-ovn-default', 'networks')).toBe(
      '["10.16.0.1/16"]',
    );
    expect(await nbctl('get', 'Logical_Router_Port', 'ovn-cluster-join', 'networks')).toBe(
      '["100.64.0.1/16"]',
    );
    // traffic to the default VPC's subnets is routed, never rerouted (Kube-OVN's priority-31000 policies)
    await eventually(async () => {
      const policies = await nbctl('lr-policy-list', 'ovn-cluster');
      expect(policies).toMatch(/31000\s+ip4\.dst == 10\.16\.0\.0\/16\s+allow/);
      expect(policies).toMatch(/31000\s+ip4\.dst == 100\.64\.0\.0\/16\s+allow/);
    });
    await eventually(async () => {
      const s = await getSubnet('ovn-default');
      expect(s.spec).toMatchObject({
        cidrBlock: '10.16.0.0/16',
        gateway: '10.16.0.1',
        protocol: 'IPv4',
        excludeIps: ['10.16.0.1'],
      });
      expect(s.status?.conditions).toEqual(
        expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True' })]),
      );
      expect(s.status?.v4availableIPs).toBe(65533);
    });
  });

  test('a pod gets an address, annotations, an IP CR and a port with port security; northd binds it', async () => {
    await s.core.createNamespacedPod({ namespace: 'default', body: pod('web') });
    const a = await annotated('web');
    expect(a[Ann.logicalSwitch]).toBe('ovn-default');
    expect(a[Ann.cidr]).toBe('10.16.0.0/16');
    expect(a[Ann.gateway]).toBe('10.16.0.1');
    expect(a[Ann.ipAddress]).toBe('10.16.0.2');
    expect(a[Ann.macAddress]).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    const addr = `${a[Ann.macAddress]} 10.16.0.2`;
    expect(await nbctl('lsp-get-addresses', 'web.default')).toBe(addr);
    expect(await nbctl('lsp-get-port-security', 'web.default')).toBe(addr);
    const ip = (await s.custom.getClusterCustomObject({ ...ipcr, name: 'web.default' })) as {
      spec: Record<string, string>;
    };
    expect(ip.spec).toMatchObject({
      podName: 'web',
      namespace: 'default',
      subnet: 'ovn-default',
      ipAddress: '10.16.0.2',
      macAddress: a[Ann.macAddress],
      nodeName: 'node1',
    });
    await eventually(async () =>
      expect(
        await sbctl('--bare', '--columns=logical_port', 'find', 'Port_Binding', 'logical_port=web.default'),
      ).toBe('web.default'),
    );
    await eventually(async () => expect((await getSubnet('ovn-default')).status?.v4usingIPs).toBe(1));
  });

  test('static IP and MAC from annotations; port security can be turned off', async () => {
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: pod('vm', {
        [Ann.ipAddress]: '10.16.0.50',
        [Ann.macAddress]: '00:00:00:1F:C5:8F',
        [Ann.portSecurity]: 'false',
      }),
    });
    const a = await annotated('vm');
    expect(a[Ann.ipAddress]).toBe('10.16.0.50');
    expect(a[Ann.macAddress]).toBe('00:00:00:1f:c5:8f');
    expect(await nbctl('lsp-get-addresses', 'vm.default')).toBe('00:00:00:1f:c5:8f 10.16.0.50');
    expect(await nbctl('lsp-get-port-security', 'vm.default')).toBe('');
  });

  test('bad requests: the pod gets no address and an Event says why; others are still served', async () => {
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: pod('taken', { [Ann.ipAddress]: '10.16.0.50' }),
    });
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: pod('outside', { [Ann.ipAddress]: '192.168.9.9' }),
    });
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: pod('badmac', { [Ann.macAddress]: 'zz:00' }),
    });
    await s.core.createNamespacedPod({
      namespace: 'default',
      body: pod('nosubnet', { [Ann.logicalSwitch]: 'nope' }),
    });
    await s.core.createNamespacedPod({ namespace: 'default', body: pod('fine') });
    await annotated('fine');
    await eventually(async () => {
      const events = (await s.core.listNamespacedEvent({ namespace: 'default' })).items.filter(
        (e) => e.reason === 'AcquireAddressFailed',
      );
      const byPod = Object.fromEntries(events.map((e) => [e.involvedObject.name, e.message]));
      expect(Object.keys(byPod).sort()).toEqual(['badmac', 'nosubnet', 'outside', 'taken']);
      expect(byPod.taken).toMatch(/10\.16\.0\.50/);
      expect(byPod.nosubnet).toMatch(/nope/);
    });
    for (const name of ['taken', 'outside', 'badmac', 'nosubnet']) {
      // ip_address may be the pod's own request; allocated and routed are only ever written by the controller
      expect((await getPod(name)).metadata?.annotations?.[Ann.allocated]).toBeUndefined();
      expect(await nbctl('--if-exists', 'get', 'Logical_Switch_Port', `${name}.default`, 'name')).toBe('');
    }
  });

  test('a custom Subnet bound to a namespace; an invalid or overlapping one is refused with a condition', async () => {
    await s.custom.createClusterCustomObject({
      ...sub,
      body: {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Subnet',
        metadata: { name: 'blue' },
        spec: { cidrBlock: '10.66.0.5/24', namespaces: ['ns1'] },
      },
    });
    await s.custom.createClusterCustomObject({
      ...sub,
      body: {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Subnet',
        metadata: { name: 'clash' },
        spec: { cidrBlock: '10.66.0.128/25' },
      },
    });
    await s.custom.createClusterCustomObject({
      ...sub,
      body: {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Subnet',
        metadata: { name: 'badgw' },
        spec: { cidrBlock: '10.77.0.0/24', gateway: '10.78.0.1' },
      },
    });
    await eventually(async () => expect((await getSubnet('blue')).spec.cidrBlock).toBe('10.66.0.0/24'));
    await eventually(async () => {
      for (const [name, reason] of [
        ['clash', 'CIDROverlap'],
        ['badgw', 'InvalidGateway'],
      ]) {
        const conds = (await getSubnet(name!)).status?.conditions as {
          type: string;
          status: string;
          reason: string;
        }[];
        expect(conds).toEqual(
          expect.arrayContaining([expect.objectContaining({ type: 'Validated', status: 'False', reason })]),
        );
      }
    });
    expect(await nbctl('--if-exists', 'get', 'Logical_Switch', 'clash', 'name').catch(() => '')).toBe('');
    expect((await nbctl('ls-list')).includes('badgw')).toBe(false);
    await s.core.createNamespacedPod({ namespace: 'ns1', body: pod('in-blue', {}, 'ns1') });
    const a = await annotated('in-blue', 'ns1');
    expect(a[Ann.logicalSwitch]).toBe('blue');
    expect(a[Ann.ipAddress]).toBe('10.66.0.2');
    expect(await nbctl('lsp-get-ls', 'in-blue.ns1')).toMatch(/\(blue\)/);
    // the namespaces carry the subnets bound to them (the default subnet when none is)
    await eventually(async () => {
      const ns1 = (await s.core.readNamespace({ name: 'ns1' })).metadata?.annotations ?? {};
      expect([ns1[Ann.logicalSwitch], ns1[Ann.cidr], ns1[Ann.excludeIps]]).toEqual([
        'blue',
        '10.66.0.0/24',
        '10.66.0.1',
      ]);
      const def = (await s.core.readNamespace({ name: 'default' })).metadata?.annotations ?? {};
      expect([def[Ann.logicalSwitch], def[Ann.cidr]]).toEqual(['ovn-default', '10.16.0.0/16']);
    });
  });

  test('nodes get a join address, a node-<node> port and annotations', async () => {
    await s.core.createNode({ body: { metadata: { name: 'node1' } } });
    await eventually(async () => {
      const n = await s.core.readNode({ name: 'node1' });
      expect(n.metadata?.annotations?.[Ann.logicalSwitch]).toBe('join');
    });
    const a = (await s.core.readNode({ name: 'node1' })).metadata!.annotations!;
    expect(a[Ann.ipAddress]).toBe('100.64.0.2');
    expect(a[Ann.portName]).toBe('node-node1');
    expect(await nbctl('lsp-get-addresses', 'node-node1')).toBe(`${a[Ann.macAddress]} 100.64.0.2`);
    // once the node reports its address, pods reach it through its join address (policy 30000)
    await s.core.replaceNodeStatus({
      name: 'node1',
      body: {
        metadata: { name: 'node1' },
        status: { addresses: [{ type: 'InternalIP', address: '172.30.0.1' }] },
      },
    });
    await eventually(async () =>
      expect(await nbctl('lr-policy-list', 'ovn-cluster')).toMatch(
        /30000\s+ip4\.dst == 172\.30\.0\.1\s+reroute\s+100\.64\.0\.2/,
      ),
    );
    // the join subnet counts it
    await eventually(async () => expect((await getSubnet('join')).status?.v4usingIPs).toBe(1));
  });

  test('deleting a pod releases its port, IP CR and address', async () => {
    await s.core.deleteNamespacedPod({ namespace: 'default', name: 'web' });
    await eventually(async () =>
      expect(await nbctl('--if-exists', 'get', 'Logical_Switch_Port', 'web.default', 'name')).toBe(''),
    );
    await eventually(async () => {
      const ips = (await s.custom.listClusterCustomObject(ipcr)) as {
        items: { metadata: { name: string } }[];
      };
      expect(ips.items.map((i) => i.metadata.name)).not.toContain('web.default');
    });
    expect(s.controller.deps.ipam.ownerOfIp('ovn-default', '10.16.0.2')).toBeUndefined();
  });

  test('a restart rebuilds everything from its records: same addresses, and changes made while down are applied', async () => {
    const before = await annotated('fine');
    await s.restart(async () => {
      // while the controller is down: a pod goes, another comes
      await s.core.deleteNamespacedPod({ namespace: 'default', name: 'vm' });
      await s.core.createNamespacedPod({ namespace: 'default', body: pod('late') });
    });
    const late = await annotated('late');
    expect(late[Ann.ipAddress]).not.toBe(before[Ann.ipAddress]);
    expect((await annotated('fine'))[Ann.ipAddress]).toBe(before[Ann.ipAddress]);
    await eventually(async () =>
      expect(await nbctl('--if-exists', 'get', 'Logical_Switch_Port', 'vm.default', 'name')).toBe(''),
    );
    // every address in northbound is unique
    const addrs = (await nbctl('--bare', '--columns=addresses', 'list', 'Logical_Switch_Port'))
      .split('\n')
      .filter((l) => /\d+\.\d+/.test(l))
      .map((l) => l.split(' ')[1]);
    expect(new Set(addrs).size).toBe(addrs.length);
  });
  test('a Subnet with live pods is kept by its finalizer, across a restart, until its pods are gone', async () => {
    await s.core.createNamespace({ body: { metadata: { name: 'ns2' } } });
    await s.custom.createClusterCustomObject({
      ...sub,
      body: {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Subnet',
        metadata: { name: 'green' },
        spec: { cidrBlock: '10.88.0.0/24', namespaces: ['ns2'] },
      },
    });
    await eventually(async () => expect((await getSubnet('green')).spec.gateway).toBe('10.88.0.1'));
    await s.core.createNamespacedPod({ namespace: 'ns2', body: pod('g1', {}, 'ns2') });
    const before = await annotated('g1', 'ns2');
    await s.custom.deleteClusterCustomObject({ ...sub, name: 'green' });
    await (await s.restart()).idle();
    // still there: a pod holds an address in it; and the pod kept its address through the restart
    expect((await getSubnet('green')).spec.cidrBlock).toBe('10.88.0.0/24');
    expect(await nbctl('--bare', '--columns=name', 'find', 'Logical_Switch', 'name=green')).toBe('green');
    expect(s.controller.deps.ipam.ownerOfIp('green', before[Ann.ipAddress]!)).toBe('g1.ns2');
    await s.core.deleteNamespacedPod({ namespace: 'ns2', name: 'g1' });
    await eventually(async () => expect(await getSubnet('green').catch(() => 'gone')).toBe('gone'), 15_000);
    expect(await nbctl('--bare', '--columns=name', 'find', 'Logical_Switch', 'name=green')).toBe('');
  });

  test('a leadership term that ends fences its controller: it writes nothing more, and the next term does the work', async () => {
    const config = s.controller.deps.config;
    const kc = new KubeConfig();
    kc.loadFromString(s.api.kubeconfig);
    await s.restart(async () => {
      const term = new AbortController();
      const old = await Controller.start({ kc, config, signal: term.signal });
      await old.idle();
      term.abort();
      await expect(old.deps.kube.core.listNode()).rejects.toBeInstanceOf(TermEnded);
      // a pod that arrives after the term: the old controller neither annotates it nor writes its port
      await s.core.createNamespacedPod({ namespace: 'default', body: pod('after-term') });
      await sleep(2_000);
      const p = await getPod('after-term');
      expect(p.metadata?.annotations?.[Ann.allocated]).toBeUndefined();
      expect(
        await nbctl('--bare', '--columns=name', 'find', 'Logical_Switch_Port', 'name=after-term.default'),
      ).toBe('');
      await old.stop();
    });
    expect((await annotated('after-term'))[Ann.ipAddress]).toMatch(/^10\.16\./);
  });
});
