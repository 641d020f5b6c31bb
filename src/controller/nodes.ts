// Node reconcile: each node gets an address on the join subnet, the port node-<node> on the join switch
// (the host's ovn0 binds to it), an IP CR node-<node> and Kube-OVN's node annotations. A node that is gone
// releases all of it.
import type { V1Node } from '@kubernetes/client-node';
import { IpamError } from '../ipam/index.ts';
import { addressAnnotations, addressesOf, annotationChanges, ipRecord } from './allocation.ts';
import type { Deps } from './deps.ts';
import { Ann } from './k8s/annotations.ts';
import { nodeRows, owners } from './nb/topology.ts';
import type { Outcome } from './subnets.ts';

export const nodeOwnerKey = (node: string) => `node-${node}`;

export async function reconcileNode(d: Deps, name: string): Promise<Outcome> {
  const node = d.nodes.get(name);
  const join = d.config.joinSubnet.name;
  const owner = nodeOwnerKey(name);
  if (!node || node.metadata?.deletionTimestamp) {
    await d.nb.apply([{ owner: owners.node(name), desired: [] }]);
    await d.kube.deleteIp(owner);
    if (d.valid.has(join)) d.ipam.release(join, owner);
    return undefined;
  }
  const f = d.valid.get(join);
  if (!f) return { requeueAfterMs: 1_000 };
  const ann = node.metadata?.annotations ?? {};
  let alloc: ReturnType<Deps['ipam']['allocate']>;
  try {
    alloc = d.ipam.allocate({ subnet: join, owner });
  } catch (e) {
    if (!(e instanceof IpamError)) throw e;
    await d.kube.event(nodeRef(node), 'Warning', 'AcquireAddressFailed', `${e.code}: ${e.message}`);
    return { requeueAfterMs: 30_000 };
  }
  const ips = addressesOf(alloc);
  await d.kube.upsertIp(
    ipRecord(owner, alloc, { podName: name, namespace: '', nodeName: name }),
    d.ips.get(owner),
  );
  const r = await d.nb.apply([
    {
      owner: owners.node(name),
      desired: nodeRows({
        node: name,
        joinSubnet: join,
        mac: alloc.mac,
        ips,
        router: d.config.clusterRouter,
        nodeIps: (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address),
      }),
    },
  ]);
  if (r.failed.length > 0) throw r.failed[0]!.error;
  const changes = annotationChanges(ann, { ...addressAnnotations(alloc, f), [Ann.portName]: `node-${name}` });
  if (changes) await d.kube.patchNodeAnnotations(name, changes);
  return undefined;
}

function nodeRef(node: V1Node): V1Node {
  return { ...node, apiVersion: 'v1', kind: 'Node' };
}
