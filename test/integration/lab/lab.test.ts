// The lab environment itself: real daemons in their own namespaces, tunnels between nodes, a Raft cluster
// whose leader can be found and killed, and a teardown that leaves nothing behind.
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { Lab, labProcesses } from '../../../src/lab/lab.ts';
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
      expect(pids.length).toBe(9); // NB, SB, northd; per node ovsdb-server, ovs-vswitchd, ovn-controller
    } finally {
      await lab.stop();
    }
    // gone when stop() returns: not even zombies waiting to be reaped
    expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
    expect(listNetns().filter((n) => n.startsWith(`ovnk-${lab.id}-`))).toEqual([]);
    expect(processesMentioning(lab.dir)).toEqual([]);
    expect(existsSync(lab.dir)).toBe(false);
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
      expect(await run('scripts/ovnlab', ['status', dir])).toMatch(/6 daemons/);
      pids = labProcesses(dir);
    } finally {
      await run('scripts/ovnlab', ['down', dir]);
    }
    expect(existsSync(dir)).toBe(false);
    expect(pids.length).toBe(6);
    expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
  });
});
