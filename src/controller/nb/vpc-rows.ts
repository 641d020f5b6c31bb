// What northbound holds for a VPC beyond its router: the user's static routes and policies, the router
// ports of its peerings, and the routes that peering makes on its own. Pure: plans in, desired rows out.
import type { DesiredRow } from './plan.ts';
import { stableMac } from './topology.ts';

const routerRef = (router: string) => ({ table: 'Logical_Router' as const, id: `lr/${router}` });

export interface RouteSpec {
  /** "dst-ip" routes by destination, "src-ip" by source. */
  policy: 'dst-ip' | 'src-ip';
  prefix: string;
  nexthop: string;
  /** Why the route exists: "user" (staticRoutes) or "peering/<remote>". */
  origin: string;
}

export function routeRows(router: string, routes: readonly RouteSpec[]): DesiredRow[] {
  return routes.map((r) => ({
    table: 'Logical_Router_Static_Route',
    id: `route/${router}/${r.policy}/${r.prefix}/${r.nexthop}`,
    columns: {
      ip_prefix: r.prefix,
      nexthop: r.nexthop,
      policy: r.policy,
      external_ids: { origin: r.origin },
    },
    parent: { ...routerRef(router), column: 'static_routes' },
  }));
}

export interface PolicySpec {
  priority: number;
  match: string;
  action: 'allow' | 'drop' | 'reroute';
  nexthops: string[];
}

export function policyRows(router: string, policies: readonly PolicySpec[]): DesiredRow[] {
  return policies.map((p) => ({
    table: 'Logical_Router_Policy',
    id: `lrpolicy/${router}/user/${p.priority}/${p.match}`,
    columns: {
      priority: p.priority,
      match: p.match,
      action: p.action,
      nexthops: p.nexthops,
      external_ids: {},
    },
    parent: { ...routerRef(router), column: 'policies' },
  }));
}

/** Kube-OVN's peering port: LRP <vpc>-<remote> on the VPC's router, peer=<remote>-<vpc>. */
export function peeringPortRows(
  router: string,
  vpc: string,
  remote: string,
  localConnectIP: string,
): DesiredRow[] {
  const name = `${vpc}-${remote}`;
  return [
    {
      table: 'Logical_Router_Port',
      id: `lrp/${name}`,
      columns: {
        name,
        networks: [localConnectIP],
        mac: stableMac(name),
        peer: `${remote}-${vpc}`,
        external_ids: { lr: router, vpc_peering: remote },
      },
      parent: { ...routerRef(router), column: 'ports' },
    },
  ];
}
