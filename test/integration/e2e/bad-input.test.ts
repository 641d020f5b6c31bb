// Bad input on the node side, against a real one-node cluster: the CNI plugin fuzzed with mutated env and
// stdin, the daemon's socket fuzzed with raw bytes, shell metacharacters fed through the whole path (env,
// CNI_ARGS, pod annotations through the API) without ever reaching a shell, and the socket's owner and mode.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fuzzCniPlugin } from '../../../src/chaos/fuzz/cni-plugin.ts';
import { fuzzDaemonSocket } from '../../../src/chaos/fuzz/daemon-socket.ts';
import type { FuzzReport } from '../../../src/chaos/fuzz/report.ts';
import { isAddressed } from '../../../src/daemon/pod-address.ts';
import { Cluster } from '../../../src/lab/cluster.ts';
import { addNetns, delNetns, listLinks, listNetns } from '../../../src/lab/netns.ts';
import { eventually } from '../helpers.ts';

let cluster: Cluster;
let core: CoreV1Api;
let tmp: string;
const NODE = 'node1';

beforeAll(async () => {
  // a short wait for annotations: ADDs for pods that never come answer 11 after 1 s
  cluster = await Cluster.start({ nodes: 1, kubelets: false, daemonArgs: ['--address-timeout-ms', '1000'] });
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.manifest.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  tmp = mkdtempSync(join(tmpdir(), 'ovnk-bad-input-'));
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 60_000);

const node = () => cluster.manifest.nodes.find((n) => n.name === NODE)!;
const daemonPid = () => cluster.servicePid(`${NODE}/ovnk/daemon`);
const clean = (r: FuzzReport) => ({ crashes: r.crashes, hangs: r.hangs, violations: r.violations });

describe('fuzzing', () => {
  test('the CNI plugin against the real daemon: 150 mutated calls, no crash, hang or leftover', async () => {
    const pid = daemonPid();
    const report = await fuzzCniPlugin({ cluster, node: NODE, cases: 150, seed: 20_250_601 });
    expect(report.cases).toBe(150);
    expect(clean(report), report.failures.join('\n')).toEqual({ crashes: 0, hangs: 0, violations: 0 });
    expect(daemonPid()).toBe(pid);
  }, 120_000);

  test("the daemon's socket: 500 raw requests, each answered 4xx or closed, the daemon serving throughout", async () => {
    const pid = daemonPid()!;
    const report = await fuzzDaemonSocket({
      socket: node().socket,
      cases: 500,
      seed: 20_250_601,
      isDaemonAlive: () => daemonPid() === pid,
    });
    expect(report.cases).toBe(500);
    expect(clean(report), report.failures.join('\n')).toEqual({ crashes: 0, hangs: 0, violations: 0 });
  }, 120_000);
});

test('the daemon socket is a socket of root (uid 0), mode 0600', () => {
  const st = statSync(node().socket);
  expect(st.isSocket()).toBe(true);
  expect(st.uid).toBe(0);
  expect((st.mode & 0o777).toString(8)).toBe('600');
});

/** The built plugin, run in the node's netns as the kubelet runs it. */
async function plugin(env: Record<string, string>, conf: Record<string, unknown> = {}) {
  const r = await execa('ip', ['netns', 'exec', node().netns, join(cluster.dir, 'cni', 'bin', 'ovnk')], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    extendEnv: false,
    input: JSON.stringify({
      cniVersion: '1.0.0',
      name: 'ovnk',
      type: 'ovnk',
      server_socket: node().socket,
      ...conf,
    }),
    reject: false,
    timeout: 30_000,
  });
  const out = r.stdout ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined;
  return { code: r.exitCode, signal: r.signal, timedOut: r.timedOut, out };
}

async function nodeState() {
  const chassis = cluster.lab.chassis.find((c) => c.name === NODE)!;
  return {
    links: (await listLinks(node().netns)).sort(),
    ports: (await chassis.vsctl('list-ports', 'br-int')).split('\n').filter(Boolean).sort(),
    netns: listNetns()
      .filter((n) => n.startsWith('ovnk-'))
      .sort(),
  };
}

async function addressedPod(name: string, annotations: Record<string, string> = {}): Promise<V1Pod> {
  await core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name, namespace: 'default', annotations },
      spec: { nodeName: NODE, containers: [{ name: 'c', image: 'pause' }] },
    },
  });
  let pod: V1Pod | undefined;
  await eventually(async () => {
    pod = await core.readNamespacedPod({ namespace: 'default', name });
    expect(isAddressed(pod.metadata?.annotations)).toBe(true);
  }, 20_000);
  return pod!;
}

describe('shell metacharacters never reach a shell', () => {
  test('in every CNI variable, in CNI_ARGS and in pod annotations: a CNI error or a clean success, no marker, nothing left', async () => {
    const marker = join(tmp, 'marker');
    const nasty = [
      `x;touch ${marker}`,
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `a|touch ${marker}`,
      `a&&touch ${marker}`,
      `'"`,
      `x\ntouch ${marker}`,
      'a|b',
      'a&&b',
    ];
    await addressedPod('meta-ok');
    // the controller must refuse these (they are not addresses or switches), so the pod never gets addressed
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: {
          name: 'meta-bad',
          namespace: 'default',
          annotations: {
            'ovn.kubernetes.io/ip_address': `10.16.0.50;touch ${marker}`,
            'ovn.kubernetes.io/mac_address': `$(touch ${marker})`,
            'ovn.kubernetes.io/logical_switch': `\`touch ${marker}\``,
          },
        },
        spec: { nodeName: NODE, containers: [{ name: 'c', image: 'pause' }] },
      },
    });
    const before = await nodeState();
    const netns = `ovnk-${cluster.lab.id}-meta`;
    await addNetns(netns);
    try {
      const valid = {
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: 'meta0000000000000000',
        CNI_NETNS: `/var/run/netns/${netns}`,
        CNI_IFNAME: 'eth0',
      };
      const args = (name: string, namespace = 'default') =>
        `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name}`;
      const calls: Record<string, string>[] = [];
      for (const v of nasty) {
        calls.push(
          { ...valid, CNI_CONTAINERID: v, CNI_ARGS: args('meta-ok') },
          { ...valid, CNI_IFNAME: v, CNI_ARGS: args('meta-ok') },
          { ...valid, CNI_NETNS: v, CNI_ARGS: args('meta-ok') },
          { ...valid, CNI_NETNS: `/var/run/netns/${netns}${v}`, CNI_ARGS: args('meta-ok') },
          { ...valid, CNI_ARGS: args(v) },
          { ...valid, CNI_ARGS: args('meta-ok', v) },
        );
      }
      calls.push({ ...valid, CNI_ARGS: args('meta-bad') });
      const outcomes: string[] = [];
      for (const env of calls) {
        for (const command of ['ADD', 'CHECK', 'DEL']) {
          const r = await plugin({ ...env, CNI_COMMAND: command });
          expect([r.timedOut, r.signal]).toEqual([false, undefined]);
          if (r.code === 0) {
            outcomes.push(`${command} ok`);
            if (command === 'ADD') expect(r.out).toMatchObject({ ips: [expect.anything()] });
          } else {
            expect(r.code).toBe(1);
            expect(r.out).toMatchObject({ code: expect.any(Number), msg: expect.any(String) });
            expect(r.out!.code, `${command} ${JSON.stringify(env)}: ${JSON.stringify(r.out)}`).not.toBe(999);
            outcomes.push(`${command} ${r.out!.code}`);
          }
        }
      }
      // no ADD gets through: refused by the plugin (4), for a netns path that does not exist (5), or for a pod
      // that can never be addressed (11); CHECK finds nothing (3, 104); DEL of what was never made succeeds
      const allowed = [
        'ADD 4',
        'ADD 5',
        'ADD 11',
        'CHECK 3',
        'CHECK 4',
        'CHECK 5',
        'CHECK 104',
        'DEL 4',
        'DEL ok',
      ];
      expect([...new Set(outcomes)].filter((o) => !allowed.includes(o))).toEqual([]);
      expect(outcomes).toContain('ADD 11');
      expect((await listLinks(netns)).filter((l) => l !== 'lo')).toEqual([]);
    } finally {
      await delNetns(netns);
    }
    expect(existsSync(marker)).toBe(false);
    expect(await nodeState()).toEqual(before);
    for (const name of ['meta-ok', 'meta-bad'])
      await core.deleteNamespacedPod({ namespace: 'default', name, gracePeriodSeconds: 0 });
  }, 120_000);
});

describe('regressions found by the fuzzers', () => {
  test('a config nested too deep to forward is a decoding failure (6), not an unreachable daemon (11)', async () => {
    // JSON.stringify cannot write such a config either: the plugin gets the text
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const r = await execa('ip', ['netns', 'exec', node().netns, join(cluster.dir, 'cni', 'bin', 'ovnk')], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_COMMAND: 'STATUS' },
      extendEnv: false,
      input: `{"cniVersion":"1.1.0","name":"ovnk","type":"ovnk","server_socket":${JSON.stringify(node().socket)},"deep":${deep}}`,
      reject: false,
    });
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 6, msg: expect.stringMatching(/nested too deeply/) });
  });

  test('GC without a valid cni.dev/valid-attachments list is refused (7) and removes nothing', async () => {
    await addressedPod('gc-keep');
    const netns = `ovnk-${cluster.lab.id}-gc`;
    await addNetns(netns);
    const attach = {
      CNI_CONTAINERID: 'gckeep00000000000000',
      CNI_NETNS: `/var/run/netns/${netns}`,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=gc-keep',
    };
    try {
      expect((await plugin({ ...attach, CNI_COMMAND: 'ADD' })).code).toBe(0);
      const ports = (await nodeState()).ports;
      expect(ports).toContain('gckeep000000_h');
      for (const list of [undefined, 'all', [1], [{ containerID: 'x' }]]) {
        const r = await plugin(
          { CNI_COMMAND: 'GC' },
          { cniVersion: '1.1.0', ...(list === undefined ? {} : { 'cni.dev/valid-attachments': list }) },
        );
        expect(r.out).toMatchObject({ code: 7, msg: expect.stringMatching(/valid-attachments/) });
      }
      expect((await nodeState()).ports).toEqual(ports);
      expect((await plugin({ ...attach, CNI_COMMAND: 'DEL' })).code).toBe(0);
    } finally {
      await delNetns(netns);
      await core.deleteNamespacedPod({ namespace: 'default', name: 'gc-keep', gracePeriodSeconds: 0 });
    }
  });
});
