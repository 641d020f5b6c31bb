// Every Kubernetes API call the controller and the node daemon make, as RBAC sees it (verb, API group,
// resource[/subresource], and the namespace or object name when a call is always bound to one). The RBAC in
// deploy/rbac is written from this list, and three tests keep the three in step:
// - test/unit/deploy/rbac.test.ts: the RBAC grants every call here (except those marked `denied`) and
//   nothing else; each `via` still occurs in the component's source, and every client-node API method and
//   watched path in that source is named by some entry;
// - test/integration/deploy/api-calls.test.ts: the real controller and daemon processes, each with its own
//   identity, are driven through every path that calls the API; the embedded API server's audit log of what
//   they did must equal this list exactly.
export type Component = 'controller' | 'daemon';

export interface ApiCall {
  component: Component;
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';
  apiGroup: string;
  /** Plural, with "/subresource" when the call is on one (nodes/status). */
  resource: string;
  /** Set when the call is only ever made in this namespace (the Lease). */
  namespace?: string;
  /** Set when the call only ever names this object. */
  resourceName?: string;
  /**
   * What in the component's source makes the call: client-node API methods, or the path a watch-backed
   * cache is built with (exactly as written there).
   */
  via: string[];
  /** Made, but deliberately not granted: why the component does not need it to succeed. */
  denied?: string;
}

const LEASE_NAMESPACE = 'kube-system';
const LEASE_NAME = 'ovnk-controller';

const controller = (c: Omit<ApiCall, 'component'>): ApiCall => ({ component: 'controller', ...c });
const daemon = (c: Omit<ApiCall, 'component'>): ApiCall => ({ component: 'daemon', ...c });
/** list + watch of a resource that a ResourceCache (list, then watch) keeps. */
const cached = (
  make: (c: Omit<ApiCall, 'component'>) => ApiCall,
  apiGroup: string,
  resource: string,
  listVia: string,
  path: string,
): ApiCall[] => [
  make({ verb: 'list', apiGroup, resource, via: [listVia] }),
  make({ verb: 'watch', apiGroup, resource, via: [path] }),
];

const kubeovn = 'kubeovn.io';
const kubevirt = 'kubevirt.io';
const coordination = 'coordination.k8s.io';

export const API_CALLS: readonly ApiCall[] = [
  // leader election (src/controller/main.ts, src/controller/leader.ts)
  controller({
    verb: 'create',
    apiGroup: '',
    resource: 'namespaces',
    via: ['createNamespace'],
    denied: 'best effort: it makes sure the Lease namespace exists, and kube-system always does',
  }),
  controller({
    verb: 'get',
    apiGroup: coordination,
    resource: 'leases',
    namespace: LEASE_NAMESPACE,
    resourceName: LEASE_NAME,
    via: ['readNamespacedLease'],
  }),
  controller({
    verb: 'create',
    apiGroup: coordination,
    resource: 'leases',
    namespace: LEASE_NAMESPACE,
    via: ['createNamespacedLease'],
  }),
  controller({
    verb: 'update',
    apiGroup: coordination,
    resource: 'leases',
    namespace: LEASE_NAMESPACE,
    resourceName: LEASE_NAME,
    via: ['replaceNamespacedLease'],
  }),
  // informer caches (src/controller/controller.ts) and writes (src/controller/kube.ts)
  ...cached(controller, '', 'pods', 'listPodForAllNamespaces', "'/api/v1/pods'"),
  controller({ verb: 'patch', apiGroup: '', resource: 'pods', via: ['patchNamespacedPod'] }),
  ...cached(controller, '', 'nodes', 'listNode', "'/api/v1/nodes'"),
  controller({ verb: 'patch', apiGroup: '', resource: 'nodes', via: ['patchNode'] }),
  ...cached(controller, '', 'namespaces', 'listNamespace', "'/api/v1/namespaces'"),
  controller({ verb: 'patch', apiGroup: '', resource: 'namespaces', via: ['patchNamespace'] }),
  controller({ verb: 'create', apiGroup: '', resource: 'events', via: ['createNamespacedEvent'] }),
  ...cached(controller, kubeovn, 'subnets', 'listClusterCustomObject', "crPath('subnets')"),
  controller({ verb: 'create', apiGroup: kubeovn, resource: 'subnets', via: ['createClusterCustomObject'] }),
  controller({ verb: 'patch', apiGroup: kubeovn, resource: 'subnets', via: ['patchClusterCustomObject'] }),
  controller({
    verb: 'patch',
    apiGroup: kubeovn,
    resource: 'subnets/status',
    via: ['patchClusterCustomObjectStatus'],
  }),
  ...cached(controller, kubeovn, 'ips', 'listClusterCustomObject', "crPath('ips')"),
  controller({ verb: 'get', apiGroup: kubeovn, resource: 'ips', via: ['getClusterCustomObject'] }),
  controller({ verb: 'create', apiGroup: kubeovn, resource: 'ips', via: ['createClusterCustomObject'] }),
  controller({ verb: 'patch', apiGroup: kubeovn, resource: 'ips', via: ['patchClusterCustomObject'] }),
  controller({ verb: 'delete', apiGroup: kubeovn, resource: 'ips', via: ['deleteClusterCustomObject'] }),
  ...cached(controller, kubeovn, 'ippools', 'listClusterCustomObject', "crPath('ippools')"),
  controller({
    verb: 'patch',
    apiGroup: kubeovn,
    resource: 'ippools/status',
    via: ['patchClusterCustomObjectStatus'],
  }),
  ...cached(controller, kubeovn, 'vpcs', 'listClusterCustomObject', "crPath('vpcs')"),
  controller({ verb: 'create', apiGroup: kubeovn, resource: 'vpcs', via: ['createClusterCustomObject'] }),
  controller({ verb: 'patch', apiGroup: kubeovn, resource: 'vpcs', via: ['patchClusterCustomObject'] }),
  controller({
    verb: 'patch',
    apiGroup: kubeovn,
    resource: 'vpcs/status',
    via: ['patchClusterCustomObjectStatus'],
  }),
  // underlay networks (src/controller/provider-networks.ts): their status from the nodes' reports
  ...cached(
    controller,
    kubeovn,
    'provider-networks',
    'listClusterCustomObject',
    "crPath('provider-networks')",
  ),
  controller({
    verb: 'patch',
    apiGroup: kubeovn,
    resource: 'provider-networks/status',
    via: ['patchClusterCustomObjectStatus'],
  }),
  ...cached(controller, kubeovn, 'vlans', 'listClusterCustomObject', "crPath('vlans')"),
  controller({
    verb: 'patch',
    apiGroup: kubeovn,
    resource: 'vlans/status',
    via: ['patchClusterCustomObjectStatus'],
  }),

  // Services as OVN load balancers (src/controller/services.ts), watched unless --enable-lb=false
  ...cached(controller, '', 'services', 'listServiceForAllNamespaces', "'/api/v1/services'"),
  ...cached(
    controller,
    'discovery.k8s.io',
    'endpointslices',
    'listEndpointSliceForAllNamespaces',
    "'/apis/discovery.k8s.io/v1/endpointslices'",
  ),

  // NetworkPolicies as ACLs (src/controller/network-policies.ts), watched unless --enable-np=false
  ...cached(
    controller,
    'networking.k8s.io',
    'networkpolicies',
    'listNetworkPolicyForAllNamespaces',
    "'/apis/networking.k8s.io/v1/networkpolicies'",
  ),

  // pods that keep their address: StatefulSet pods while their ordinal is wanted, KubeVirt VMs (vms.ts,
  // vm-migration.ts); the VM kinds are listed even where KubeVirt is not installed, to learn that (404)
  ...cached(
    controller,
    'apps',
    'statefulsets',
    'listStatefulSetForAllNamespaces',
    "'/apis/apps/v1/statefulsets'",
  ),
  ...cached(
    controller,
    kubevirt,
    'virtualmachines',
    'listClusterCustomObject',
    "kubevirtPath('virtualmachines')",
  ),
  ...cached(
    controller,
    kubevirt,
    'virtualmachineinstances',
    'listClusterCustomObject',
    "kubevirtPath('virtualmachineinstances')",
  ),
  ...cached(
    controller,
    kubevirt,
    'virtualmachineinstancemigrations',
    'listClusterCustomObject',
    "kubevirtPath('virtualmachineinstancemigrations')",
  ),

  // the node daemon (src/daemon/daemon.ts, src/daemon/pod-watch.ts): its node's pods, its Node, the Subnets
  ...cached(daemon, '', 'pods', 'listPodForAllNamespaces', "'/api/v1/pods'"),
  // whether a pod missing from the watch exists at all (src/daemon/pod-watch.ts existsOnNode)
  daemon({ verb: 'get', apiGroup: '', resource: 'pods', via: ['readNamespacedPod'] }),
  ...cached(daemon, '', 'nodes', 'listNode', "'/api/v1/nodes'"),
  daemon({ verb: 'patch', apiGroup: '', resource: 'nodes/status', via: ['patchNodeStatus'] }),
  ...cached(
    daemon,
    kubeovn,
    'subnets',
    'listClusterCustomObject',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the daemon's source text, matched as written
    '`/apis/${KUBEOVN_GROUP}/${KUBEOVN_VERSION}/subnets`',
  ),
  // underlay networks on the node (src/daemon/provider-network.ts): which apply, their VLANs, and the
  // node's labels and annotation that report how setting them up went
  ...cached(
    daemon,
    kubeovn,
    'provider-networks',
    'listClusterCustomObject',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the daemon's source text, matched as written
    '`/apis/${KUBEOVN_GROUP}/${KUBEOVN_VERSION}/provider-networks`',
  ),
  ...cached(
    daemon,
    kubeovn,
    'vlans',
    'listClusterCustomObject',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the daemon's source text, matched as written
    '`/apis/${KUBEOVN_GROUP}/${KUBEOVN_VERSION}/vlans`',
  ),
  daemon({ verb: 'patch', apiGroup: '', resource: 'nodes', via: ['patchNode'] }),
];
