// The lab environment itself: real daemons in their own namespaces, tunnels between nodes, a Raft cluster
// whose leader can be found and killed, and a teardown that leaves nothing behind.
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { NODE_FABRIC_NET } from '../../../src/lab/fabric.ts';
import { Lab, labProcesses, removeFabricHost } from '../../../src/lab/lab.ts';
import { processesMentioning } from '../../../src/lab/leaks.ts';
import { listNetns } from '../../../src/lab/netns.ts';
import { run } from '../../../src/lab/proc.ts';
import { eventually } from '../helpers.ts';

describe('lab', () => {
  test('two nodes: chassis registered, geneve tunnels both ways, underlay reachable; stop leaves nothing', async () => {
    const lab = await Lab.start({ nodes: 2, encap: 'geneve' });
    let pids: number[] = [];
    try {
      const chassis = await run('ovn-sbctl', ['--bare', '--columns=name', 'list', 'Chassis'], {
        env: lab.env,
      });
      expect(chassis.split('\n').filter(Boolean).sort()).toEqual(['node1', 'node2']);
      for (const [a, b] of [
        [lab.node('node1'), lab.node('node2')],
        [lab.node('node2'), lab.node('node1')],
      ] as const) {
        await eventually(async () => {
          const ports = await a.vsctl('--bare', '--columns=options', 'find', 'Interface', 'type=geneve');
          expect(ports).toContain(`remote_ip=${b.cfg.underlayIp}`);
        });
        await a.exec('ping', ['-c1', '-W1', b.cfg.underlayIp]);
      }
      // each node's daemons run inside its namespace
      const vswitchd = lab.node('node1').pids()[1]!;
      const nsOfDaemon = await run('ip', ['netns', 'identify', String(vswitchd)]);
      expect(nsOfDaemon.trim()).toBe(lab.node('node1').cfg.netns);
      pids = labProcesses(lab.dir);
      // NB, SB, northd; the VLAN fabric's ovsdb-server and ovs-vswitchd; per node its three
      expect(pids.length).toBe(11);
    } finally {
      await lab.stop();
    }
    // gone when stop() returns: not even zombies waiting to be reaped
    expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
    expect(listNetns().filter((n) => n.startsWith(`ovnk-${lab.id}-`))).toEqual([]);
    expect(processesMentioning(lab.dir)).toEqual([]);
    expect(existsSync(lab.dir)).toBe(false);
  });

  test('the VLAN fabric: nodes reach each other on eth1; hosts reach their own VLAN only', async () => {
    const lab = await Lab.start({ nodes: 2, northd: false });
    try {
      // eth1, untagged, apart from the management network on eth0
      await lab.node('node1').exec('ping', ['-c1', '-W2', `${NODE_FABRIC_NET}.2`]);
      const a = await lab.addHost({ name: 'a', vlan: 10, cidr: '172.16.3.11/24', router: false });
      const b = await lab.addHost({ name: 'b', vlan: 10, cidr: '172.16.3.12/24', router: false });
      await lab.addHost({ name: 'c', vlan: 20, cidr: '172.16.3.13/24', router: false });
      const ping = (netns: string, ip: string) =>
        execa('ip', ['netns', 'exec', netns, 'ping', '-c1', '-W1', ip], { reject: false });
      expect((await ping(a.netns, '172.16.3.12')).exitCode).toBe(0);
      expect((await ping(b.netns, '172.16.3.11')).exitCode).toBe(0);
      // same subnet, other VLAN: the switch keeps them apart
      expect((await ping(a.netns, '172.16.3.13')).exitCode).not.toBe(0);
      await removeFabricHost(lab.dir, 'b');
      expect(listNetns()).not.toContain(b.netns);
      expect((await ping(a.netns, '172.16.3.12')).exitCode).not.toBe(0);
      await expect(
        lab.addHost({ name: 'a', vlan: 10, cidr: '172.16.3.14/24', router: false }),
      ).rejects.toThrow(/exists already/);
      await expect(
        lab.addHost({ name: 'x', vlan: 4095, cidr: '172.16.3.15/24', router: false }),
      ).rejects.toThrow(/vlan/);
      expect(listNetns()).not.toContain(`ovnk-${lab.id}-h-x`);
    } finally {
      await lab.stop();
    }
    expect(listNetns().filter((n) => n.startsWith(`ovnk-${lab.id}-`))).toEqual([]);
  });

  test('a clustered NB: one leader; killing it elects another', async () => {
    const lab = await Lab.start({ nbMembers: 3, northd: false });
    try {
      const first = await lab.central.nb.leader();
      expect(first).toBeDefined();
      await first!.kill('SIGKILL');
      await eventually(async () => {
        const next = await lab.central.nb.leader();
        expect(next).toBeDefined();
        expect(next).not.toBe(first);
      }, 15_000);
    } finally {
      await lab.stop();
    }
  });

  test('scripts/ovnlab up/status/down from a shell', async () => {
    const dir = (
      await run('scripts/ovnlab', ['up', '--nodes', '1'], {
        env: { ...process.env } as Record<string, string>,
      })
    ).trim();
    let pids: number[] = [];
    try {
      expect(await run('scripts/ovnlab', ['status', dir])).toMatch(/8 daemons/);
      pids = labProcesses(dir);
    } finally {
      await run('scripts/ovnlab', ['down', dir]);
    }
    expect(existsSync(dir)).toBe(false);
    expect(pids.length).toBe(8);
    expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
  });
});
