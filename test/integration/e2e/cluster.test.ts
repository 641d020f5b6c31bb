// The whole stack on a real two-node lab: API server, controller, a daemon and the CNI plugin per node,
// lab kubelets that call the plugin as a runtime does, OVS/OVN with geneve tunnels. Pods really talk.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cluster } from '../../../src/lab/cluster.ts';
import { endpoints, formatMatrix, measure } from '../../../src/lab/connectivity.ts';
import { listNetns } from '../../../src/lab/netns.ts';
import { podNetnsName } from '../../../src/lab/pod-sandboxes.ts';
import { isAlive, waitGone } from '../../../src/lab/proc.ts';
import { eventually, getUnix } from '../helpers.ts';
import { waitRunning } from './pods.ts';

let cluster: Cluster;
let core: CoreV1Api;

beforeAll(async () => {
  // a short wait for the controller's annotations, so the "unknown pod" case answers quickly
  cluster = await Cluster.start({ nodes: 2, daemonArgs: ['--address-timeout-ms', '4000'] });
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.manifest.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'blue' } } });
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
}, 60_000);

function pod(
  name: string,
  node: string,
  annotations: Record<string, string> = {},
  namespace = 'default',
): V1Pod {
  return {
    metadata: { name, namespace, annotations },
    spec: { nodeName: node, containers: [{ name: 'c', image: 'pause' }] },
  };
}

const running = (name: string, namespace = 'default'): Promise<V1Pod> => waitRunning(core, name, namespace);

const nodeOf = (name: string) => cluster.manifest.nodes.find((n) => n.name === name)!;
const podNetns = (p: V1Pod) =>
  podNetnsName(nodeOf(p.spec!.nodeName!).podNetnsPrefix, p.metadata!.namespace!, p.metadata!.name!);
const inPod = (p: V1Pod, cmd: string, args: string[]) =>
  execa('ip', ['netns', 'exec', podNetns(p), cmd, ...args], { reject: false });
const ovsVsctl = (node: string, ...args: string[]) => {
  const c = cluster.lab.chassis.find((x) => x.name === node)!;
  return c.vsctl(...args);
};

/**
 * a1, a2 (node1), b1 (node2), c2 (namespace blue, bound to the blue Subnet, node2), made once for the file
 * by whichever test needs them first and running by then: no test depends on another having passed.
 */
let made: Promise<V1Pod[]> | undefined;
function basePods(): Promise<V1Pod[]> {
  made ??= (async () => {
    await cluster.lab.nbctl('--wait=sb', 'sync');
    await core.createNamespacedPod({ namespace: 'default', body: pod('a1', 'node1') });
    await core.createNamespacedPod({ namespace: 'default', body: pod('a2', 'node1') });
    await core.createNamespacedPod({ namespace: 'default', body: pod('b1', 'node2') });
    await execa(
      'kubectl',
      ['--kubeconfig', cluster.manifest.kubeconfig, 'create', '--validate=false', '-f', '-'],
      {
        input: JSON.stringify({
          apiVersion: 'kubeovn.io/v1',
          kind: 'Subnet',
          metadata: { name: 'blue' },
          // a subnet's mtu reaches its pods' interfaces
          spec: { cidrBlock: '10.66.0.0/24', namespaces: ['blue'], mtu: 1300 },
        }),
      },
    );
    await eventually(async () => {
      const ns = await core.readNamespace({ name: 'blue' });
      expect(ns.metadata?.annotations?.['ovn.kubernetes.io/logical_switch']).toBe('blue');
    });
    await core.createNamespacedPod({ namespace: 'blue', body: pod('c2', 'node2', {}, 'blue') });
    return [await running('a1'), await running('a2'), await running('b1'), await running('c2', 'blue')];
  })();
  return made;
}

describe('pods on a real multi-node stack', () => {
  test('pods on the same node and on different nodes, in one subnet and across subnets, reach each other; nodes reach pods through ovn0 and pods reach nodes', async () => {
    const pods = await basePods();
    const mtu = async (p: V1Pod) =>
      JSON.parse((await inPod(p, 'ip', ['-j', 'link', 'show', 'dev', 'eth0'])).stdout)[0].mtu;
    expect([await mtu(pods[0]!), await mtu(pods[3]!)]).toEqual([1400, 1300]);
    expect(pods.map((p) => p.status?.podIP)).toEqual([
      expect.stringMatching(/^10\.16\./),
      expect.stringMatching(/^10\.16\./),
      expect.stringMatching(/^10\.16\./),
      expect.stringMatching(/^10\.66\.0\./),
    ]);
    const eps = endpoints(
      cluster.manifest,
      pods.map((p) => ({
        namespace: p.metadata!.namespace!,
        name: p.metadata!.name!,
        node: p.spec!.nodeName!,
        ip: p.status!.podIP!,
      })),
    );
    // a node routes a subnet through ovn0 once its daemon has seen the Subnet valid, which on a loaded
    // machine can come a moment after the pods run: measured again until whole, within 15 s
    await eventually(async () => {
      const probes = await measure(eps);
      const failed = probes.filter((p) => !p.ping || p.tcp === false);
      expect(failed, formatMatrix(eps, probes)).toEqual([]);
      // 4 pods to 3 pods and 2 nodes, 2 nodes to 4 pods
      expect(probes.length).toBe(4 * 5 + 2 * 4);
    }, 15_000);
  });

  test('a pod with ip_address and mac_address annotations gets exactly those, in the pod and in the result', async () => {
    const pods = await basePods();
    await core.createNamespacedPod({
      namespace: 'default',
      body: pod('fixed', 'node2', {
        'ovn.kubernetes.io/ip_address': '10.16.0.100',
        'ovn.kubernetes.io/mac_address': '00:00:00:1F:C5:8F',
      }),
    });
    const p = await running('fixed');
    expect(p.status?.podIP).toBe('10.16.0.100');
    const link = JSON.parse((await inPod(p, 'ip', ['-j', 'addr', 'show', 'dev', 'eth0'])).stdout)[0];
    expect(link.address).toBe('00:00:00:1f:c5:8f');
    expect(link.mtu).toBe(1400);
    expect(link.addr_info.filter((a: { family: string }) => a.family === 'inet')).toEqual([
      expect.objectContaining({ local: '10.16.0.100', prefixlen: 16 }),
    ]);
    const route = (await inPod(p, 'ip', ['route', 'show', 'default'])).stdout;
    expect(route).toMatch(/default via 10\.16\.0\.1 dev eth0/);
    expect((await inPod(p, 'ping', ['-c', '1', '-W', '2', pods[0]!.status!.podIP!])).exitCode).toBe(0);
  });

  test('a pod that takes another address cannot send (port security); with port security off it could', async () => {
    const pods = await basePods();
    await core.createNamespacedPod({ namespace: 'default', body: pod('spoofer', 'node1') });
    await core.createNamespacedPod({
      namespace: 'default',
      body: pod('trusted', 'node1', { 'ovn.kubernetes.io/port_security': 'false' }),
    });
    const spoofer = await running('spoofer');
    const trusted = await running('trusted');
    const target = pods[2]!.status!.podIP!; // b1, on the other node
    for (const p of [spoofer, trusted]) {
      expect((await inPod(p, 'ping', ['-c', '1', '-W', '2', target])).exitCode).toBe(0);
      // change its own address to one it was not given
      await inPod(p, 'ip', ['addr', 'flush', 'dev', 'eth0']);
      await inPod(p, 'ip', ['addr', 'add', `10.16.0.${p === spoofer ? 201 : 202}/16`, 'dev', 'eth0']);
      await inPod(p, 'ip', ['route', 'replace', 'default', 'via', '10.16.0.1']);
    }
    expect((await inPod(spoofer, 'ping', ['-c', '2', '-W', '1', target])).exitCode).not.toBe(0);
    expect((await inPod(trusted, 'ping', ['-c', '2', '-W', '1', target])).exitCode).toBe(0);
  });

  test("a pod cannot send with another pod's IP or with another pod's MAC: the receiver sees none of it", async () => {
    await core.createNamespacedPod({ namespace: 'default', body: pod('thief', 'node1') });
    const thief = await running('thief');
    const [a1, , b1] = (await basePods()) as [V1Pod, V1Pod, V1Pod];
    const macOf = (p: V1Pod) => p.metadata!.annotations!['ovn.kubernetes.io/mac_address']!;
    const own = { ip: thief.status!.podIP!, mac: macOf(thief) };
    const target = b1.status!.podIP!;
    // what reaches the receiver, counted by its kernel: replies would go to the real owner whatever happens,
    // so only the receiver's count tells whether a forged packet got through
    const echoesAtTarget = async () => {
      const lines = (await inPod(b1, 'cat', ['/proc/net/snmp'])).stdout
        .split('\n')
        .filter((l) => l.startsWith('Icmp:'));
      const [names, values] = lines.map((l) => l.split(/\s+/));
      return Number(values![names!.indexOf('InEchos')]);
    };
    const sendEchoes = async () => {
      const before = await echoesAtTarget();
      await inPod(thief, 'ping', ['-c', '3', '-i', '0.2', '-W', '1', target]);
      return (await echoesAtTarget()) - before;
    };
    const readdress = async (ip: string, mac: string) => {
      await inPod(thief, 'ip', ['addr', 'flush', 'dev', 'eth0']);
      await inPod(thief, 'ip', ['link', 'set', 'eth0', 'address', mac]);
      await inPod(thief, 'ip', ['addr', 'add', `${ip}/16`, 'dev', 'eth0']);
      await inPod(thief, 'ip', ['route', 'replace', 'default', 'via', '10.16.0.1']);
      await inPod(thief, 'ip', ['neigh', 'flush', 'all']);
    };
    expect(await sendEchoes()).toBeGreaterThanOrEqual(3);
    await readdress(a1.status!.podIP!, own.mac); // another pod's IP
    expect(await sendEchoes()).toBe(0);
    await readdress(own.ip, macOf(a1)); // another pod's MAC
    expect(await sendEchoes()).toBe(0);
    // the owner of the stolen addresses was never disturbed, and the thief with its own addresses is heard
    expect((await inPod(b1, 'ping', ['-c', '1', '-W', '2', a1.status!.podIP!])).exitCode).toBe(0);
    await readdress(own.ip, own.mac);
    await eventually(async () => expect(await sendEchoes()).toBeGreaterThanOrEqual(1));
    // gone for good before the next test counts the node's ports
    await core.deleteNamespacedPod({ namespace: 'default', name: 'thief' });
    await eventually(async () => expect(listNetns()).not.toContain(podNetns(thief)), 20_000);
    await eventually(async () =>
      expect(
        (
          await ovsVsctl(
            'node1',
            '--bare',
            '--columns=name',
            'find',
            'Interface',
            'external_ids:iface-id=thief.default',
          )
        ).trim(),
      ).toBe(''),
    );
  });

  test('after the pod is deleted nothing of it remains on the node: netns, veth, OVS port, LSP', async () => {
    const p = await running('a2');
    const ns = podNetns(p);
    const ports = async () => (await ovsVsctl('node1', 'list-ports', 'br-int')).split('\n').filter(Boolean);
    const before = await ports();
    await core.deleteNamespacedPod({ namespace: 'default', name: 'a2' });
    await eventually(async () => expect(listNetns()).not.toContain(ns), 20_000);
    await eventually(async () => expect((await ports()).length).toBe(before.length - 1));
    const links = (await cluster.lab.chassis[0]!.exec('ip', ['-o', 'link', 'show'])).split('\n');
    const veths = links.filter((l) => /_h@/.test(l)).length;
    expect(veths).toBe((await ports()).filter((x) => x.endsWith('_h')).length);
    await eventually(async () =>
      expect(await cluster.lab.nbctl('--if-exists', 'get', 'Logical_Switch_Port', 'a2.default', 'name')).toBe(
        '',
      ),
    );
  });

  test('a daemon killed and restarted does not disturb running pods; new pods work after it', async () => {
    const pods = await basePods();
    const [a1, b1] = [pods[0]!, pods[2]!];
    const pinger = execa(
      'ip',
      ['netns', 'exec', podNetns(a1), 'ping', '-i', '0.1', '-c', '40', '-W', '1', b1.status!.podIP!],
      {
        reject: false,
      },
    );
    await cluster.restartDaemon('node1');
    const r = await pinger;
    const lost = /(\d+)% packet loss/.exec(r.stdout)?.[1];
    expect(Number(lost)).toBe(0);
    await core.createNamespacedPod({ namespace: 'default', body: pod('after-restart', 'node1') });
    const p = await running('after-restart');
    expect((await inPod(p, 'ping', ['-c', '1', '-W', '2', b1.status!.podIP!])).exitCode).toBe(0);
  });

  test('after ovs-vswitchd is killed and restarted, pods and the node gateway regain connectivity', async () => {
    const pods = await basePods();
    const chassis = cluster.lab.chassis[1]!; // node2
    const pid = chassis.pids()[1]!; // controller, vswitchd, ovsdb
    expect(isAlive(pid)).toBe(true);
    process.kill(pid, 'SIGKILL');
    expect(await waitGone(pid, 5_000)).toBe(true);
    await chassis.start();
    const [a1, b1] = [pods[0]!, pods[2]!];
    await eventually(async () => {
      expect((await inPod(a1, 'ping', ['-c', '1', '-W', '1', b1.status!.podIP!])).exitCode).toBe(0);
    }, 30_000);
    await eventually(async () => {
      const r = await execa(
        'ip',
        ['netns', 'exec', nodeOf('node2').netns, 'ping', '-c', '1', '-W', '1', a1.status!.podIP!],
        {
          reject: false,
        },
      );
      expect(r.exitCode).toBe(0);
    }, 30_000);
  });
});

/** Runs the built plugin as a runtime would: env and stdin; returns exit code and the parsed stdout. */
async function plugin(env: Record<string, string>, conf: Record<string, unknown> = {}) {
  const node = cluster.manifest.nodes[0]!;
  const r = await execa(join(cluster.dir, 'cni', 'bin', 'ovnk'), [], {
    env: { CNI_PATH: join(cluster.dir, 'cni', 'bin'), ...env },
    extendEnv: false,
    input: JSON.stringify({
      cniVersion: '1.0.0',
      name: 'ovnk',
      type: 'ovnk',
      server_socket: node.socket,
      ...conf,
    }),
    reject: false,
  });
  return { code: r.exitCode, out: r.stdout ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined };
}

interface Sandbox {
  namespace: string;
  name: string;
  containerId: string;
  netns: string;
  ifName: string;
}

/** The lab kubelet's records of node1's sandboxes (what a runtime knows about its attachments). */
function sandboxes(): Sandbox[] {
  const dir = join(cluster.dir, 'node1', 'ovnk', 'kubelet', 'sandboxes');
  return readdirSync(dir).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Sandbox);
}

describe('CNI commands against the real daemon', () => {
  const cniArgs = (name: string, namespace = 'default') =>
    `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name}`;

  test('the daemon socket is reachable by root only', () => {
    const mode = statSync(cluster.manifest.nodes[0]!.socket).mode & 0o777;
    expect(mode.toString(8)).toBe('600');
  });

  test('ADD fails with 101 when CNI_IFNAME already exists in the netns, and leaves nothing behind', async () => {
    const ns = `ovnk-${cluster.lab.id}-x1`;
    await execa('ip', ['netns', 'add', ns]);
    await execa('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other']);
    const r = await plugin({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'dup0000000000000000',
      CNI_NETNS: `/var/run/netns/${ns}`,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: cniArgs('a1'),
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatchObject({ code: 101 });
    expect(await ovsVsctl('node1', 'list-ports', 'br-int')).not.toMatch(/dup000000000_h/);
    await execa('ip', ['netns', 'del', ns]);
  });

  test('ADD for a pod that does not exist, or that the controller never addresses: 11, try again later', async () => {
    const ns = `ovnk-${cluster.lab.id}-x2`;
    await execa('ip', ['netns', 'add', ns]);
    const add = (podName: string) =>
      plugin({
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: 'ghost000000000000000',
        CNI_NETNS: `/var/run/netns/${ns}`,
        CNI_IFNAME: 'eth0',
        CNI_ARGS: cniArgs(podName),
      });
    try {
      // not in the API at all: said as soon as the API confirms it, not after the address timeout
      expect((await add('no-such-pod')).out).toMatchObject({
        code: 11,
        msg: expect.stringMatching(/no-such-pod does not exist on this node/),
      });
      // there, but asking for a switch that does not exist: waited for, then given up
      await core.createNamespacedPod({
        namespace: 'default',
        body: pod('unaddressable', 'node1', { 'ovn.kubernetes.io/logical_switch': 'no-such-subnet' }),
      });
      expect((await add('unaddressable')).out).toMatchObject({
        code: 11,
        msg: expect.stringMatching(/unaddressable has no address from the controller/),
      });
    } finally {
      await core.deleteNamespacedPod({ namespace: 'default', name: 'unaddressable' }).catch(() => undefined);
      await execa('ip', ['netns', 'del', ns]);
    }
  });

  test('CHECK passes on a running pod and reports what was changed behind its back', async () => {
    const sb = sandboxes().find((x) => x.name === 'a1')!;
    const env = {
      CNI_COMMAND: 'CHECK',
      CNI_CONTAINERID: sb.containerId,
      CNI_NETNS: `/var/run/netns/${sb.netns}`,
      CNI_IFNAME: sb.ifName,
      CNI_ARGS: cniArgs('a1'),
    };
    expect((await plugin(env)).code).toBe(0);
    await execa('ip', ['-n', sb.netns, 'link', 'set', 'dev', sb.ifName, 'mtu', '1300']);
    try {
      const r = await plugin(env);
      expect(r.out).toMatchObject({ code: 104, msg: expect.stringMatching(/mtu|MTU/) });
    } finally {
      await execa('ip', ['-n', sb.netns, 'link', 'set', 'dev', sb.ifName, 'mtu', '1400']);
    }
  });

  test('GC removes the attachments the runtime no longer lists, and only those; STATUS is ready; DEL repeats', async () => {
    const pods = await basePods();
    await core.createNamespacedPod({ namespace: 'default', body: pod('gc-me', 'node1') });
    await running('gc-me');
    const all = sandboxes();
    const victim = all.find((x) => x.name === 'gc-me')!;
    const keep = all.filter((x) => x !== victim);
    const ports = async () =>
      (await ovsVsctl('node1', 'list-ports', 'br-int')).split('\n').filter((p) => p.endsWith('_h'));
    expect((await ports()).length).toBe(all.length);
    const gc = await plugin(
      { CNI_COMMAND: 'GC', CNI_PATH: join(cluster.dir, 'cni', 'bin') },
      {
        cniVersion: '1.1.0',
        'cni.dev/valid-attachments': keep.map((x) => ({ containerID: x.containerId, ifname: x.ifName })),
      },
    );
    expect(gc.code).toBe(0);
    expect((await ports()).length).toBe(keep.length);
    expect((await ports()).some((p) => victim.containerId.startsWith(p.slice(0, 12)))).toBe(false);
    // everyone else is still connected
    const a1 = await running('a1');
    expect((await inPod(a1, 'ping', ['-c', '1', '-W', '2', pods[2]!.status!.podIP!])).exitCode).toBe(0);

    const status = await plugin({ CNI_COMMAND: 'STATUS' }, { cniVersion: '1.1.0' });
    expect(status.code).toBe(0);
    for (let i = 0; i < 2; i++) {
      const del = await plugin({
        CNI_COMMAND: 'DEL',
        CNI_CONTAINERID: victim.containerId,
        CNI_NETNS: '',
        CNI_IFNAME: victim.ifName,
        CNI_ARGS: cniArgs('gc-me'),
      });
      expect(del.code).toBe(0);
    }
    await core.deleteNamespacedPod({ namespace: 'default', name: 'gc-me' });
  });
});

describe("the daemon's debug endpoint", () => {
  const sock = () => join(cluster.dir, 'node1', 'ovnk', 'debug.sock');

  test('health, ovs-vsctl show of the node as the real ovs-vsctl prints it, CNI metrics', async () => {
    expect(await getUnix(sock(), '/healthz')).toEqual({ status: 200, text: 'ok\n' });
    expect((await getUnix(sock(), '/readyz')).status).toBe(200);
    await eventually(async () => {
      const ours = await getUnix(sock(), '/vsctl/show');
      expect(ours.text).toBe(`${await ovsVsctl('node1', 'show')}\n`);
    });
    const m = (await getUnix(sock(), '/metrics')).text;
    expect(m).toMatch(/ovnk_cni_request_seconds_count\{command="ADD",result="ok"\} [1-9]/);
    expect(m).toMatch(/ovnk_cni_errors_total\{command="ADD",code="101"\} 1/);
    expect(statSync(sock()).mode & 0o777).toBe(0o600);
  });
});

describe('kubectl ko', () => {
  /** The plugin as an operator runs it: with the lab's env.sh (KUBECONFIG, OVNK_DEBUG_URL, OVN_*_DB). */
  async function ko(...argv: string[]) {
    const env = Object.fromEntries(
      readFileSync(join(cluster.dir, 'env.sh'), 'utf8')
        .split('\n')
        .map((l) => /^export ([A-Z_]+)=(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => !!m)
        .map((m) => [m[1]!, m[2]!]),
    );
    return execa(join(import.meta.dirname, '../../../scripts/kubectl-ko'), argv, { env, reject: false });
  }

  test('nbctl views, diagnose, trace of a pod to another pod, status of the databases', async () => {
    const pods = await basePods();
    const ls = await ko('nbctl', 'ls-list');
    expect(ls.stdout).toBe(await cluster.lab.nbctl('ls-list'));
    const diag = await ko('diagnose');
    expect([diag.exitCode, diag.stdout]).toEqual([0, 'consistent']);
    const [a1, b1] = [await running('a1'), pods[2]!];
    const tr = await ko('trace', `default/${a1.metadata!.name}`, b1.status!.podIP!);
    expect(tr.exitCode).toBe(0);
    expect(tr.stdout).toMatch(new RegExp(`output to "${b1.metadata!.name}\\.default"`));
    const st = await ko('status');
    expect(st.stdout).toMatch(/OVN_Northbound\n\s+unix:\S+\s+standalone/);
    expect(st.stdout).toMatch(/OVN_Southbound\n\s+unix:\S+\s+standalone/);
  });
});
