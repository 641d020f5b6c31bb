// Formatting and validating a Subnet the way Kube-OVN does (formatSubnet): CIDR normalised, gateway
// defaulted and excluded, protocol derived, vpc defaulted, and refused when it overlaps another subnet of
// the same VPC. Pure: the Subnet CR and its peers in, a verdict out.
import { formatIp, IpamError, parseSubnetSpec, type SubnetLayout } from '../ipam/index.ts';
import type { Subnet } from './k8s/types.ts';

export interface FormattedSubnet {
  name: string;
  vpc: string;
  layout: SubnetLayout;
  /** "10.16.0.0/16" or "10.16.0.0/16,fd00::/64", normalised. */
  cidrBlock: string;
  gateway: string;
  /** Gateway addresses with the prefix length, for the router port. */
  gatewayCidrs: string[];
  excludeIps: string[];
  protocol: string;
  /** Set for an underlay subnet (spec.vlan) once its Vlan and ProviderNetwork check out. */
  underlay?: UnderlayInfo;
}

export interface UnderlayInfo {
  vlan: string;
  vlanId: number;
  /** The ProviderNetwork: OVN's network_name. */
  provider: string;
  /** Whether the switch hangs off the VPC router (logicalGateway or u2oInterconnection). */
  routed: boolean;
  /** u2oInterconnection's address on the switch, the pods' next hop (one per family). */
  u2oIps?: string[];
}

export class SubnetInvalid extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'SubnetInvalid';
  }
}

/** The formatted subnet, or SubnetInvalid with a reason for the status condition. */
export function formatSubnet(s: Subnet, defaultVpc: string): FormattedSubnet {
  const name = s.metadata?.name ?? '';
  const spec = s.spec ?? ({} as Subnet['spec']);
  if (typeof spec.cidrBlock !== 'string' || spec.cidrBlock === '') {
    throw new SubnetInvalid('InvalidCIDR', 'spec.cidrBlock is required');
  }
  let layout: SubnetLayout;
  try {
    layout = parseSubnetSpec({
      name,
      cidrBlock: spec.cidrBlock,
      gateway: spec.gateway || undefined,
      excludeIps: spec.excludeIps ?? [],
    });
  } catch (e) {
    if (e instanceof IpamError) throw new SubnetInvalid(reasonOf(e), e.message);
    throw e;
  }
  const families = [layout.v4, layout.v6].filter((f) => f !== undefined);
  return {
    name,
    vpc: spec.vpc || defaultVpc,
    layout,
    cidrBlock: layout.cidrBlock,
    gateway: layout.gateway,
    gatewayCidrs: families.flatMap((f) =>
      f.gateway === undefined ? [] : [`${formatIp(f.cidr.family, f.gateway)}/${f.cidr.prefix}`],
    ),
    excludeIps: [...layout.excludeIps],
    protocol: layout.protocol,
  };
}

/**
 * A subnet of the overlay needs a router port address in every family; a /32 or /128 has none to spare
 * (such a CIDR is still a valid spec: formatSubnet accepts it).
 */
export function requireGateway(f: FormattedSubnet): void {
  const families = [f.layout.v4, f.layout.v6].filter((x) => x !== undefined);
  if (f.gatewayCidrs.length < families.length)
    throw new SubnetInvalid('InvalidCIDR', `cidrBlock ${f.cidrBlock} leaves no address for a gateway`);
}

function reasonOf(e: IpamError): string {
  if (e.field.includes('gateway')) return 'InvalidGateway';
  if (e.field.includes('exclude')) return 'InvalidExcludeIps';
  return 'InvalidCIDR';
}

/** The first other subnet of the same VPC whose CIDR overlaps this one's, if any. */
export function overlapping(
  s: FormattedSubnet,
  others: readonly FormattedSubnet[],
): FormattedSubnet | undefined {
  const mine = [s.layout.v4, s.layout.v6].filter((f) => f !== undefined);
  return others.find(
    (o) =>
      o.name !== s.name &&
      o.vpc === s.vpc &&
      [o.layout.v4, o.layout.v6].some(
        (of) =>
          of !== undefined &&
          mine.some(
            (m) =>
              m.cidr.family === of.cidr.family &&
              m.cidr.network <= of.cidr.end &&
              of.cidr.network <= m.cidr.end,
          ),
      ),
  );
}
