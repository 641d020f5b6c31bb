// Pods for the end-to-end tests on a lab Cluster: create one on a node and wait until it runs, find its
// network namespace, and run a small server in it that says "ready" once it listens.
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { execa, type ResultPromise } from 'execa';
import { expect } from 'vitest';
import type { Cluster } from '../../../src/lab/cluster.ts';
import { podNetnsName } from '../../../src/lab/pod-sandboxes.ts';
import { eventually } from '../helpers.ts';

/** Waits until the pod is Running and returns it as the API has it then. */
export async function waitRunning(core: CoreV1Api, name: string, namespace = 'default'): Promise<V1Pod> {
  let p: V1Pod | undefined;
  await eventually(async () => {
    p = await core.readNamespacedPod({ name, namespace });
    expect(p.status?.phase).toBe('Running');
  }, 30_000);
  return p!;
}

/** Creates a pause pod on a node (labels, annotations optional) and waits until it runs. */
export async function runningPod(
  core: CoreV1Api,
  pod: { name: string; node: string; labels?: Record<string, string>; annotations?: Record<string, string> },
): Promise<V1Pod> {
  await core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name: pod.name, namespace: 'default', labels: pod.labels, annotations: pod.annotations },
      spec: { nodeName: pod.node, containers: [{ name: 'c', image: 'pause' }] },
    },
  });
  return waitRunning(core, pod.name);
}

/** The network namespace the lab made for a pod. */
export function podNetns(cluster: Cluster, p: V1Pod): string {
  const node = cluster.manifest.nodes.find((n) => n.name === p.spec!.nodeName)!;
  return podNetnsName(node.podNetnsPrefix, p.metadata!.namespace!, p.metadata!.name!);
}

/**
 * Runs a node script (`node -e script ...args`) in a network namespace until the test kills it, and waits
 * for it to print "ready". The process is added to `running`, for afterAll to end.
 */
export async function startServer(
  netns: string,
  script: string,
  args: string[],
  running: ResultPromise[],
): Promise<void> {
  const child = execa('ip', ['netns', 'exec', netns, process.execPath, '-e', script, ...args], {
    reject: false,
  });
  running.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    void child.then((r) => reject(new Error(`server in ${netns} exited: ${r.stderr}`)));
  });
}
