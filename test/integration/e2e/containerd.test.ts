// The project's CNI plugin under a real runtime: containerd 1.6 with its CRI plugin drives the sandbox
// lifecycle as kubelet would (ADD on RunPodSandbox, DEL with the netns on StopPodSandbox, DEL with an empty
// netns on RemovePodSandbox), against the real daemon, OVS and OVN of a one-node lab.
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cluster, conflist } from '../../../src/lab/cluster.ts';
import { type Containerd, startContainerd } from '../../../src/lab/containerd.ts';
import { listNetns } from '../../../src/lab/netns.ts';
import { eventually } from '../helpers.ts';

let cluster: Cluster;
let containerd: Containerd | undefined;
let core: CoreV1Api;

beforeAll(async () => {
  cluster = await Cluster.start({ nodes: 1, kubelets: false });
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.manifest.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  const node = cluster.manifest.nodes[0]!;
  await core.createNode({ body: { metadata: { name: node.name } } });
  // the runtime's CNI directories: our plugin plus the stock loopback (containerd brings lo up with it)
  // and portmap (chained after ours, as a real install does)
  const dir = join(cluster.dir, 'containerd');
  const bin = join(dir, 'cni-bin');
  const conf = join(dir, 'net.d');
  mkdirSync(bin, { recursive: true });
  mkdirSync(conf, { recursive: true });
  copyFileSync(join(cluster.dir, 'cni', 'bin', 'ovnk'), join(bin, 'ovnk'));
  for (const p of ['loopback', 'portmap']) symlinkSync(`/usr/lib/cni/${p}`, join(bin, p));
  writeFileSync(join(conf, '10-ovnk.conflist'), JSON.stringify(conflist(node.socket)));
  containerd = await startContainerd({ dir: join(dir, 'state'), cniBinDir: bin, cniConfDir: conf });
}, 120_000);
afterAll(async () => {
  await containerd?.stop();
  await cluster?.stop();
}, 60_000);

describe('the plugin under containerd 1.6 (CRI)', () => {
  test('RunPodSandbox gives the pod its address through our plugin; Stop and Remove clean up', async () => {
    const node = cluster.manifest.nodes[0]!;
    const chassis = cluster.lab.chassis[0]!;
    const created = await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'ctr-pod' },
        spec: { nodeName: node.name, containers: [{ name: 'c', image: 'pause' }] },
      },
    });
    const cri = containerd!.cri;
    const id = await cri.runPodSandbox({
      metadata: { name: 'ctr-pod', namespace: 'default', uid: created.metadata!.uid!, attempt: 0 },
      hostname: 'ctr-pod',
    });
    const status = await cri.podSandboxStatus(id);
    const pod = await core.readNamespacedPod({ name: 'ctr-pod', namespace: 'default' });
    expect(status.network?.ip).toBe(pod.metadata?.annotations?.['ovn.kubernetes.io/ip_address']);
    const netns = status.netnsPath!;
    // the node reaches the pod through ovn0, across OVN
    await eventually(async () => {
      const r = await execa(
        'ip',
        ['netns', 'exec', node.netns, 'ping', '-c', '1', '-W', '1', status.network!.ip],
        {
          reject: false,
        },
      );
      expect(r.exitCode).toBe(0);
    }, 20_000);
    const ports = async () =>
      (await chassis.vsctl('list-ports', 'br-int')).split('\n').filter((p) => p.endsWith('_h'));
    expect(await ports()).toHaveLength(1);

    await cri.stopPodSandbox(id); // DEL with the netns
    expect(await ports()).toEqual([]);
    await cri.removePodSandbox(id); // DEL with an empty netns: must succeed with nothing left to do
    await eventually(() => expect(listNetns()).not.toContain(netns.slice(netns.lastIndexOf('/') + 1)));
    expect(await cri.listPodSandbox()).toEqual([]);
  });
});
