// Secondary networks, Multus style: a pod lists NetworkAttachmentDefinitions in k8s.v1.cni.cncf.io/networks;
// each one served by this plugin is a Subnet whose provider is "<nad>.<ns>.ovn". The attachment gets its own
// address, IP CR and port, all named "<pod>.<ns>.<provider>", and annotations under
// "<provider>.kubernetes.io/", as Kube-OVN does. Pure parsing and naming here; pods.ts does the work.
export const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';

export interface AttachmentRequest {
  /** The NetworkAttachmentDefinition's namespace and name. */
  namespace: string;
  name: string;
  /** The interface name asked for ("net1" when none). */
  ifName?: string;
}

export class AttachmentSyntaxError extends Error {}

/**
 * The networks a pod asks for: "nad", "ns/nad", "ns/nad@eth1", comma-separated, or Multus's JSON list
 * [{"name", "namespace", "interface"}].
 */
export function parseNetworks(value: string | undefined, podNamespace: string): AttachmentRequest[] {
  const v = value?.trim();
  if (!v) return [];
  if (v.startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(v);
    } catch {
      throw new AttachmentSyntaxError(`${NETWORKS_ANNOTATION} is not valid JSON`);
    }
    if (!Array.isArray(list)) throw new AttachmentSyntaxError(`${NETWORKS_ANNOTATION} must be a list`);
    return list.map((e, i) => {
      const o = (e ?? {}) as Record<string, unknown>;
      if (typeof o.name !== 'string' || !o.name)
        throw new AttachmentSyntaxError(`${NETWORKS_ANNOTATION}[${i}] has no name`);
      return {
        namespace: typeof o.namespace === 'string' && o.namespace ? o.namespace : podNamespace,
        name: o.name,
        ifName: typeof o.interface === 'string' && o.interface ? o.interface : undefined,
      };
    });
  }
  return v.split(',').map((item) => {
    const [ref = '', ifName] = item.trim().split('@');
    const parts = ref.split('/');
    if (parts.length > 2 || parts.some((x) => !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(x)))
      throw new AttachmentSyntaxError(
        `${NETWORKS_ANNOTATION}: "${item.trim()}" is not [namespace/]name[@interface]`,
      );
    return parts.length === 2
      ? { namespace: parts[0]!, name: parts[1]!, ifName: ifName || undefined }
      : { namespace: podNamespace, name: parts[0]!, ifName: ifName || undefined };
  });
}

/** Kube-OVN's provider name of an attachment network served by OVN. */
export function providerOf(a: AttachmentRequest): string {
  return `${a.name}.${a.namespace}.ovn`;
}

/** The annotation keys of one attachment: "<provider>.kubernetes.io/<key>". */
export function attachmentKey(provider: string, key: string): string {
  return `${provider}.kubernetes.io/${key}`;
}

/** The IPAM owner, IP CR and port name of a pod's attachment. */
export function attachmentOwner(pod: string, namespace: string, provider: string): string {
  return `${pod}.${namespace}.${provider}`;
}
