// The lab runtime's stand-in for Multus: a pod's k8s.v1.cni.cncf.io/networks names
// NetworkAttachmentDefinitions (k8s.cni.cncf.io/v1), whose spec.config is a CNI configuration; each becomes an
// extra interface (net1, net2... unless named), added after the pod's first interface and deleted before it,
// as Multus delegates them. Every simulated node has its own daemon socket where a real node has one fixed
// path, so an "ovnk" plugin's server_socket is pointed at this node's, as each node's own /run would.
import type { CustomObjectsApi, V1Pod } from '@kubernetes/client-node';
import { NETWORKS_ANNOTATION, parseNetworks } from '../controller/attachments.ts';
import type { CniConfList, CniPluginConf } from './cni-runtime.ts';

export interface Attachment {
  ifName: string;
  conf: CniConfList;
}

/** The node's daemon socket, from the ovnk plugin of its primary network configuration. */
export function nodeSocket(primary: CniConfList): string | undefined {
  const p = primary.plugins.find((x) => x.type === 'ovnk');
  return typeof p?.server_socket === 'string' ? p.server_socket : undefined;
}

export async function attachmentsOf(
  custom: CustomObjectsApi,
  pod: V1Pod,
  primary: CniConfList,
): Promise<Attachment[]> {
  const wanted = parseNetworks(pod.metadata?.annotations?.[NETWORKS_ANNOTATION], pod.metadata!.namespace!);
  const socket = nodeSocket(primary);
  const out: Attachment[] = [];
  for (const [i, a] of wanted.entries()) {
    const nad = (await custom.getNamespacedCustomObject({
      group: 'k8s.cni.cncf.io',
      version: 'v1',
      plural: 'network-attachment-definitions',
      namespace: a.namespace,
      name: a.name,
    })) as { spec?: { config?: string } };
    const raw = JSON.parse(nad.spec?.config ?? '{}') as Record<string, unknown>;
    const plugins = (Array.isArray(raw.plugins) ? raw.plugins : [raw]) as CniPluginConf[];
    const conf: CniConfList = {
      cniVersion: String(raw.cniVersion ?? '1.0.0'),
      name: String(raw.name ?? a.name),
      plugins: plugins.map((p) => (p.type === 'ovnk' && socket ? { ...p, server_socket: socket } : p)),
    };
    out.push({ ifName: a.ifName ?? `net${i + 1}`, conf });
  }
  return out;
}
