// ovn.kubernetes.io/ingress_rate and egress_rate on a real two-node stack, measured with iperf3 between pods
// on different nodes: the limit holds within 20 %, follows the annotation live, goes when it goes, and a
// deleted pod leaves no QoS row behind.
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { QOS_PORT_KEY } from '../../../src/daemon/qos.ts';
import { Cluster } from '../../../src/lab/cluster.ts';
import { podNetnsName } from '../../../src/lab/pod-sandboxes.ts';
import { eventually } from '../helpers.ts';
import { waitRunning } from './pods.ts';

const SECONDS = 3;
const INGRESS = 'ovn.kubernetes.io/ingress_rate';
const EGRESS = 'ovn.kubernetes.io/egress_rate';

let cluster: Cluster;
let core: CoreV1Api;
/** `limited` (node1) carries the annotations; `peer` (node2) has none. */
let limited: V1Pod;
let peer: V1Pod;

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 2 });
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.manifest.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
}, 60_000);

function pod(name: string, node: string, annotations: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name, namespace: 'default', annotations },
    spec: { nodeName: node, containers: [{ name: 'c', image: 'pause' }] },
  };
}

const running = (name: string): Promise<V1Pod> => waitRunning(core, name);

const netnsOf = (p: V1Pod) =>
  podNetnsName(
    cluster.manifest.nodes.find((n) => n.name === p.spec!.nodeName)!.podNetnsPrefix,
    'default',
    p.metadata!.name!,
  );
const node1 = () => cluster.lab.chassis.find((c) => c.name === 'node1')!;

/** Mbit/s received in an iperf3 TCP transfer of SECONDS from one pod to another. */
async function throughput(from: V1Pod, to: V1Pod): Promise<number> {
  const server = execa('ip', ['netns', 'exec', netnsOf(to), 'iperf3', '-s', '-1', '-p', '5201'], {
    reject: false,
  });
  try {
    await eventually(async () => {
      const ss = await execa('ip', ['netns', 'exec', netnsOf(to), 'ss', '-Hltn', 'sport = :5201']);
      expect(ss.stdout).toContain('5201');
    }, 5_000);
    const client = await execa('ip', [
      ...['netns', 'exec', netnsOf(from), 'iperf3', '-c', to.status!.podIP!, '-p', '5201'],
      ...['-t', String(SECONDS), '-J'],
    ]);
    const bps = JSON.parse(client.stdout).end.sum_received.bits_per_second as number;
    return bps / 1e6;
  } finally {
    server.kill();
    await server;
  }
}

async function annotate(annotations: Record<string, string | null>): Promise<void> {
  await core.patchNamespacedPod(
    { name: 'limited', namespace: 'default', body: { metadata: { annotations } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** What the daemon put on node1: our QoS rows' max-rate and the tbf on the pod's eth0 (if any). */
async function appliedState(): Promise<{ maxRates: string[]; podQdisc: string }> {
  const rows = JSON.parse(
    await node1().vsctl('--format=json', '--columns=external_ids,other_config', 'list', 'QoS'),
  ).data as [[string, [string, string][]], [string, [string, string][]]][];
  const maxRates = rows
    .map(([ids, config]) => [new Map(ids[1]), new Map(config[1])] as const)
    .filter(([ids]) => ids.has(QOS_PORT_KEY))
    .map(([, config]) => config.get('max-rate') ?? '');
  const qdisc = await execa('ip', ['netns', 'exec', netnsOf(limited), 'tc', 'qdisc', 'show', 'dev', 'eth0']);
  return { maxRates, podQdisc: qdisc.stdout };
}

/** The measured rate is within 20 % of the limit. */
function expectNear(measured: number, mbps: number, what: string): void {
  expect(measured, `${what}: ${measured.toFixed(2)} Mbit/s for a limit of ${mbps}`).toBeGreaterThan(
    mbps * 0.8,
  );
  expect(measured, `${what}: ${measured.toFixed(2)} Mbit/s for a limit of ${mbps}`).toBeLessThan(mbps * 1.2);
}

const measured: Record<string, number> = {};

describe('pod rate limits (ingress_rate / egress_rate)', () => {
  test('a pod created with 10 Mbit/s each way gets 10 within 20 % out of it and into it, across nodes', async () => {
    await core.createNamespacedPod({
      namespace: 'default',
      body: pod('limited', 'node1', { [INGRESS]: '10', [EGRESS]: '10' }),
    });
    await core.createNamespacedPod({ namespace: 'default', body: pod('peer', 'node2') });
    limited = await running('limited');
    peer = await running('peer');
    measured.egress10 = await throughput(limited, peer);
    measured.ingress10 = await throughput(peer, limited);
    expectNear(measured.egress10, 10, 'egress');
    expectNear(measured.ingress10, 10, 'ingress');
  }, 40_000);

  test('changing the annotation to 20 changes the limit on the running pod', async () => {
    await annotate({ [INGRESS]: '20', [EGRESS]: '20' });
    await eventually(async () => {
      const s = await appliedState();
      expect(s.maxRates).toEqual(['20000000']);
      expect(s.podQdisc).toMatch(/tbf .*rate 20Mbit/);
    });
    measured.egress20 = await throughput(limited, peer);
    measured.ingress20 = await throughput(peer, limited);
    expectNear(measured.egress20, 20, 'egress');
    expectNear(measured.ingress20, 20, 'ingress');
  }, 40_000);

  test('an unreadable value leaves the limit as it is', async () => {
    await annotate({ [INGRESS]: 'fast', [EGRESS]: '-5' });
    await eventually(async () => {
      const p = await core.readNamespacedPod({ name: 'limited', namespace: 'default' });
      expect(p.metadata?.annotations?.[EGRESS]).toBe('-5');
    });
    // the daemon sees the same change within milliseconds; give it time to (wrongly) act
    await new Promise((r) => setTimeout(r, 500));
    const s = await appliedState();
    expect(s.maxRates).toEqual(['20000000']);
    expect(s.podQdisc).toMatch(/tbf .*rate 20Mbit/);
  });

  test('removing the annotations removes the limits and the QoS row', async () => {
    await annotate({ [INGRESS]: null, [EGRESS]: null });
    await eventually(async () => {
      const s = await appliedState();
      expect(s.maxRates).toEqual([]);
      expect(s.podQdisc).not.toMatch(/tbf/);
    });
    measured.egressFree = await throughput(limited, peer);
    measured.ingressFree = await throughput(peer, limited);
    expect(measured.egressFree).toBeGreaterThan(60);
    expect(measured.ingressFree).toBeGreaterThan(60);
  }, 40_000);

  test('a deleted pod leaves no QoS row on its node', async () => {
    await annotate({ [INGRESS]: '5' });
    await eventually(async () => expect((await appliedState()).maxRates).toEqual(['5000000']));
    await core.deleteNamespacedPod({ name: 'limited', namespace: 'default' });
    await eventually(async () => {
      const ports = await node1().vsctl(
        '--bare',
        '--columns=name',
        'find',
        'Interface',
        'external_ids:pod_name=limited',
      );
      expect(ports.trim()).toBe('');
      const ours = await node1().vsctl(
        '--bare',
        '--columns=_uuid',
        'find',
        'QoS',
        'external_ids:vendor=kube-ovn',
      );
      expect(ours.trim()).toBe('');
    }, 20_000);
    console.log('qos e2e, Mbit/s:', JSON.stringify(measured));
  });
});
