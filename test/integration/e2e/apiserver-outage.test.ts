// The API server away for a while under a churn of pods, on the whole two-node stack with two controller
// replicas: nothing exits meanwhile (kubelets, scheduler, EndpointSlice controller, both controllers,
// both daemons), running pods keep talking, and once it is back a new pod gets ready and reachable, every
// pod made before or during the outage ends up ready, and deleting them all leaves nothing behind.
// OVNK_APISERVER_OUTAGE_MS sets the outage (default 20 s: beyond every watch's backoff cap and the
// controllers' renew deadline, so the leader steps down and a new term starts in-process).
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { judge } from '../../../src/chaos/invariants.ts';
import { snapshotCluster } from '../../../src/chaos/snapshot.ts';
import { type ReadyPod, Workload } from '../../../src/chaos/workload.ts';
import { Cluster } from '../../../src/lab/cluster.ts';
import { eventually } from '../helpers.ts';

const OUTAGE_MS = Number(process.env.OVNK_APISERVER_OUTAGE_MS ?? 20_000);

let cluster: Cluster;
let kc: KubeConfig;

beforeAll(async () => {
  cluster = await Cluster.start({
    nodes: 2,
    controllers: 2,
    lease: { durationSeconds: 4, renewDeadlineMs: 3_000, retryPeriodMs: 500 },
  });
  kc = new KubeConfig();
  kc.loadFromFile(cluster.manifest.kubeconfig);
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
}, 60_000);

/** The cluster's processes that are not running (every one of them should be, but the API server). */
const down = (except: string[] = []) =>
  cluster.serviceNames().filter((s) => !except.includes(s) && !cluster.servicePid(s));

test(`the API server away for ${OUTAGE_MS / 1000} s under churn: nothing exits, new pods work once it is back, nothing leaks`, async () => {
  const work = new Workload(cluster, kc);
  await work.createNamespace();
  await work.createPod('anchor-1', 'node1');
  await work.createPod('anchor-2', 'node2');
  const anchors = (await Promise.all([
    work.waitReady('anchor-1', 30_000),
    work.waitReady('anchor-2', 30_000),
  ])) as ReadyPod[];
  expect(anchors.every(Boolean)).toBe(true);
  const [a1, a2] = anchors as [ReadyPod, ReadyPod];

  work.startChurn(400, 3_000);
  await sleep(3_000);
  await cluster.stopService('apiserver', 'SIGTERM');
  const awayAt = Date.now();
  // running pods do not need the API server
  while (Date.now() - awayAt < OUTAGE_MS) {
    expect(await work.reaches(a1.netns, a2.ip)).toBe(true);
    expect(down(['apiserver'])).toEqual([]);
    await sleep(2_000);
  }
  await cluster.startAgain('apiserver');
  const backAt = Date.now();
  const readyAt = await work.probe('after-outage', 'node2', a1, 60_000);
  expect(readyAt).toBeDefined();
  console.log(
    `a pod created when the API server came back was ready and reachable in ${readyAt! - backAt} ms`,
  );
  expect(down()).toEqual([]);

  // a replica leads again: the Lease names one of the running controllers
  const lease = await kc
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: 'ovnk-controller', namespace: 'kube-system' });
  const holderPid = Number(lease.spec?.holderIdentity?.split('-').at(-2));
  expect(['controller', 'controller-2'].map((c) => cluster.servicePid(c))).toContain(holderPid);

  // the churn goes on after the outage; every pod it made, before, during or after, gets ready
  await sleep(3_000);
  work.stopChurn();
  expect(work.churn.created).toBeGreaterThan(10);
  await eventually(async () => expect(judge(await snapshotCluster(cluster, kc)).stuck).toEqual([]), 60_000);

  for (const role of ['churn', 'probe'])
    for (const name of await work.podsWithRole(role)) await work.deletePod(name);
  await eventually(async () => {
    const s = await snapshotCluster(cluster, kc);
    expect(
      s.pods
        .filter((p) => p.namespace === 'chaos')
        .map((p) => p.name)
        .sort(),
    ).toEqual(['anchor-1', 'anchor-2']);
    const f = judge(s);
    expect(f.duplicates).toEqual([]);
    expect(f.leaks).toEqual([]);
  }, 60_000);
  expect(down()).toEqual([]);
}, 300_000);
