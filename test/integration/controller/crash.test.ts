// The controller as a real process, killed with SIGKILL at random moments while pods come and go, and two
// replicas under leader election. Afterwards nothing is duplicated, leaked or left without an address.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ApiServer, startApiServer } from '../../../src/apiserver/server.ts';
import { Ann } from '../../../src/controller/k8s/annotations.ts';
import { isAlive, waitGone } from '../../../src/lab/proc.ts';
import { eventually, useLab } from '../helpers.ts';

const ctx = useLab({ northd: true });
const root = join(import.meta.dirname, '../../..');
let api: ApiServer;
let kc: KubeConfig;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let dir: string;
const children = new Set<ResultPromise>();

beforeAll(async () => {
  api = await startApiServer({ port: 0, manifests: [join(root, 'deploy/crds')] });
  kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  dir = mkdtempSync(join(tmpdir(), 'ovnk-crash-'));
  writeFileSync(join(dir, 'kubeconfig'), api.kubeconfig);
});
afterAll(async () => {
  for (const c of children) await kill(c);
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

function controller(extra: string[] = []): ResultPromise {
  const child = execa(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/controller/main.ts',
      `--kubeconfig=${join(dir, 'kubeconfig')}`,
      `--ovn-nb-addr=${ctx.lab.central.nb.unixRemotes}`,
      '--log-level=warn',
      // several replicas run at once: each debug endpoint on a port of its own
      '--debug-addr=127.0.0.1:0',
      ...extra,
    ],
    { cwd: root, reject: false, stdin: 'ignore' },
  );
  children.add(child);
  void child.finally(() => children.delete(child));
  return child;
}

async function kill(child: ResultPromise, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.pid && isAlive(child.pid)) child.kill(signal);
  await child;
  if (child.pid) await waitGone(child.pid, 5_000);
}

/** Whom the controllers' Lease names (`<host>-<pid>-<random>`). */
async function leaseHolder(): Promise<string | undefined> {
  const lease = await kc
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ namespace: 'kube-system', name: 'ovnk-controller' });
  return lease.spec?.holderIdentity;
}

function pod(name: string): V1Pod {
  return {
    metadata: { name, namespace: 'default' },
    spec: { nodeName: 'node1', containers: [{ name: 'c', image: 'x' }] },
  };
}

interface Snapshot {
  pods: V1Pod[];
  ips: {
    metadata: { name: string };
    spec: { ipAddress: string; macAddress: string; podName: string; namespace: string };
  }[];
  lsps: { name: string; addresses: string; owner: string }[];
}

async function snapshot(): Promise<Snapshot> {
  const pods = (await core.listNamespacedPod({ namespace: 'default' })).items;
  const ipList = (
    (await custom.listClusterCustomObject({ group: 'kubeovn.io', version: 'v1', plural: 'ips' })) as {
      items: Snapshot['ips'];
    }
  ).items;
  const out = JSON.parse(
    await ctx.lab.nbctl(
      '--format=json',
      '--columns=name,addresses,external_ids',
      'list',
      'Logical_Switch_Port',
    ),
  ) as { data: [string, unknown, [string, [string, string][]]][] };
  const lsps = out.data.map(([name, addresses, ext]) => ({
    name,
    addresses: typeof addresses === 'string' ? addresses : '',
    owner: Object.fromEntries(ext[1])['ovnk.io/owner'] ?? '',
  }));
  return { pods, ips: ipList, lsps };
}

function expectConsistent(s: Snapshot): void {
  const live = s.pods.filter((p) => !p.metadata?.deletionTimestamp);
  const names = new Set(live.map((p) => `${p.metadata!.name}.default`));
  // every live pod has an address, the same in its annotation, its IP CR and its port
  for (const p of live) {
    const a = p.metadata?.annotations ?? {};
    const key = `${p.metadata!.name}.default`;
    expect({ key, allocated: a[Ann.allocated] }).toEqual({ key, allocated: 'true' });
    const ip = s.ips.find((i) => i.metadata.name === key);
    expect({ key, ip: ip?.spec.ipAddress }).toEqual({ key, ip: a[Ann.ipAddress] });
    const lsp = s.lsps.find((l) => l.name === key);
    expect({ key, lsp: lsp?.addresses }).toEqual({ key, lsp: `${a[Ann.macAddress]} ${a[Ann.ipAddress]}` });
  }
  // nothing without a pod
  const podIps = s.ips.filter((i) => i.spec.namespace === 'default');
  expect(podIps.map((i) => i.metadata.name).filter((n) => !names.has(n))).toEqual([]);
  const podPorts = s.lsps.filter((l) => l.owner.startsWith('pod/'));
  expect(podPorts.map((l) => l.name).filter((n) => !names.has(n))).toEqual([]);
  // no address twice, anywhere
  const dup = (xs: string[]) => xs.filter((x, i) => xs.indexOf(x) !== i);
  expect(dup(live.map((p) => p.metadata!.annotations![Ann.ipAddress]!))).toEqual([]);
  expect(dup(live.map((p) => p.metadata!.annotations![Ann.macAddress]!))).toEqual([]);
  expect(dup(s.ips.map((i) => i.spec.ipAddress))).toEqual([]);
  expect(dup(s.lsps.filter((l) => l.addresses.includes(' ')).map((l) => l.addresses.split(' ')[1]!))).toEqual(
    [],
  );
}

describe('controller process', () => {
  test('SIGKILL at random moments, 20 times, while pods are created and deleted: no duplicate, no leak', async () => {
    let stop = false;
    let created = 0;
    const churn = (async () => {
      let seq = 0;
      while (!stop) {
        const name = `c${seq++}`;
        await core.createNamespacedPod({ namespace: 'default', body: pod(name) });
        created++;
        if (seq % 3 === 0) {
          await core
            .deleteNamespacedPod({ namespace: 'default', name: `c${seq - 2}` })
            .catch(() => undefined);
        }
        await sleep(40);
      }
    })();
    let rnd = 20261122;
    const random = () => {
      rnd = (rnd * 1103515245 + 12345) & 0x7fffffff;
      return rnd / 0x7fffffff;
    };
    try {
      for (let i = 0; i < 20; i++) {
        const c = controller(['--leader-elect=false']);
        await sleep(800 + random() * 1500);
        await kill(c);
      }
    } finally {
      stop = true;
      await churn;
    }
    expect(created).toBeGreaterThan(100);
    const last = controller(['--leader-elect=false']);
    try {
      await eventually(async () => expectConsistent(await snapshot()), 60_000);
    } finally {
      await kill(last, 'SIGTERM');
    }
  }, 240_000);

  test('two replicas: only the Lease holder writes; a frozen leader is replaced after the lease, stands by, and leads again in-process', async () => {
    const election = ['--lease-duration=2', '--renew-deadline-ms=1500', '--retry-period-ms=300'];
    const a = controller(election);
    await eventually(async () => expect(await leaseHolder()).toContain(`-${a.pid}-`), 20_000);
    const b = controller(election);
    await core.createNamespacedPod({ namespace: 'default', body: pod('le1') });
    await eventually(
      async () =>
        expect(
          (await core.readNamespacedPod({ namespace: 'default', name: 'le1' })).metadata?.annotations?.[
            Ann.routed
          ],
        ).toBe('true'),
      20_000,
    );

    // freeze the leader: nobody may write until its lease has run out
    process.kill(a.pid!, 'SIGSTOP');
    const frozenAt = Date.now();
    await core.createNamespacedPod({ namespace: 'default', body: pod('le2') });
    let handledAt = 0;
    await eventually(async () => {
      const p = await core.readNamespacedPod({ namespace: 'default', name: 'le2' });
      expect(p.metadata?.annotations?.[Ann.routed]).toBe('true');
      handledAt = Date.now();
    }, 30_000);
    expect(handledAt - frozenAt).toBeGreaterThanOrEqual(2_000);
    expect(await leaseHolder()).toContain(`-${b.pid}-`);
    // the old leader, resumed, finds it lost the Lease: it stops its controller and stands by (no exit)
    let aLog = '';
    a.stdout?.on('data', (d: Buffer) => (aLog += d.toString()));
    process.kill(a.pid!, 'SIGCONT');
    await eventually(async () => expect(aLog).toContain('lost leadership; stopping the controller'), 20_000);
    expect(isAlive(a.pid!)).toBe(true);
    // once b is gone, a takes the Lease again and its new term does the work: the normal start path
    await kill(b, 'SIGTERM');
    await eventually(async () => expect(await leaseHolder()).toContain(`-${a.pid}-`), 20_000);
    await core.createNamespacedPod({ namespace: 'default', body: pod('le3') });
    await eventually(async () => {
      const p = await core.readNamespacedPod({ namespace: 'default', name: 'le3' });
      expect(p.metadata?.annotations?.[Ann.routed]).toBe('true');
    }, 30_000);
    await kill(a, 'SIGTERM');
    expectConsistent(await snapshot());
  }, 120_000);
});
