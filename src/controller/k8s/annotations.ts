// Kube-OVN's annotation keys (ovn.kubernetes.io/<key>), kept identical so users' manifests work unchanged.
const P = 'ovn.kubernetes.io/';

export const Ann = {
  allocated: `${P}allocated`,
  routed: `${P}routed`,
  ipAddress: `${P}ip_address`,
  macAddress: `${P}mac_address`,
  cidr: `${P}cidr`,
  gateway: `${P}gateway`,
  logicalSwitch: `${P}logical_switch`,
  logicalRouter: `${P}logical_router`,
  ipPool: `${P}ip_pool`,
  portSecurity: `${P}port_security`,
  excludeIps: `${P}exclude_ips`,
  portName: `${P}port_name`,
  virtualMachine: `${P}virtualmachine`,
  /** Underlay pods: their Vlan's id ("0": untagged) and ProviderNetwork. */
  vlanId: `${P}vlan_id`,
  providerNetwork: `${P}provider_network`,
} as const;
