// The kernel side of pod interfaces against real network namespaces: a "node" netns holds the host ends
// (as in the lab, where each node's daemon and ovs-vswitchd run in the node's netns) and "pod" netns hold
// the pod ends. What the pod sees is read from inside with ip -j and ethtool; traffic is proven by
// putting the gateway's address on the host end (test only) and pinging across the veth.
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { announcePodAddresses } from '../../../src/daemon/address-announce.ts';
import { spawnedProcesses } from '../../../src/daemon/netns-exec.ts';
import {
  type CreatePodInterfaceOptions,
  checkPodInterface,
  createPodInterface,
  deletePodInterface,
  hostVethName,
  InterfaceExistsError,
  listHostVeths,
  NetnsNotFoundError,
} from '../../../src/daemon/pod-netdev.ts';
import { addNetns, delNetns, listLinks, listNetns } from '../../../src/lab/netns.ts';
import { isAlive, run, waitFor, waitGone } from '../../../src/lab/proc.ts';
import { eventually } from '../helpers.ts';

const prefix = `ovnk-pn${process.pid}`;
const nodeName = `${prefix}-node`;
const node = `/run/netns/${nodeName}`;
let podSeq = 0;

/** A fresh pod netns per test; all are deleted in afterAll whatever happened. */
async function newPod(): Promise<{ name: string; path: string }> {
  const name = `${prefix}-p${++podSeq}`;
  await addNetns(name);
  return { name, path: `/run/netns/${name}` };
}

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

function spec(podNetns: string, containerId: string, extra: Partial<CreatePodInterfaceOptions> = {}) {
  return {
    nodeNetns: node,
    podNetns,
    hostIf: hostVethName(containerId, 'eth0'),
    podIf: 'eth0',
    mac: '0a:58:0a:10:00:05',
    mtu: 1400,
    addresses: ['10.16.0.5/16', 'fd00:10:16::5/64'],
    gateways: ['10.16.0.1', 'fd00:10:16::1'],
    announce: false,
    log: quiet,
    ...extra,
  } satisfies CreatePodInterfaceOptions;
}

const ipJson = async (netns: string, args: string[]) =>
  JSON.parse(await run('ip', ['-n', netns, '-j', ...args]));
const ping = (netns: string, ip: string) =>
  run('ping', ['-c', '1', '-W', '2', ...(ip.includes(':') ? ['-6'] : []), ip], { netns });
/** Gives the host end the gateway addresses, so the pod's default routes lead somewhere pingable. */
async function hostIsGateway(hostIf: string): Promise<void> {
  await run('ip', ['-n', nodeName, 'addr', 'add', '10.16.0.1/16', 'dev', hostIf]);
  await run('ip', ['-n', nodeName, 'addr', 'add', 'fd00:10:16::1/64', 'dev', hostIf, 'nodad']);
}

const sleepers: ResultPromise[] = [];

beforeAll(async () => {
  await addNetns(nodeName);
});

afterAll(async () => {
  for (const s of sleepers) {
    if (s.pid !== undefined && isAlive(s.pid)) process.kill(s.pid, 'SIGKILL');
    await s.catch(() => undefined);
  }
  for (const ns of listNetns().filter((n) => n.startsWith(`${prefix}-`))) await delNetns(ns);
});

describe('createPodInterface', () => {
  test('dual stack: MAC, MTU, addresses, routes, offload, host end; traffic both ways', async () => {
    const pod = await newPod();
    const s = spec(pod.path, 'c0ffee000001aaaa');
    const { podIfIndex } = await createPodInterface(s);

    const [link] = await ipJson(pod.name, ['-d', 'addr', 'show', 'dev', 'eth0']);
    expect(link.ifindex).toBe(podIfIndex);
    expect(link.address).toBe('0a:58:0a:10:00:05');
    expect(link.mtu).toBe(1400);
    expect(link.flags).toContain('UP');
    expect(link.linkinfo.info_kind).toBe('veth');
    const global = link.addr_info.filter((a: { scope: string }) => a.scope === 'global');
    expect(global.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`)).toEqual([
      '10.16.0.5/16',
      'fd00:10:16::5/64',
    ]);
    expect(global.some((a: { tentative?: boolean }) => a.tentative)).toBe(false);
    const [lo] = await ipJson(pod.name, ['link', 'show', 'lo']);
    expect(lo.flags).toContain('UP');
    const r4 = await ipJson(pod.name, ['route', 'show', 'default']);
    expect(r4).toMatchObject([{ gateway: '10.16.0.1', dev: 'eth0' }]);
    const r6 = await ipJson(pod.name, ['-6', 'route', 'show', 'default']);
    expect(r6).toMatchObject([{ gateway: 'fd00:10:16::1', dev: 'eth0' }]);
    const [features] = JSON.parse(await run('ethtool', ['--json', '-k', 'eth0'], { netns: pod.name }));
    expect(features['tx-checksumming'].active).toBe(false);

    const [host] = await ipJson(nodeName, ['-d', 'link', 'show', 'dev', s.hostIf]);
    expect(host.mtu).toBe(1400);
    expect(host.flags).toContain('UP');
    expect(host.link_index).toBe(podIfIndex);
    expect(await checkPodInterface(s)).toEqual([]);

    await hostIsGateway(s.hostIf);
    await ping(nodeName, '10.16.0.5');
    await ping(nodeName, 'fd00:10:16::5');
    // and out through the pod's default routes
    await ping(pod.name, '10.16.0.1');
    await ping(pod.name, 'fd00:10:16::1');
    await deletePodInterface(s); // its gateway addresses would clash with the next test's
  });

  test('the pod netns as /proc/<pid>/ns/net of a process in an unnamed netns', async () => {
    const sleeper = execa('unshare', ['--net', '--', 'sleep', '300']);
    sleepers.push(sleeper);
    sleeper.catch(() => undefined); // it ends by our SIGKILL
    const pid = sleeper.pid!;
    const path = `/proc/${pid}/ns/net`;
    // unshare has entered its new netns once the link differs from ours
    await waitFor('sleeper netns', async () => {
      const out = await run('readlink', [path]);
      return out !== (await run('readlink', ['/proc/self/ns/net'])) && out;
    });
    const s = spec(path, 'c0ffee000002bbbb', { addresses: ['10.16.0.6/16'], gateways: ['10.16.0.1'] });
    const { podIfIndex } = await createPodInterface(s);
    expect(podIfIndex).toBeGreaterThan(0);
    expect(await checkPodInterface(s)).toEqual([]);
    await hostIsGateway(s.hostIf);
    await ping(nodeName, '10.16.0.6');
    process.kill(pid, 'SIGKILL');
    expect(await waitGone(pid, 5_000)).toBe(true);
    // the netns dies with its last process, and its veth end with it: the kernel removes the host end too
    await eventually(async () => expect(await listLinks(nodeName)).not.toContain(s.hostIf));
    await deletePodInterface({ nodeNetns: node, podNetns: path, hostIf: s.hostIf, podIf: 'eth0' });
  });

  test('two interfaces of one sandbox get distinct host ends; extra routes; listHostVeths', async () => {
    const pod = await newPod();
    const cid = 'c0ffee000003cccc';
    const eth0 = spec(pod.path, cid, { addresses: ['10.16.0.7/16'], gateways: ['10.16.0.1'] });
    const net1 = spec(pod.path, cid, {
      hostIf: hostVethName(cid, 'net1'),
      podIf: 'net1',
      mac: '0a:58:0a:11:00:07',
      addresses: ['10.17.0.7/24'],
      gateways: [],
      routes: [{ dst: '10.96.0.0/12', gw: '10.17.0.1' }, { dst: '10.18.0.0/16' }],
      owner: { containerId: cid, ifName: 'net1' },
    });
    expect(eth0.hostIf).not.toBe(net1.hostIf);
    await createPodInterface(eth0);
    await createPodInterface(net1);
    expect(await checkPodInterface(eth0)).toEqual([]);
    expect(await checkPodInterface(net1)).toEqual([]);
    const routes = await ipJson(pod.name, ['route', 'show', 'dev', 'net1']);
    expect(routes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: '10.96.0.0/12', gateway: '10.17.0.1' }),
        expect.objectContaining({ dst: '10.18.0.0/16', scope: 'link' }),
      ]),
    );

    // a veth of someone else's in the node netns is not listed
    await run('ip', ['-n', nodeName, 'link', 'add', 'other0', 'type', 'veth', 'peer', 'name', 'other1']);
    try {
      const veths = await listHostVeths(node);
      const names = veths.map((v) => v.name);
      expect(names).toEqual(expect.arrayContaining([eth0.hostIf, net1.hostIf]));
      expect(names).not.toContain('other0');
      expect(names).not.toContain('other1');
      expect(veths.find((v) => v.name === net1.hostIf)).toMatchObject({
        up: true,
        mtu: 1400,
        owner: { containerId: cid, ifName: 'net1' },
      });
      expect(veths.find((v) => v.name === eth0.hostIf)?.owner).toBeUndefined();
    } finally {
      await run('ip', ['-n', nodeName, 'link', 'del', 'other0']);
    }
    await deletePodInterface(eth0);
    await deletePodInterface(net1);
  });

  test('gratuitous ARP reaches the node side and updates its neighbour table', async () => {
    const pod = await newPod();
    const s = spec(pod.path, 'c0ffee000004dddd', { addresses: ['10.16.0.8/16'], gateways: ['10.16.0.1'] });
    await createPodInterface(s);
    // without arp_accept Linux ignores gratuitous ARP for addresses it has no entry for
    await run('sysctl', ['-w', `net.ipv4.conf.${s.hostIf}.arp_accept=1`], { netns: nodeName });
    await hostIsGateway(s.hostIf);
    expect(await ipJson(nodeName, ['neigh', 'show', '10.16.0.8'])).toEqual([]);
    await announcePodAddresses({ podNetns: pod.path, podIf: 'eth0', addresses: s.addresses, log: quiet });
    const [neigh] = await ipJson(nodeName, ['neigh', 'show', '10.16.0.8']);
    expect(neigh).toMatchObject({ dev: s.hostIf, lladdr: '0a:58:0a:10:00:05' });
    await deletePodInterface(s);
  });

  test('announce by default runs in the background and a missing tool only logs', async () => {
    const pod = await newPod();
    const s = spec(pod.path, 'c0ffee000005eeee', { announce: true });
    const warnings: string[] = [];
    const log = { ...quiet, warn: (_o: object, msg?: string) => warnings.push(msg ?? '') };
    const started = performance.now();
    const made = await createPodInterface({ ...s, log });
    // arping lasts about a second; ADD does not wait for it
    expect(performance.now() - started).toBeLessThan(900);
    await made.announced;
    expect(warnings).toEqual([]);
    // a pod netns that is gone by the time of the announcement: logged, not thrown
    await announcePodAddresses({ podNetns: '/nonexistent/ns', podIf: 'eth0', addresses: s.addresses, log });
    expect(warnings).toEqual(['gratuitous ARP failed']);
    await deletePodInterface(s);
  });

  test('a host end left by a half-done attempt is replaced', async () => {
    const pod = await newPod();
    const s = spec(pod.path, 'c0ffee000006ffff');
    // the pair exists, the pod end unconfigured
    await run('ip', [
      '-n',
      nodeName,
      'link',
      'add',
      s.hostIf,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      pod.path,
    ]);
    await createPodInterface(s);
    expect(await checkPodInterface(s)).toEqual([]);
    // the host end alone, its peer still in the node netns
    await deletePodInterface(s);
    await run('ip', ['-n', nodeName, 'link', 'add', s.hostIf, 'type', 'veth', 'peer', 'name', 'stray0']);
    await createPodInterface(s);
    expect(await checkPodInterface(s)).toEqual([]);
    expect(await listLinks(nodeName)).not.toContain('stray0');
    // and a second ADD over a complete one redoes it
    await createPodInterface(s);
    expect(await checkPodInterface(s)).toEqual([]);
    await deletePodInterface(s);
  });

  test('a failure after the pair was made leaves nothing behind', async () => {
    const pod = await newPod();
    // no address of the pod covers this gateway, so the route cannot be added
    const s = spec(pod.path, 'c0ffee000007abab', { addresses: ['10.16.0.9/16'], gateways: ['10.99.0.1'] });
    await expect(createPodInterface(s)).rejects.toMatchObject({
      code: 'NETDEV_COMMAND',
      command: expect.arrayContaining(['nsenter', `--net=${pod.path}`, 'ip']),
      stderr: expect.stringMatching(/Nexthop has invalid gateway|Network is unreachable/),
    });
    expect(await listLinks(nodeName)).not.toContain(s.hostIf);
    expect(await listLinks(pod.name)).toEqual(['lo']);
  });

  test('an interface of the same name in the pod netns that is not ours: InterfaceExists', async () => {
    const pod = await newPod();
    await run('ip', ['-n', pod.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'theirs']);
    const s = spec(pod.path, 'c0ffee000008cdcd');
    await expect(createPodInterface(s)).rejects.toBeInstanceOf(InterfaceExistsError);
    expect(await listLinks(nodeName)).not.toContain(s.hostIf);
    // also when a stale host end of ours is there (its peer elsewhere)
    await run('ip', ['-n', nodeName, 'link', 'add', s.hostIf, 'type', 'veth', 'peer', 'name', 'stray1']);
    await expect(createPodInterface(s)).rejects.toBeInstanceOf(InterfaceExistsError);
    expect(await listLinks(nodeName)).not.toContain(s.hostIf);
    expect((await listLinks(pod.name)).sort()).toEqual(['eth0', 'lo', 'theirs']);
  });

  test('a pod netns that does not exist', async () => {
    const s = spec(`/run/netns/${prefix}-nonexistent`, 'c0ffee000009efef');
    await expect(createPodInterface(s)).rejects.toBeInstanceOf(NetnsNotFoundError);
    expect(await listLinks(nodeName)).not.toContain(s.hostIf);
  });
});

describe('deletePodInterface', () => {
  test('removes both ends; a second delete succeeds', async () => {
    const pod = await newPod();
    const s = spec(pod.path, 'c0ffee00000aaaaa');
    await createPodInterface(s);
    await deletePodInterface(s);
    expect(await listLinks(nodeName)).not.toContain(s.hostIf);
    expect(await listLinks(pod.name)).toEqual(['lo']);
    await deletePodInterface(s);
    await deletePodInterface({ nodeNetns: node, podNetns: '', hostIf: s.hostIf, podIf: 'eth0' });
  });

  test('with the pod netns already gone, and with the node netns gone', async () => {
    const pod = await newPod();
    const s = spec(pod.path, 'c0ffee00000bbbbb');
    await createPodInterface(s);
    await delNetns(pod.name);
    // right away, while the kernel may still be tearing the namespace (and the pair) down
    await deletePodInterface(s);
    await eventually(async () => expect(await listLinks(nodeName)).not.toContain(s.hostIf));
    await deletePodInterface({ nodeNetns: `/run/netns/${prefix}-gone`, hostIf: s.hostIf });
  });
});

describe('checkPodInterface', () => {
  test('finds each kind of problem', async () => {
    const pod = await newPod();
    const s = spec(pod.path, 'c0ffee00000ccccc');
    const ns = pod.name;
    const ip = (...args: string[]) => run('ip', ['-n', ns, ...args]);
    await createPodInterface(s);
    expect(await checkPodInterface(s)).toEqual([]);

    await ip('link', 'set', 'eth0', 'address', '0a:58:0a:10:00:99');
    expect(await checkPodInterface(s)).toEqual(['eth0 has MAC 0a:58:0a:10:00:99, want 0a:58:0a:10:00:05']);
    await ip('link', 'set', 'eth0', 'address', s.mac);

    await ip('link', 'set', 'eth0', 'mtu', '1300');
    await run('ip', ['-n', nodeName, 'link', 'set', s.hostIf, 'mtu', '1200']);
    expect(await checkPodInterface(s)).toEqual([
      `host end ${s.hostIf} has MTU 1200, want 1400`,
      'eth0 has MTU 1300, want 1400',
    ]);
    await ip('link', 'set', 'eth0', 'mtu', '1400');
    await run('ip', ['-n', nodeName, 'link', 'set', s.hostIf, 'mtu', '1400']);

    await ip('addr', 'del', '10.16.0.5/16', 'dev', 'eth0'); // takes the v4 default route with it
    await ip('addr', 'add', '10.16.0.50/16', 'dev', 'eth0');
    await ip('-6', 'route', 'del', 'default');
    expect(await checkPodInterface(s)).toEqual([
      'eth0 lacks address 10.16.0.5/16',
      'eth0 has unexpected address 10.16.0.50/16',
      'no route 0.0.0.0/0 via 10.16.0.1 dev eth0',
      'no route ::/0 via fd00:10:16::1 dev eth0',
    ]);
    await ip('addr', 'del', '10.16.0.50/16', 'dev', 'eth0');
    await ip('addr', 'add', '10.16.0.5/16', 'dev', 'eth0');
    await ip('route', 'add', 'default', 'via', '10.16.0.1');
    await ip('-6', 'route', 'add', 'default', 'via', 'fd00:10:16::1');
    expect(await checkPodInterface(s)).toEqual([]);

    await run('ethtool', ['-K', 'eth0', 'tx', 'on'], { netns: ns });
    await ip('link', 'set', 'lo', 'down');
    await run('ip', ['-n', nodeName, 'link', 'set', s.hostIf, 'down']);
    expect(await checkPodInterface(s)).toEqual([
      `host end ${s.hostIf} is down`,
      'lo is down in the pod netns',
      'eth0 has tx checksum offload on',
    ]);
    await run('ip', ['-n', nodeName, 'link', 'set', s.hostIf, 'up']);
    await ip('link', 'set', 'lo', 'up');
    await ip('link', 'set', 'eth0', 'down');
    const down = await checkPodInterface(s);
    expect(down).toContain('eth0 is down');

    // eth0 swapped for a veth that is not the host end's peer
    await deletePodInterface(s);
    await run('ip', [
      '-n',
      nodeName,
      'link',
      'add',
      s.hostIf,
      'mtu',
      '1400',
      'up',
      'type',
      'veth',
      'peer',
      'name',
      'x0',
    ]);
    await ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'y0');
    expect(await checkPodInterface(s)).toContain(`eth0 is not the peer of ${s.hostIf}`);
    await run('ip', ['-n', nodeName, 'link', 'del', s.hostIf]);

    expect(await checkPodInterface(s)).toContain(`host end ${s.hostIf} is missing`);
    await ip('link', 'del', 'eth0');
    expect(await checkPodInterface(s)).toEqual([
      `host end ${s.hostIf} is missing`,
      'eth0 is missing in the pod netns',
    ]);
    await delNetns(ns);
    expect(await checkPodInterface(s)).toEqual([
      `host end ${s.hostIf} is missing`,
      `pod netns ${pod.path} does not exist`,
    ]);
  });
});

describe('cost', () => {
  test('wall time (p50 of 30) and processes per create and delete', async () => {
    const pod = await newPod();
    const s = spec(pod.path, 'c0ffee00000ddddd');
    const createMs: number[] = [];
    const deleteMs: number[] = [];
    const createProcs = new Set<number>();
    const deleteProcs = new Set<number>();
    for (let i = 0; i < 30; i++) {
      let n = spawnedProcesses();
      let t = performance.now();
      await createPodInterface(s);
      createMs.push(performance.now() - t);
      createProcs.add(spawnedProcesses() - n);
      n = spawnedProcesses();
      t = performance.now();
      await deletePodInterface(s);
      deleteMs.push(performance.now() - t);
      deleteProcs.add(spawnedProcesses() - n);
    }
    const p = (a: number[], q: number) =>
      Math.round(a.sort((x, y) => x - y)[Math.floor(a.length * q)]! * 10) / 10;
    const figures = {
      create_p50_ms: p(createMs, 0.5),
      create_p90_ms: p(createMs, 0.9),
      delete_p50_ms: p(deleteMs, 0.5),
      delete_p90_ms: p(deleteMs, 0.9),
      create_processes: [...createProcs],
      delete_processes: [...deleteProcs],
    };
    console.log(`pod-netdev cost (dual stack, announce off): ${JSON.stringify(figures)}`);
    // node-side ip batch, pod-side ip batch, ethtool; (announce adds one arping per IPv4 address)
    expect(figures.create_processes).toEqual([3]);
    expect(figures.delete_processes).toEqual([1]);
    expect(figures.create_p50_ms).toBeLessThan(500);
  });
});
