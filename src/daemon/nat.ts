// The node's half of egress (the controller's half is src/controller/egress.ts): pods' outbound traffic
// arrives on ovn0, the node forwards it out of its underlay and masquerades it to its own address when the
// pod's subnet has natOutgoing, unless it goes to the cluster's own CIDRs (subnets, join, Services), which
// keep their source. The rules live in an nftables table of our own (`ip ovnk`) that nothing else touches:
// reconcile compares the table with what the Subnets want and replaces it whole, in one `nft -f`
// transaction, when they differ. IPv4 only (the lab and the default subnets are IPv4).
// A second rule serves kube-proxy (the controller's --enable-lb=false): a pod's connection to a Service
// reaches the node through the egress reroute, kube-proxy DNATs it to a backend, and the reply must come
// back through this node to be un-DNATed, so it is masqueraded to the node (as Kube-OVN marks it for
// kube-proxy's masquerade). With OVN's load balancers no pod traffic to a Service reaches the node.
import type { Logger } from '../controller/deps.ts';
import type { Subnet } from '../controller/k8s/types.ts';
import { DEFAULT_SERVICE_CIDRS } from './gateway.ts';
import { runInNetns } from './netns-exec.ts';

export const NAT_TABLE = 'ovnk';
const DEFAULT_VPC = 'ovn-cluster';

export interface NatState {
  /** Sources that are masqueraded: the natOutgoing subnets of the default VPC. */
  sources: string[];
  /** Destinations that never are: every default-VPC subnet (join included) and the Service CIDRs. */
  cluster: string[];
  /** The Service CIDRs: pods' connections DNATed here from them are masqueraded (kube-proxy). */
  services: string[];
}

function v4ToNumber(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    const b = Number(p);
    if (!/^\d{1,3}$/.test(p) || b > 255) return undefined;
    n = n * 256 + b;
  }
  return n;
}

const numberToV4 = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

/** "10.16.0.5/16" -> [network, prefix length]; undefined for IPv6 or anything malformed. */
function parseV4Cidr(cidr: string): [number, number] | undefined {
  const [ip, len = '32'] = cidr.trim().split('/');
  const n = v4ToNumber(ip ?? '');
  const bits = Number(len);
  if (n === undefined || !/^\d{1,2}$/.test(len) || bits > 32) return undefined;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return [(n & mask) >>> 0, bits];
}

/** By network address, then prefix length (the order normalizeV4Cidrs returns). */
function cidrOrder(a: string, b: string): number {
  const [pa, pb] = [parseV4Cidr(a), parseV4Cidr(b)];
  if (!pa || !pb) return a.localeCompare(b);
  return pa[0] - pb[0] || pa[1] - pb[1];
}

/**
 * IPv4 CIDRs as network/len, sorted, without duplicates and without prefixes inside another one: an nft
 * interval set refuses overlapping elements.
 */
export function normalizeV4Cidrs(cidrs: readonly string[]): string[] {
  const parsed = cidrs
    .flatMap((c) => {
      const p = parseV4Cidr(c);
      return p ? [p] : [];
    })
    .sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const kept: [number, number][] = [];
  for (const [net, len] of parsed) {
    const inside = kept.some(([kNet, kLen]) => {
      const mask = kLen === 0 ? 0 : (0xffffffff << (32 - kLen)) >>> 0;
      return (net & mask) >>> 0 === kNet;
    });
    if (!inside) kept.push([net, len]);
  }
  return kept.sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([n, l]) => `${numberToV4(n)}/${l}`);
}

const validated = (s: Subnet) =>
  !s.metadata?.deletionTimestamp &&
  (s.status?.conditions ?? []).some((c) => c.type === 'Validated' && c.status === 'True');

/** What the table should hold, from the Subnets (only validated ones of the default VPC count). */
export function desiredNat(
  subnets: readonly Subnet[],
  joinSubnet: string,
  serviceCidrs: readonly string[] = DEFAULT_SERVICE_CIDRS,
): NatState {
  const inCluster = subnets.filter((s) => validated(s) && (s.spec?.vpc || DEFAULT_VPC) === DEFAULT_VPC);
  const cidrsOf = (s: Subnet) => s.spec.cidrBlock.split(',');
  const natOutgoing = inCluster.filter(
    (s) => s.metadata?.name !== joinSubnet && (s.spec as { natOutgoing?: boolean }).natOutgoing === true,
  );
  return {
    sources: normalizeV4Cidrs(natOutgoing.flatMap(cidrsOf)),
    cluster: normalizeV4Cidrs([...inCluster.flatMap(cidrsOf), ...serviceCidrs]),
    services: normalizeV4Cidrs(serviceCidrs),
  };
}

/** The rules, as they are written and as `nft -j list` shows them (for comparing). */
const RULES = [
  {
    text: 'ip saddr @nat_sources ip daddr != @cluster masquerade',
    expr: [
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@nat_sources' } },
      { match: { op: '!=', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: '@cluster' } },
      { masquerade: null },
    ],
  },
  {
    text: 'iifname "ovn0" ip saddr @cluster ct original ip daddr @services masquerade',
    expr: [
      { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'ovn0' } },
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@cluster' } },
      { match: { op: '==', left: { ct: { key: 'ip daddr', dir: 'original' } }, right: '@services' } },
      { masquerade: null },
    ],
  },
];
const CHAIN = { name: 'postrouting', type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' };

/**
 * An `nft -f` script that replaces the whole table atomically: the first line makes sure there is one to
 * delete, so the same script serves the first install and every later change.
 */
export function natScript(s: NatState): string {
  const set = (name: string, elements: string[]) =>
    `  set ${name} { type ipv4_addr; flags interval;${elements.length ? ` elements = { ${elements.join(', ')} };` : ''} }`;
  return [
    `table ip ${NAT_TABLE}`,
    `delete table ip ${NAT_TABLE}`,
    `table ip ${NAT_TABLE} {`,
    set('cluster', s.cluster),
    set('nat_sources', s.sources),
    set('services', s.services),
    `  chain ${CHAIN.name} {`,
    `    type ${CHAIN.type} hook ${CHAIN.hook} priority srcnat; policy ${CHAIN.policy};`,
    ...RULES.map((r) => `    ${r.text}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

interface NftObject {
  set?: { name: string; elem?: (string | { prefix?: { addr: string; len: number } })[] };
  chain?: { name: string; type?: string; hook?: string; prio?: number; policy?: string };
  rule?: { chain: string; expr: unknown[] };
}

/** A canonical form of the table's content, to compare the live table with the desired one. */
function canonical(
  sets: Record<string, string[]>,
  chains: Record<string, unknown>[],
  rules: { chain: string; expr: unknown[] }[],
): string {
  const sortedSets = Object.fromEntries(Object.entries(sets).sort(([a], [b]) => a.localeCompare(b)));
  return JSON.stringify({ sets: sortedSets, chains, rules });
}

export function desiredSummary(s: NatState): string {
  return canonical(
    { cluster: s.cluster, nat_sources: s.sources, services: s.services },
    [CHAIN],
    RULES.map((r) => ({ chain: CHAIN.name, expr: r.expr })),
  );
}

/** The canonical form of `nft -j list table ip ovnk` output. */
export function liveSummary(json: string): string {
  const objects = (JSON.parse(json) as { nftables?: NftObject[] }).nftables ?? [];
  const sets: Record<string, string[]> = {};
  const chains: Record<string, unknown>[] = [];
  const rules: { chain: string; expr: unknown[] }[] = [];
  for (const o of objects) {
    if (o.set) {
      sets[o.set.name] = (o.set.elem ?? [])
        .map((e) =>
          typeof e === 'string'
            ? `${e}/32`
            : e.prefix
              ? `${e.prefix.addr}/${e.prefix.len}`
              : JSON.stringify(e),
        )
        .sort(cidrOrder);
    }
    if (o.chain) {
      const { name, type, hook, prio, policy } = o.chain;
      chains.push({ name, type, hook, prio, policy });
    }
    if (o.rule) rules.push({ chain: o.rule.chain, expr: o.rule.expr });
  }
  return canonical(sets, chains, rules);
}

export class Nat {
  constructor(private readonly o: { nodeNetns?: string; log: Logger }) {}

  private run(cmd: string, args: string[], input?: string): Promise<string> {
    return runInNetns(this.o.nodeNetns, cmd, args, { input, timeoutMs: 10_000 });
  }

  /** The table's content in canonical form, or undefined when there is no table. */
  private async live(): Promise<string | undefined> {
    try {
      return liveSummary(await this.run('nft', ['-j', 'list', 'table', 'ip', NAT_TABLE]));
    } catch (e) {
      if (/No such file or directory/.test((e as Error).message)) return undefined;
      throw e;
    }
  }

  /** Forwarding on and the table as wanted; returns whether the table had to be rewritten. */
  async reconcile(want: NatState): Promise<boolean> {
    // the node routes pods' traffic between ovn0 and its underlay
    if ((await this.run('sysctl', ['-n', 'net.ipv4.ip_forward'])).trim() !== '1')
      await this.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    if ((await this.live()) === desiredSummary(want)) return false;
    await this.run('nft', ['-f', '-'], natScript(want));
    this.o.log.info({ sources: want.sources, cluster: want.cluster }, 'nat rules replaced');
    return true;
  }

  /** Removes the table (uninstall); forwarding stays as it is, other software may rely on it. */
  async remove(): Promise<void> {
    await this.run('nft', ['-f', '-'], `table ip ${NAT_TABLE}\ndelete table ip ${NAT_TABLE}\n`);
  }
}
