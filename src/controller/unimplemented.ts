// The spec fields of Subnet, Vpc and IPPool that the CRDs accept (so that Kube-OVN manifests apply
// unchanged) but this controller does not act on. A user who sets one must be told, not left believing
// that, say, an ACL is enforced: the reconcilers turn the list into a condition and an Event
// (unsupported-fields.ts). Pure: a spec in, the paths of the ignored fields that are set out.
//
// A field counts only when its value asks for something. Kube-OVN writes its off defaults out (its Go
// structs serialise `ecmpMode: ""`, `bfdPort: {enabled: false}`...), so `false`, `""`, `0`, `[]`, `{}` and
// `null` are never reported. One table per kind: implementing a feature removes its rows here.
//
// Not listed on purpose, because what it asks for already holds here:
// - Subnet disableInterConnection: there is no OVN interconnection to opt out of.

type Spec = Readonly<Record<string, unknown>>;

interface Unimplemented {
  /** The field's name in the spec, or in an item of a list of the spec. */
  field: string;
  /** When the field asks for something; by default, whenever its value is not an off default. */
  isSet?: (value: unknown, spec: Spec) => boolean;
}

/** Whether a value asks for something: not absent, false, "", 0, an empty list or an object of those. */
export function isSetValue(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === '' || v === 0) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.values(v).some(isSetValue);
  return true;
}

// Kube-OVN's default VPC (vpcs.ts's DEFAULT_VPC; not imported, to keep this module free of reconcilers).
const DEFAULT_VPC = 'ovn-cluster';

export const UNIMPLEMENTED_SUBNET_FIELDS: readonly Unimplemented[] = [
  // Kube-OVN resets `default` outside the configured default subnet of the default VPC, but in a custom
  // VPC it makes the subnet the VPC's default one; here only the Vpc's spec.defaultSubnet does that.
  {
    field: 'default',
    isSet: (v, spec) => v === true && typeof spec.vpc === 'string' && ![DEFAULT_VPC, ''].includes(spec.vpc),
  },
  { field: 'namespaceSelectors' }, // only spec.namespaces binds namespaces
  { field: 'gatewayNodeSelectors' }, // a centralized gateway is chosen from spec.gatewayNode only
  { field: 'enableEcmp' }, // a centralized subnet leaves through one gateway node, never several
  // Kube-OVN's external egress gateway, and the policy routing that sends a subnet to it
  { field: 'externalEgressGateway' },
  { field: 'policyRoutingPriority' },
  { field: 'policyRoutingTableID' },
  { field: 'acls' }, // only private/allowSubnets write ACLs on the subnet's switch
  { field: 'allowEWTraffic' }, // in Kube-OVN, allow ACLs for the subnet's own traffic ahead of its acls
  { field: 'natOutgoingPolicyRules' }, // the node masquerades the whole subnet or nothing
  { field: 'nodeNetwork' }, // Kube-OVN's node-network selection for underlay: one network per subnet here
  // OVN features the subnet's switch and router port are never given
  { field: 'vips' },
  { field: 'enableDHCP' },
  { field: 'dhcpV4Options' },
  { field: 'dhcpV6Options' },
  { field: 'enableIPv6RA' },
  { field: 'ipv6RAConfigs' },
  { field: 'enableMulticastSnoop' },
  { field: 'enableExternalLBAddress' },
  { field: 'routeTable' }, // the subnet's routes go to the main route table
];

export const UNIMPLEMENTED_VPC_FIELDS: readonly Unimplemented[] = [
  // no external (underlay) network: a custom VPC reaches outside only through routes the user writes
  { field: 'enableExternal' },
  { field: 'extraExternalSubnets' },
  { field: 'enableBfd' },
  { field: 'bfdPort' },
];

/** Fields of each spec.staticRoutes[] item; policy, cidr and nextHopIP are implemented. */
export const UNIMPLEMENTED_VPC_STATIC_ROUTE_FIELDS: readonly Unimplemented[] = [
  { field: 'ecmpMode' },
  { field: 'bfdId' },
  { field: 'routeTable' }, // routes go to the main route table
];

export const UNIMPLEMENTED_IPPOOL_FIELDS: readonly Unimplemented[] = [
  { field: 'enableAddressSet' }, // no address set of the pool's addresses is made
];

export const UNIMPLEMENTED_PROVIDER_NETWORK_FIELDS: readonly Unimplemented[] = [
  { field: 'exchangeLinkName' }, // the NIC keeps its name; the bridge is always br-<name>
  { field: 'autoCreateVlanSubinterfaces' },
  { field: 'preserveVlanInterfaces' },
  { field: 'vlanInterfaces' },
];

function asSpec(v: unknown): Spec {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Spec) : {};
}

function setFields(spec: Spec, table: readonly Unimplemented[], prefix: string): string[] {
  return table.filter((u) => (u.isSet ?? isSetValue)(spec[u.field], spec)).map((u) => `${prefix}.${u.field}`);
}

/** The unimplemented fields a Subnet's spec sets, as the user writes them ("spec.acls"). */
export function unimplementedSubnetFields(spec: unknown): string[] {
  return setFields(asSpec(spec), UNIMPLEMENTED_SUBNET_FIELDS, 'spec');
}

/** The unimplemented fields a Vpc's spec sets, e.g. "spec.enableBfd", "spec.staticRoutes[0].bfdId". */
export function unimplementedVpcFields(spec: unknown): string[] {
  const s = asSpec(spec);
  const routes = Array.isArray(s.staticRoutes) ? s.staticRoutes : [];
  return [
    ...setFields(s, UNIMPLEMENTED_VPC_FIELDS, 'spec'),
    ...routes.flatMap((r, i) =>
      setFields(asSpec(r), UNIMPLEMENTED_VPC_STATIC_ROUTE_FIELDS, `spec.staticRoutes[${i}]`),
    ),
  ];
}

/** The unimplemented fields an IPPool's spec sets ("spec.enableAddressSet"). */
export function unimplementedIpPoolFields(spec: unknown): string[] {
  return setFields(asSpec(spec), UNIMPLEMENTED_IPPOOL_FIELDS, 'spec');
}

/** The unimplemented fields a ProviderNetwork's spec sets ("spec.exchangeLinkName"). */
export function unimplementedProviderNetworkFields(spec: unknown): string[] {
  return setFields(asSpec(spec), UNIMPLEMENTED_PROVIDER_NETWORK_FIELDS, 'spec');
}
