// The lab kubelet and scheduler against the embedded API server, with the stock bridge + host-local + tuning
// plugins running inside each node's network namespace (two nodes of the test's own, no OVN). The first
// plugin is a bash wrapper of the test's own around the stock bridge: it logs every call and refuses ADD for
// pods named fail-*, with a CNI error.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ApiServer, startApiServer } from '../../../src/apiserver/server.ts';
import { type Kubelet, startKubelet } from '../../../src/lab/kubelet.ts';
import { labRoot } from '../../../src/lab/lab.ts';
import { addNetns, delNetns, listNetns } from '../../../src/lab/netns.ts';
import { podNetnsName } from '../../../src/lab/pod-sandboxes.ts';
import { run } from '../../../src/lab/proc.ts';
import { type Scheduler, startScheduler } from '../../../src/lab/scheduler.ts';
import { eventually } from '../helpers.ts';

const STOCK_PLUGINS = '/usr/lib/cni';
const id = randomBytes(3).toString('hex');
const dir = join(labRoot(), `kubelet-${id}`);
const binDir = join(dir, 'bin');
const cniLog = join(dir, 'cni.log');

interface Node {
  name: string;
  netns: string;
  ip: string;
  subnet: string;
  kubelet?: Kubelet;
}
const nodes: Node[] = [
  { name: 'n1', netns: `ovnk-${id}-n1`, ip: '172.31.0.1', subnet: '10.99.1.0/24' },
  { name: 'n2', netns: `ovnk-${id}-n2`, ip: '172.31.0.2', subnet: '10.99.2.0/24' },
];
const node = (name: string) => nodes.find((n) => n.name === name)!;
const prefix = (n: Node) => `ovnk-${id}-${n.name}`;
const ipamDir = (n: Node) => join(dir, `ipam-${n.name}`);

let api: ApiServer;
let kc: KubeConfig;
let core: CoreV1Api;
let scheduler: Scheduler | undefined;

function startNodeKubelet(n: Node): Kubelet {
  const k = startKubelet({
    kube: kc,
    nodeName: n.name,
    nodeNetns: n.netns,
    podNetnsPrefix: prefix(n),
    cniConf: join(dir, `${n.name}.conflist`),
    cniBinDirs: [binDir, STOCK_PLUGINS],
    cacheDir: join(dir, `kubelet-${n.name}`),
    nodeIp: n.ip,
    backoff: { initialMs: 200, maxMs: 800 },
  });
  n.kubelet = k;
  return k;
}

beforeAll(async () => {
  expect(existsSync(join(STOCK_PLUGINS, 'bridge')), 'containernetworking-plugins must be installed').toBe(
    true,
  );
  mkdirSync(binDir, { recursive: true });
  const wrapper = [
    '#!/bin/bash',
    'pod=$(tr ";" "\\n" <<<"$CNI_ARGS" | sed -n "s/^K8S_POD_NAME=//p")',
    `echo "$CNI_COMMAND $CNI_CONTAINERID $pod $CNI_NETNS" >>${cniLog}`,
    'if [ "$CNI_COMMAND" = ADD ] && [[ $pod == fail-* ]]; then',
    '  echo \'{"cniVersion":"1.0.0","code":100,"msg":"no address for you","details":"fail-* pods are refused"}\'',
    '  exit 1',
    'fi',
    `exec ${STOCK_PLUGINS}/bridge`,
  ];
  writeFileSync(join(binDir, 'lab-bridge'), `${wrapper.join('\n')}\n`);
  chmodSync(join(binDir, 'lab-bridge'), 0o755);
  writeFileSync(cniLog, '');
  for (const n of nodes) {
    const conflist = {
      cniVersion: '1.0.0',
      name: 'labnet',
      plugins: [
        {
          type: 'lab-bridge',
          bridge: 'cni0',
          isGateway: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: n.subnet }]], dataDir: ipamDir(n) },
        },
        { type: 'tuning', mtu: 1400 },
      ],
    };
    writeFileSync(join(dir, `${n.name}.conflist`), JSON.stringify(conflist));
    await addNetns(n.netns);
  }
  api = await startApiServer({ port: 0 });
  kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  await Promise.all(nodes.map((n) => startNodeKubelet(n).ready));
  scheduler = startScheduler({ kube: kc });
  await scheduler.ready;
});

afterAll(async () => {
  await scheduler?.stop();
  for (const n of nodes) await n.kubelet?.stop();
  await api?.close();
  // the kubelets leave their sandboxes on purpose; the pods' and nodes' namespaces go here
  for (const ns of listNetns()) if (ns.startsWith(`ovnk-${id}-`)) await delNetns(ns);
  rmSync(dir, { recursive: true, force: true });
});

interface CniCall {
  command: string;
  containerId: string;
  pod: string;
  netns: string;
}

function cniCalls(pod?: string): CniCall[] {
  return readFileSync(cniLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [command, containerId, name, netns] = l.split(' ') as [string, string, string, string?];
      return { command, containerId, pod: name, netns: netns ?? '' };
    })
    .filter((c) => pod === undefined || c.pod === pod);
}

function podSpec(name: string, extra: Partial<V1Pod['spec']> = {}, finalizers?: string[]): V1Pod {
  return {
    metadata: { name, namespace: 'default', finalizers },
    spec: { containers: [{ name: 'c', image: 'pause' }], ...extra },
  };
}

async function running(name: string): Promise<V1Pod> {
  let pod: V1Pod | undefined;
  await eventually(async () => {
    pod = await core.readNamespacedPod({ name, namespace: 'default' });
    expect(pod.status?.phase).toBe('Running');
    expect(pod.status?.podIP).toBeTruthy();
  }, 15_000);
  return pod!;
}

const netnsOf = (pod: V1Pod) =>
  podNetnsName(prefix(node(pod.spec!.nodeName!)), 'default', pod.metadata!.name!);
const leaseFile = (pod: V1Pod) => join(ipamDir(node(pod.spec!.nodeName!)), 'labnet', pod.status!.podIP!);

async function eth0Address(netns: string): Promise<string | undefined> {
  const out = await run('ip', ['-n', netns, '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
  return /inet (\S+)/.exec(out)?.[1];
}

describe('lab kubelet and scheduler', () => {
  let pods: V1Pod[] = [];

  test('the kubelets register their nodes Ready with their InternalIP', async () => {
    for (const n of nodes) {
      const got = await core.readNode({ name: n.name });
      expect(got.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      expect(got.status?.addresses).toContainEqual({ type: 'InternalIP', address: n.ip });
    }
  });

  test('scheduled pods get a namespace, a host-local address and a Running status; same-node pods ping', async () => {
    const names = ['a1', 'a2', 'a3', 'a4'];
    const started = Date.now();
    await Promise.all(
      names.map((name) => core.createNamespacedPod({ namespace: 'default', body: podSpec(name) })),
    );
    pods = await Promise.all(names.map(running));
    const ms = Date.now() - started;
    console.log(`4 pods created, bound and Running in ${ms} ms`);

    // least-pods spreads them evenly
    const perNode = pods.map((p) => p.spec!.nodeName).sort();
    expect(perNode).toEqual(['n1', 'n1', 'n2', 'n2']);
    for (const p of pods) {
      const n = node(p.spec!.nodeName!);
      const ip = p.status!.podIP!;
      expect(p.status?.podIPs).toEqual([{ ip }]);
      expect(p.status?.hostIP).toBe(n.ip);
      expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      expect(p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status).toBe('True');
      expect(`${ip}/24`).toBe(await eth0Address(netnsOf(p)));
      expect(ip.startsWith(n.subnet.slice(0, 8))).toBe(true);
      // host-local's lease names the sandbox's container id
      const adds = cniCalls(p.metadata!.name!).filter((c) => c.command === 'ADD');
      expect(adds).toHaveLength(1);
      expect(adds[0]!.containerId).toMatch(/^[0-9a-f]{64}$/);
      expect(adds[0]!.netns).toBe(`/var/run/netns/${netnsOf(p)}`);
      expect(readFileSync(leaseFile(p), 'utf8')).toContain(adds[0]!.containerId);
      // the second plugin of the chain ran too
      const mtu = await run('ip', ['-n', netnsOf(p), '-o', 'link', 'show', 'dev', 'eth0']);
      expect(mtu).toMatch(/mtu 1400/);
    }
    const events = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=a1',
    });
    expect(events.items.map((e) => e.reason)).toContain('Scheduled');

    const [p, q] = pods.filter((x) => x.spec!.nodeName === 'n1') as [V1Pod, V1Pod];
    await run('ip', ['netns', 'exec', netnsOf(p), 'ping', '-c1', '-W2', q.status!.podIP!]);
    await run('ip', ['netns', 'exec', netnsOf(q), 'ping', '-c1', '-W2', p.status!.podIP!]);
  });

  test('a hostNetwork pod gets no sandbox: Running with the node IP', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: podSpec('hostnet', { hostNetwork: true }) });
    const p = await running('hostnet');
    expect(p.status?.podIP).toBe(node(p.spec!.nodeName!).ip);
    expect(p.status?.hostIP).toBe(node(p.spec!.nodeName!).ip);
    expect(cniCalls('hostnet')).toEqual([]);
    expect(listNetns()).not.toContain(netnsOf(p));
  });

  test('a deleted pod: DEL ran, its address is released, its namespace is gone', async () => {
    const p = pods.find((x) => x.metadata!.name === 'a4')!;
    const lease = leaseFile(p);
    expect(existsSync(lease)).toBe(true);
    await core.deleteNamespacedPod({ name: 'a4', namespace: 'default' });
    await eventually(() => {
      const containerId = cniCalls('a4')[0]!.containerId;
      expect(cniCalls('a4').map((c) => `${c.command} ${c.containerId}`)).toEqual([
        `ADD ${containerId}`,
        `DEL ${containerId}`,
      ]);
      expect(listNetns()).not.toContain(netnsOf(p));
      expect(existsSync(lease)).toBe(false);
    });
  });

  test('a terminating pod (finalizer): torn down while it still exists', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: podSpec('held', {}, ['example.com/hold']) });
    const p = await running('held');
    await core.deleteNamespacedPod({ name: 'held', namespace: 'default' });
    await eventually(() => {
      expect(cniCalls('held').map((c) => c.command)).toEqual(['ADD', 'DEL']);
      expect(listNetns()).not.toContain(netnsOf(p));
      expect(existsSync(leaseFile(p))).toBe(false);
    });
    const left = await core.readNamespacedPod({ name: 'held', namespace: 'default' });
    expect(left.metadata?.deletionTimestamp).toBeTruthy();
    await core.patchNamespacedPod(
      { name: 'held', namespace: 'default', body: { metadata: { finalizers: null } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(async () =>
      expect(
        (await core.listNamespacedPod({ namespace: 'default' })).items.map((x) => x.metadata?.name),
      ).not.toContain('held'),
    );
  });

  test('a failing plugin: a FailedCreatePodSandBox Event with the CNI error, retries with backoff, each undone', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: podSpec('fail-1') });
    let message = '';
    await eventually(async () => {
      const events = await core.listNamespacedEvent({
        namespace: 'default',
        fieldSelector: 'involvedObject.name=fail-1,reason=FailedCreatePodSandBox',
      });
      expect(events.items).toHaveLength(1); // repeats aggregate into one Event
      expect(events.items[0]!.count).toBeGreaterThanOrEqual(3);
      expect(events.items[0]!.type).toBe('Warning');
      message = events.items[0]!.message!;
    }, 15_000);
    expect(message).toBe(
      'Failed to create pod sandbox: plugin type="lab-bridge" failed (add): no address for you; fail-* pods are refused',
    );
    const p = await core.readNamespacedPod({ name: 'fail-1', namespace: 'default' });
    expect(p.status?.phase).toBe('Pending');
    // every failed ADD was followed by a DEL of the same sandbox, and each try had a new sandbox
    const calls = cniCalls('fail-1');
    const adds = calls.filter((c) => c.command === 'ADD');
    for (const add of adds.slice(0, -1)) {
      expect(calls).toContainEqual(expect.objectContaining({ command: 'DEL', containerId: add.containerId }));
    }
    expect(new Set(adds.map((a) => a.containerId)).size).toBe(adds.length);

    await core.deleteNamespacedPod({ name: 'fail-1', namespace: 'default' });
    await eventually(() => expect(listNetns()).not.toContain(netnsOf(p)));
    const settled = cniCalls('fail-1').length;
    await new Promise((r) => setTimeout(r, 1_500)); // longer than the largest backoff (800 ms)
    expect(cniCalls('fail-1').length).toBe(settled);
  });

  test('kubelet restart: no ADD again for running pods; a pod deleted meanwhile and an orphan namespace are cleaned', async () => {
    const n1 = node('n1');
    const [kept, gone] = pods.filter((x) => x.spec!.nodeName === 'n1') as [V1Pod, V1Pod];
    await n1.kubelet!.stop();
    const callsBefore = cniCalls().length;
    await core.deleteNamespacedPod({ name: gone.metadata!.name!, namespace: 'default' });
    const orphan = `${prefix(n1)}-default-0123456789`;
    await addNetns(orphan);
    // nothing happens while the kubelet is down
    await new Promise((r) => setTimeout(r, 300));
    expect(cniCalls().length).toBe(callsBefore);
    expect(listNetns()).toContain(netnsOf(gone));

    const started = Date.now();
    await startNodeKubelet(n1).ready;
    console.log(`kubelet restart with 2 sandboxes: ready in ${Date.now() - started} ms`);
    const since = cniCalls().slice(callsBefore);
    const goneId = cniCalls(gone.metadata!.name!)[0]!.containerId;
    expect(since.map((c) => `${c.command} ${c.containerId}`)).toEqual([`DEL ${goneId}`]);
    expect(listNetns()).not.toContain(netnsOf(gone));
    expect(listNetns()).not.toContain(orphan);
    expect(existsSync(leaseFile(gone))).toBe(false);
    // the pod that stayed is untouched and still reachable
    expect(listNetns()).toContain(netnsOf(kept));
    expect(
      (await core.readNamespacedPod({ name: kept.metadata!.name!, namespace: 'default' })).status?.podIP,
    ).toBe(kept.status!.podIP);
    await run('ip', ['netns', 'exec', netnsOf(kept), 'ping', '-c1', '-W2', n1.subnet.replace('0/24', '1')]);
  });
});
