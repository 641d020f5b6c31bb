// Collects a ClusterSnapshot from a running lab cluster: pods and IP records from the API, logical switch
// ports from northbound (through the project's client, leader only), and from every node its br-int
// interfaces, host veths and pod namespaces.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { parseAddresses } from '../controller/consistency.ts';
import { OWNER_KEY } from '../controller/nb/ownership.ts';
import { looksLikeHostVethName } from '../daemon/host-veth-name.ts';
import type { Cluster } from '../lab/cluster.ts';
import { listLinks, listNetns } from '../lab/netns.ts';
import { isPodNetnsName, podNetnsName } from '../lab/pod-sandboxes.ts';
import type { Tables as NbTables } from '../ovsdb/generated/ovn-nb.ts';
import { OvsdbClient } from '../ovsdb/index.ts';
import type { ClusterSnapshot, IpRecordState, NodeState, PodState, PortState } from './invariants.ts';

interface IpCrItem {
  metadata: { name: string };
  spec: { subnet: string; ipAddress: string; podName: string; namespace: string };
}

export async function snapshotCluster(cluster: Cluster, kc: KubeConfig): Promise<ClusterSnapshot> {
  const prefixOf = new Map(cluster.manifest.nodes.map((n) => [n.name, n.podNetnsPrefix]));
  const [pods, ips, ports, nodes] = await Promise.all([
    listPods(kc),
    listIpRecords(kc),
    listPorts(cluster.manifest.nbRemote),
    Promise.all(cluster.manifest.nodes.map((n) => nodeState(cluster, n.name))),
  ]);
  return {
    pods,
    ips,
    ports,
    nodes,
    expectedNetns: (node, p) => podNetnsName(prefixOf.get(node) ?? '', p.namespace, p.name),
  };
}

async function listPods(kc: KubeConfig): Promise<PodState[]> {
  const list = await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces();
  return list.items.map(podState);
}

export function podState(p: V1Pod): PodState {
  const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  return {
    namespace: p.metadata?.namespace ?? '',
    name: p.metadata?.name ?? '',
    node: p.spec?.nodeName,
    hostNetwork: p.spec?.hostNetwork === true,
    terminating: !!p.metadata?.deletionTimestamp,
    ready: ready && p.status?.phase === 'Running' && !!p.status.podIP,
    annotations: p.metadata?.annotations ?? {},
  };
}

async function listIpRecords(kc: KubeConfig): Promise<IpRecordState[]> {
  const list = (await kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({
    group: 'kubeovn.io',
    version: 'v1',
    plural: 'ips',
  })) as { items: IpCrItem[] };
  return list.items.map((i) => ({
    name: i.metadata.name,
    subnet: i.spec.subnet,
    ipAddress: i.spec.ipAddress,
    podName: i.spec.podName,
    namespace: i.spec.namespace,
  }));
}

async function listPorts(nbRemote: string): Promise<PortState[]> {
  const client = await OvsdbClient.connect<NbTables>({
    remotes: nbRemote,
    database: 'OVN_Northbound',
    connectTimeoutMs: 20_000,
  });
  try {
    const [switches, lsps] = await Promise.all([
      client.select('Logical_Switch'),
      client.select('Logical_Switch_Port'),
    ]);
    const switchOf = new Map<string, string>();
    for (const ls of switches) for (const p of ls.ports) switchOf.set(p, ls.name);
    return lsps.map((p) => ({
      name: p.name,
      switch: switchOf.get(p._uuid) ?? '',
      owner: p.external_ids[OWNER_KEY],
      ips: parseAddresses(p.addresses).ips,
    }));
  } finally {
    client.close();
  }
}

async function nodeState(cluster: Cluster, name: string): Promise<NodeState> {
  const node = cluster.manifest.nodes.find((n) => n.name === name)!;
  const chassis = cluster.lab.node(name);
  const table = JSON.parse(
    await chassis.vsctl('--format=json', '--columns=name,external_ids', 'list', 'Interface'),
  ) as { data: [string, ['map', [string, string][]]][] };
  const boundInterfaces = table.data.flatMap(([ifName, [, ids]]) => {
    const ifaceId = ids.find(([k]) => k === 'iface-id')?.[1];
    return ifaceId ? [{ name: ifName, ifaceId }] : [];
  });
  const links = await listLinks(node.netns);
  return {
    name,
    boundInterfaces,
    hostVeths: links.filter(looksLikeHostVethName),
    podNetns: listNetns().filter((ns) => isPodNetnsName(node.podNetnsPrefix, ns)),
  };
}
