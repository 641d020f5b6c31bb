// Fuzzes the controller through the Kubernetes API: random Subnets, Vpcs, IPPools, IP CRs and pods with
// random annotations, created, updated and deleted. The API server may refuse an object (a 4xx, counted);
// whatever it accepts, the controller must answer visibly (a condition, an Event, an address), never die,
// never change what it served before the fuzz began, and leave nothing behind once the fuzz objects go.
// Every case is a pure function of (seed, index): `generateCase(seed, i)` replays it.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { Ann } from '../../controller/k8s/annotations.ts';
import { run } from '../../lab/proc.ts';
import { emptyReport, type FuzzReport, recordFailure } from './report.ts';

export interface ApiObjectsFuzzOptions {
  /** Kubeconfig contents (or a path to it), or a loaded KubeConfig. */
  kubeconfig: string | KubeConfig;
  /** The northbound database the controller writes (an ovn-nbctl --db value). */
  nbRemote: string;
  isControllerAlive: () => boolean;
  cases: number;
  seed: number;
  /** How long the controller has to answer one case (default 5000 ms). */
  settleMs?: number;
}

export interface ApiObjectsReport extends FuzzReport {
  /** Requests the API server refused with a 4xx (a valid outcome). */
  rejected: number;
  /** Cases per kind/op/category, e.g. "subnet/create/overlap-base". */
  categories: Record<string, number>;
}

/** What the controller is expected to make of an accepted object. */
type Verdict = 'valid' | 'invalid' | 'either' | 'none';
type Kind = 'subnet' | 'vpc' | 'ippool' | 'ip' | 'pod';
type Op = 'create' | 'update' | 'delete';

export interface FuzzCase {
  index: number;
  kind: Kind;
  op: Op;
  name: string;
  /** The whole object for create, a JSON merge patch for update. */
  body?: Record<string, unknown>;
  verdict: Verdict;
  category: string;
}

const FUZZ_NS = 'fuzz';
const BASE_NS = 'fuzz-base';
const BASE_VPC = 'fzb-vpc';
/** The baseline subnets: a, bound to the baseline namespace; b, chosen by annotation; c, in BASE_VPC. */
const BASE = {
  a: { name: 'fzb-a', cidr: '10.201.0.0/24' },
  b: { name: 'fzb-b', cidr: '10.202.0.0/24' },
  c: { name: 'fzb-c', cidr: '10.203.0.0/24' },
};
const BASE_PODS = ['base-1', 'base-2', 'base-3', 'base-4'];
const BASE_STATIC = { ip: '10.201.0.50', mac: '02:fb:00:00:00:50' };

// ---------------------------------------------------------------------------------------------------------
// Case generation: pure

/** mulberry32 over a hash of (seed, index): a small, fast PRNG whose streams differ per case. */
function rngFor(seed: number, index: number): () => number {
  let a = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Draw {
  constructor(readonly r: () => number) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  /** Picks a branch by weight. */
  weighted<T>(options: readonly [number, T][]): T {
    const total = options.reduce((s, [w]) => s + w, 0);
    let x = this.r() * total;
    for (const [w, v] of options) {
      x -= w;
      if (x < 0) return v;
    }
    return options[options.length - 1]![1];
  }
}

/** The first draws of a case decide its kind and op, so a later case can find it without recursion. */
function headOf(seed: number, index: number): { kind: Kind; op: Op; draw: Draw } {
  const draw = new Draw(rngFor(seed, index));
  const kind = draw.weighted<Kind>([
    [25, 'subnet'],
    [15, 'vpc'],
    [12, 'ippool'],
    [8, 'ip'],
    [40, 'pod'],
  ]);
  const op = draw.weighted<Op>([
    [70, 'create'],
    [18, 'update'],
    [12, 'delete'],
  ]);
  return { kind, op, draw };
}

const nameOf: Record<Kind, (i: number) => string> = {
  subnet: (i) => `fz-s${i}`,
  vpc: (i) => `fz-v${i}`,
  ippool: (i) => `fz-p${i}`,
  ip: (i) => `fz-ip${i}.${FUZZ_NS}`,
  pod: (i) => `fz-pod${i}`,
};

/** An earlier case that created an object of this kind, if the draw finds one. */
function earlierCreate(seed: number, index: number, kind: Kind, draw: Draw): number | undefined {
  for (let tries = 0; tries < 24 && index > 0; tries++) {
    const j = draw.int(index);
    const h = headOf(seed, j);
    if (h.kind === kind && h.op === 'create') return j;
  }
  return undefined;
}

/** A /24 of 172.16.0.0/12 that no other case index uses. */
function uniqueNet(i: number): string {
  return `172.${16 + ((i >> 8) & 15)}.${i & 255}`;
}

const hex2 = (n: number) => (n & 255).toString(16).padStart(2, '0');

export function generateCase(seed: number, index: number): FuzzCase {
  const { kind, op: wantedOp, draw } = headOf(seed, index);
  let op = wantedOp;
  let target = index;
  if (op !== 'create') {
    const j = earlierCreate(seed, index, kind, draw);
    if (j === undefined) op = 'create';
    else target = j;
  }
  const name = nameOf[kind](target);
  const base = { index, kind, op, name };
  if (op === 'delete') return { ...base, verdict: 'none', category: 'delete' };
  switch (kind) {
    case 'subnet': {
      const g = subnetSpec(draw, index, seed);
      return op === 'create'
        ? {
            ...base,
            body: { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name }, spec: g.spec },
            verdict: g.verdict,
            category: g.category,
          }
        : // every field the verdict depends on is set, so it does not depend on the object's history
          {
            ...base,
            body: { spec: { gateway: null, excludeIps: null, vpc: null, ...g.spec } },
            verdict: g.verdict === 'valid' ? 'either' : g.verdict,
            category: g.category,
          };
    }
    case 'vpc': {
      const g = vpcSpec(draw, index, seed, name);
      return op === 'create'
        ? {
            ...base,
            body: { apiVersion: 'kubeovn.io/v1', kind: 'Vpc', metadata: { name }, spec: g.spec },
            verdict: g.verdict,
            category: g.category,
          }
        : {
            ...base,
            body: {
              spec: {
                staticRoutes: null,
                policyRoutes: null,
                vpcPeerings: null,
                defaultSubnet: null,
                ...g.spec,
              },
            },
            // a Vpc that gained subnets since may have routes the new spec reaches: only "invalid" holds
            verdict: g.verdict === 'invalid' && g.category !== 'dup-policy' ? 'invalid' : 'either',
            category: g.category,
          };
    }
    case 'ippool': {
      const g = poolSpec(draw, index, seed);
      return op === 'create'
        ? {
            ...base,
            body: { apiVersion: 'kubeovn.io/v1', kind: 'IPPool', metadata: { name }, spec: g.spec },
            verdict: g.verdict,
            category: g.category,
          }
        : { ...base, body: { spec: g.spec }, verdict: 'either', category: g.category };
    }
    case 'ip': {
      const g = ipSpec(draw, index);
      return op === 'create'
        ? {
            ...base,
            body: { apiVersion: 'kubeovn.io/v1', kind: 'IP', metadata: { name }, spec: g.spec },
            verdict: 'none',
            category: g.category,
          }
        : { ...base, body: { spec: g.spec }, verdict: 'none', category: g.category };
    }
    case 'pod': {
      const g = podAnnotations(draw, index, seed);
      const podName = g.badName && op === 'create' ? `FZ_Pod${index}` : name;
      if (op === 'update')
        return {
          ...base,
          body: { metadata: { annotations: g.annotations } },
          verdict: 'either',
          category: g.category,
        };
      const body: V1Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: podName, namespace: FUZZ_NS, annotations: g.annotations },
        spec: {
          ...(draw.chance(0.8) ? { nodeName: 'node1' } : {}),
          ...(g.hostNetwork ? { hostNetwork: true } : {}),
          containers: [{ name: 'c', image: 'pause' }],
        },
      };
      return {
        ...base,
        name: podName,
        body: body as Record<string, unknown>,
        verdict: g.verdict,
        category: g.category,
      };
    }
  }
}

interface Generated<S> {
  spec: S;
  verdict: Verdict;
  category: string;
}

function subnetSpec(draw: Draw, i: number, seed: number): Generated<Record<string, unknown>> {
  const net = uniqueNet(i);
  const prefix = 24 + draw.int(5);
  const extras = (): Record<string, unknown> => ({
    ...(draw.chance(0.3) ? { namespaces: [draw.pick([FUZZ_NS, BASE_NS, 'nowhere'])] } : {}),
    ...(draw.chance(0.2) ? { private: true, allowSubnets: [draw.pick(['10.0.0.0/8', '192.0.2.1'])] } : {}),
    ...(draw.chance(0.1) ? { default: true } : {}),
    ...(draw.chance(0.1) ? { natOutgoing: draw.chance(0.5), gatewayType: 'centralized' } : {}),
  });
  const fuzzVpc = () => {
    const j = earlierCreate(seed, i, 'vpc', draw);
    return j === undefined ? 'fz-nope' : nameOf.vpc(j);
  };
  const category = draw.weighted<string>([
    [14, 'valid'],
    [4, 'valid-host-bits'],
    [5, 'valid-base-vpc'],
    [3, 'valid-dual'],
    [6, 'valid-excludes'],
    [6, 'overlap-base'],
    [3, 'overlap-default'],
    [2, 'overlap-join'],
    [3, 'overlap-base-vpc'],
    [3, 'other-vpc-cidr'],
    [5, 'gateway-outside'],
    [2, 'gateway-network'],
    [2, 'gateway-family'],
    [4, 'exclude-outside'],
    [3, 'exclude-reversed'],
    [4, 'vpc-unknown'],
    [5, 'vpc-fuzz'],
    [3, 'tiny'],
    [8, 'schema'],
  ]);
  const cidr = `${net}.0/${prefix}`;
  const ok = (spec: Record<string, unknown>): Generated<Record<string, unknown>> => ({
    spec: { ...extras(), ...spec },
    verdict: 'valid',
    category,
  });
  const bad = (
    spec: Record<string, unknown>,
    verdict: Verdict = 'invalid',
  ): Generated<Record<string, unknown>> => ({
    spec: { ...extras(), ...spec },
    verdict,
    category,
  });
  switch (category) {
    case 'valid':
      return ok({ cidrBlock: cidr, ...(draw.chance(0.5) ? { gateway: `${net}.${1 + draw.int(14)}` } : {}) });
    case 'valid-host-bits':
      return ok({ cidrBlock: `${net}.${draw.int(16)}/${prefix}` });
    case 'valid-base-vpc':
      return ok({ cidrBlock: cidr, vpc: BASE_VPC });
    case 'valid-dual':
      return ok({ cidrBlock: `${cidr},fd00:fz::${i.toString(16)}:0/120`.replace('fz', 'f0') });
    case 'valid-excludes':
      return ok({
        cidrBlock: `${net}.0/24`,
        excludeIps: [`${net}.${2 + draw.int(50)}`, `${net}.100..${net}.120`],
      });
    case 'overlap-base':
      return bad({
        cidrBlock: draw.pick(['10.201.0.0/25', '10.201.0.128/26', '10.200.0.0/15', '10.202.0.77/28']),
      });
    case 'overlap-default':
      return bad({ cidrBlock: `10.16.${draw.int(256)}.0/24` });
    case 'overlap-join':
      return bad({ cidrBlock: '100.64.7.0/24' });
    case 'overlap-base-vpc':
      return bad({ cidrBlock: '10.203.0.0/25', vpc: BASE_VPC });
    case 'other-vpc-cidr':
      // the base VPC's CIDR in the default VPC: allowed (VPCs may overlap), unless another case took it first
      return bad({ cidrBlock: '10.203.0.0/24' }, 'either');
    case 'gateway-outside':
      return bad({ cidrBlock: cidr, gateway: '192.0.2.1' });
    case 'gateway-network':
      return bad({ cidrBlock: `${net}.0/24`, gateway: `${net}.0` });
    case 'gateway-family':
      return bad({ cidrBlock: cidr, gateway: 'fd00::1' });
    case 'exclude-outside':
      return bad({ cidrBlock: cidr, excludeIps: ['192.0.2.5'] });
    case 'exclude-reversed':
      return bad({ cidrBlock: cidr, excludeIps: [`${net}.9..${net}.3`] });
    case 'vpc-unknown':
      return bad({ cidrBlock: cidr, vpc: 'fz-nope' });
    case 'vpc-fuzz':
      return bad({ cidrBlock: cidr, vpc: fuzzVpc() }, 'either');
    case 'tiny':
      return bad({ cidrBlock: `${net}.0/${draw.pick([30, 31, 32])}` }, 'either');
    default:
      return {
        spec: draw.pick<Record<string, unknown>>([
          { cidrBlock: 'abc' },
          { cidrBlock: `${net}.0/33` },
          { cidrBlock: 42 },
          {},
          { cidrBlock: cidr, protocol: 'IPv5' },
          { cidrBlock: cidr, namespaces: ['Bad_NS'] },
          { cidrBlock: cidr, gateway: '10.0.0.256' },
          { cidrBlock: cidr, excludeIps: 'x' },
          { cidrBlock: cidr, gatewayType: 'sideways' },
        ]),
        verdict: 'either',
        category,
      };
  }
}

function vpcSpec(draw: Draw, i: number, seed: number, self: string): Generated<Record<string, unknown>> {
  const category = draw.weighted<string>([
    [8, 'empty'],
    [6, 'policies'],
    [5, 'peering'],
    [5, 'route-unreachable'],
    [4, 'reroute-no-hop'],
    [3, 'self-peering'],
    [2, 'peering-no-ip'],
    [3, 'dup-policy'],
    [3, 'bad-match'],
    [2, 'default-subnet'],
    [6, 'schema'],
  ]);
  const link = `169.254.${i & 255}.${1 + 4 * draw.int(60)}/30`;
  const peer = () => {
    const j = earlierCreate(seed, i, 'vpc', draw);
    return draw.chance(0.4) || j === undefined ? BASE_VPC : nameOf.vpc(j);
  };
  const policy = () => ({
    priority: draw.int(32768),
    match: draw.pick(['ip4.src == 10.0.0.0/8', 'ip4.dst == 192.0.2.0/24', 'ip4', 'ip6.dst == fd00::/8']),
    action: draw.pick(['allow', 'drop']),
  });
  switch (category) {
    case 'empty':
      return { spec: draw.chance(0.5) ? { namespaces: ['nowhere'] } : {}, verdict: 'valid', category };
    case 'policies':
      return { spec: { policyRoutes: [policy(), policy()] }, verdict: 'valid', category };
    case 'peering':
      return {
        spec: { vpcPeerings: [{ remoteVpc: peer(), localConnectIP: link }] },
        verdict: 'valid',
        category,
      };
    case 'route-unreachable':
      return {
        spec: { staticRoutes: [{ cidr: draw.pick(['0.0.0.0/0', '192.0.2.0/24']), nextHopIP: '192.0.2.1' }] },
        verdict: 'invalid',
        category,
      };
    case 'reroute-no-hop':
      return {
        spec: { policyRoutes: [{ priority: 100, match: 'ip4', action: 'reroute' }] },
        verdict: 'invalid',
        category,
      };
    case 'self-peering':
      return {
        spec: { vpcPeerings: [{ remoteVpc: self, localConnectIP: link }] },
        verdict: 'invalid',
        category,
      };
    case 'peering-no-ip':
      return { spec: { vpcPeerings: [{ remoteVpc: BASE_VPC }] }, verdict: 'invalid', category };
    case 'dup-policy': {
      const p = policy();
      return { spec: { policyRoutes: [p, { ...p }] }, verdict: 'either', category };
    }
    case 'bad-match':
      // northbound does not parse matches (northd does): accepted as written, as Kube-OVN does
      return {
        spec: {
          policyRoutes: [
            { priority: 7, match: draw.pick(['ip4.dst ==', '((', 'nonsense && 1']), action: 'drop' },
          ],
        },
        verdict: 'either',
        category,
      };
    case 'default-subnet':
      return {
        spec: { defaultSubnet: draw.pick(['fz-nope', BASE.c.name]), namespaces: ['nowhere'] },
        verdict: 'either',
        category,
      };
    default:
      return {
        spec: draw.pick<Record<string, unknown>>([
          { policyRoutes: [{ priority: 40000, match: 'ip4', action: 'allow' }] },
          { policyRoutes: [{ priority: 1, match: 'ip4', action: 'bogus' }] },
          { staticRoutes: [{ cidr: 'x', nextHopIP: '10.0.0.1' }] },
          { staticRoutes: [{ cidr: '10.0.0.0/8', nextHopIP: '10.0.0.1', policy: 'sideways' }] },
          { vpcPeerings: [{ remoteVpc: 'Bad_Name', localConnectIP: link }] },
          { vpcPeerings: [{ remoteVpc: BASE_VPC, localConnectIP: '169.254.0.1' }] },
          { namespaces: 'x' },
        ]),
        verdict: 'either',
        category,
      };
  }
}

function poolSpec(draw: Draw, i: number, seed: number): Generated<Record<string, unknown>> {
  const category = draw.weighted<string>([
    [6, 'valid-default'],
    [4, 'outside'],
    [4, 'subnet-unknown'],
    [4, 'base-subnet'],
    [4, 'fuzz-subnet'],
    [4, 'schema'],
  ]);
  const mine = `10.16.${200 + ((i >> 8) % 50)}.${i & 255}`;
  const namespaces = draw.chance(0.3) ? { namespaces: [draw.pick([FUZZ_NS, BASE_NS])] } : {};
  switch (category) {
    case 'valid-default':
      return {
        spec: { subnet: 'ovn-default', ips: [draw.pick([mine, `${mine}..${mine}`])] },
        verdict: 'valid',
        category,
      };
    case 'outside':
      return {
        spec: { subnet: BASE.a.name, ips: ['192.0.2.0/28'], ...namespaces },
        verdict: 'invalid',
        category,
      };
    case 'subnet-unknown':
      return { spec: { subnet: 'fz-nope', ips: ['10.9.9.9'], ...namespaces }, verdict: 'invalid', category };
    case 'base-subnet':
      // may include addresses baseline pods hold: they must keep them
      return {
        spec: {
          subnet: draw.pick([BASE.a.name, BASE.b.name]),
          ips: [draw.pick(['10.201.0.0/24', '10.202.0.0/24', `${BASE_STATIC.ip}`, '10.202.0.2..10.202.0.9'])],
          ...namespaces,
        },
        verdict: 'either',
        category,
      };
    case 'fuzz-subnet': {
      const j = earlierCreate(seed, i, 'subnet', draw);
      const subnet = j === undefined ? 'fz-nope' : nameOf.subnet(j);
      return {
        spec: { subnet, ips: [`${uniqueNet(j ?? 0)}.${draw.int(8)}/29`], ...namespaces },
        verdict: 'either',
        category,
      };
    }
    default:
      return {
        spec: draw.pick<Record<string, unknown>>([
          { subnet: 'ovn-default', ips: [] },
          { subnet: 'ovn-default', ips: ['abc'] },
          { subnet: 'Bad_Subnet', ips: ['10.16.0.9'] },
          { ips: ['10.16.0.9'] },
          { subnet: 'ovn-default' },
        ]),
        verdict: 'either',
        category,
      };
  }
}

function ipSpec(draw: Draw, i: number): { spec: Record<string, unknown>; category: string } {
  const category = draw.pick(['base-address', 'free-address', 'schema']);
  const mac = `02:fc:00:00:${hex2(i >> 8)}:${hex2(i)}`;
  if (category === 'schema')
    return { category, spec: draw.pick([{ ipAddress: 'abc' }, { macAddress: 'zz' }, { podType: 'Daemon' }]) };
  return {
    category,
    spec: {
      podName: `fz-ip${i}`,
      namespace: draw.pick([FUZZ_NS, BASE_NS, '']),
      subnet: draw.pick([BASE.a.name, BASE.b.name, 'ovn-default', 'fz-nope']),
      ipAddress:
        category === 'base-address'
          ? draw.pick([BASE_STATIC.ip, '10.201.0.2', '10.202.0.2'])
          : `10.16.${draw.int(256)}.${draw.int(256)}`,
      macAddress: draw.chance(0.3) ? BASE_STATIC.mac : mac,
      nodeName: 'node1',
      podType: draw.pick(['', 'StatefulSet', 'VirtualMachine']),
    },
  };
}

function podAnnotations(
  draw: Draw,
  i: number,
  seed: number,
): {
  annotations: Record<string, string>;
  verdict: Verdict;
  category: string;
  badName?: boolean;
  hostNetwork?: boolean;
} {
  const category = draw.weighted<string>([
    [8, 'plain'],
    [6, 'static-ip'],
    [4, 'static-ip-mac'],
    [4, 'ip-taken'],
    [3, 'ip-outside'],
    [2, 'ip-gateway'],
    [4, 'ip-malformed'],
    [3, 'mac-malformed'],
    [3, 'mac-taken'],
    [4, 'switch-unknown'],
    [4, 'switch-fuzz'],
    [4, 'switch-base'],
    [3, 'pool-unknown'],
    [3, 'pool-fuzz'],
    [3, 'pool-list'],
    [2, 'pool-garbage'],
    [3, 'forged'],
    [1, 'host-network'],
    [1, 'bad-name'],
  ]);
  const staticIp = `10.16.${100 + ((i >> 8) % 100)}.${i & 255}`;
  const mac = `02:fd:00:00:${hex2(i >> 8)}:${hex2(i)}`;
  const ls = { [Ann.logicalSwitch]: 'ovn-default' };
  const noise: Record<string, string> = draw.chance(0.2)
    ? { [Ann.portSecurity]: draw.pick(['true', 'false', 'maybe']) }
    : {};
  const r = (annotations: Record<string, string>, verdict: Verdict) => ({
    annotations: { ...noise, ...annotations },
    verdict,
    category,
  });
  switch (category) {
    case 'plain':
      return r({}, 'either');
    case 'static-ip':
      return r({ ...ls, [Ann.ipAddress]: staticIp }, 'valid');
    case 'static-ip-mac':
      return r(
        { ...ls, [Ann.ipAddress]: staticIp, [Ann.macAddress]: draw.chance(0.5) ? mac : mac.toUpperCase() },
        'valid',
      );
    case 'ip-taken':
      return r(
        { [Ann.logicalSwitch]: BASE.a.name, [Ann.ipAddress]: draw.pick([BASE_STATIC.ip, '10.201.0.2']) },
        'invalid',
      );
    case 'ip-outside':
      return r({ [Ann.logicalSwitch]: BASE.b.name, [Ann.ipAddress]: '192.0.2.7' }, 'invalid');
    case 'ip-gateway':
      return r({ ...ls, [Ann.ipAddress]: '10.16.0.1' }, 'invalid');
    case 'ip-malformed':
      return r(
        {
          ...ls,
          [Ann.ipAddress]: draw.pick([
            '10.16.300.1',
            'abc',
            '10.16.0.5/24',
            '10.16.1.1,10.16.1.2',
            ' ',
            '010.16.1.1',
          ]),
        },
        'invalid',
      );
    case 'mac-malformed':
      return r(
        {
          ...ls,
          [Ann.macAddress]: draw.pick(['zz:00', '00:11:22:33:44', 'gg:00:00:00:00:01', '0011.2233.4455']),
        },
        'invalid',
      );
    case 'mac-taken':
      return r(
        {
          [Ann.logicalSwitch]: BASE.a.name,
          [Ann.macAddress]: draw.chance(0.5) ? BASE_STATIC.mac : BASE_STATIC.mac.toUpperCase(),
        },
        'invalid',
      );
    case 'switch-unknown':
      return r({ [Ann.logicalSwitch]: draw.pick(['fz-nope', 'Bad Name', '']) }, 'either');
    case 'switch-fuzz': {
      const j = earlierCreate(seed, i, 'subnet', draw);
      return r({ [Ann.logicalSwitch]: j === undefined ? 'fz-nope' : nameOf.subnet(j) }, 'either');
    }
    case 'switch-base':
      return r({ [Ann.logicalSwitch]: draw.pick([BASE.b.name, BASE.c.name]) }, 'valid');
    case 'pool-unknown':
      return r({ [Ann.ipPool]: 'fz-nope' }, 'invalid');
    case 'pool-fuzz': {
      const j = earlierCreate(seed, i, 'ippool', draw);
      return r({ [Ann.ipPool]: j === undefined ? 'fz-nope' : nameOf.ippool(j) }, 'either');
    }
    case 'pool-list':
      return r({ ...ls, [Ann.ipPool]: `10.16.0.1,${BASE_STATIC.ip},${staticIp}` }, 'valid');
    case 'pool-garbage':
      return r({ ...ls, [Ann.ipPool]: draw.pick(['a;b', ',,', '10.16.0.1', '1.2.3.4,zzz']) }, 'invalid');
    case 'forged':
      // what only the controller may write, written by the user: it proves nothing
      return r(
        {
          [Ann.logicalSwitch]: BASE.a.name,
          [Ann.ipAddress]: '10.201.0.2',
          [Ann.allocated]: 'true',
          [Ann.routed]: 'true',
          [Ann.macAddress]: BASE_STATIC.mac,
        },
        'invalid',
      );
    case 'host-network':
      return { ...r({}, 'none'), hostNetwork: true };
    default:
      return { ...r({}, 'either'), badName: true };
  }
}

// ---------------------------------------------------------------------------------------------------------
// The run

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const crd = (plural: string) => ({ group: 'kubeovn.io', version: 'v1', plural });
const plurals: Record<Exclude<Kind, 'pod'>, string> = {
  subnet: 'subnets',
  vpc: 'vpcs',
  ippool: 'ippools',
  ip: 'ips',
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A kubeovn.io object as read back (only the fields the checks use). */
interface CrObject {
  metadata: { name: string; deletionTimestamp?: string };
  spec?: Record<string, unknown>;
  status?: Status;
}
type Status = Record<string, unknown> & { conditions?: Cond[]; subnets?: string[] };

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

class Api {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }
  async get(plural: string, name: string): Promise<CrObject | undefined> {
    try {
      return (await this.custom.getClusterCustomObject({ ...crd(plural), name })) as CrObject;
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) return undefined;
      throw e;
    }
  }
  async list(plural: string): Promise<CrObject[]> {
    return ((await this.custom.listClusterCustomObject(crd(plural))) as { items: CrObject[] }).items;
  }
  async pod(name: string, namespace = FUZZ_NS): Promise<V1Pod | undefined> {
    try {
      return await this.core.readNamespacedPod({ name, namespace });
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) return undefined;
      throw e;
    }
  }
  async events(namespace: string, name: string): Promise<{ reason?: string; message?: string }[]> {
    const list = await this.core.listNamespacedEvent({ namespace });
    return list.items.filter((e) => e.involvedObject.name === name);
  }
}

/** ovn-nbctl against the controller's northbound. */
class Nb {
  constructor(private readonly remote: string) {}
  nbctl(...args: string[]): Promise<string> {
    return run('ovn-nbctl', [`--db=${this.remote}`, '--timeout=10', ...args]);
  }
  async has(table: string, name: string): Promise<boolean> {
    return (await this.nbctl('--if-exists', 'get', table, name, 'name')) !== '';
  }
  /** Every row of a table, its values made plain (uuids as "uuid", sets as sorted arrays, maps as objects). */
  async rows(table: string): Promise<Record<string, unknown>[]> {
    const out = JSON.parse(await this.nbctl('--format=json', 'list', table)) as {
      headings: string[];
      data: unknown[][];
    };
    return out.data.map((row) => Object.fromEntries(out.headings.map((h, k) => [h, plain(row[k])])));
  }
}

function plain(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  const [tag, inner] = v as [string, unknown];
  if (tag === 'uuid' || tag === 'named-uuid') return 'uuid';
  if (tag === 'set')
    return (inner as unknown[]).map(plain).sort((a, b) => String(a).localeCompare(String(b)));
  if (tag === 'map')
    return Object.fromEntries((inner as [unknown, unknown][]).map(([k, x]) => [String(k), plain(x)]));
  return v;
}

const NB_TABLES = [
  'Logical_Switch',
  'Logical_Switch_Port',
  'Logical_Router',
  'Logical_Router_Port',
  'Logical_Router_Static_Route',
  'Logical_Router_Policy',
  'ACL',
  'Address_Set',
  'Port_Group',
];
/** Columns others write (northd, the chassis) or that differ per row for no reason of ours. */
const VOLATILE = new Set(['_uuid', '_version', 'up', 'dynamic_addresses', 'status']);

/** Northbound, keyed by table and name (or the controller's row id), for comparison before and after. */
async function nbState(nb: Nb): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const table of NB_TABLES) {
    for (const row of await nb.rows(table)) {
      const ext = (row.external_ids ?? {}) as Record<string, string>;
      const kept = Object.fromEntries(Object.entries(row).filter(([k]) => !VOLATILE.has(k)));
      const id = (typeof row.name === 'string' && row.name) || ext['ovnk.io/id'] || JSON.stringify(kept);
      out.set(`${table} ${id}`, JSON.stringify(kept));
    }
  }
  return out;
}

/** The rows whose owner is a fuzz object. */
const FUZZ_OWNER = /^(subnet|vpc)\/fz-|^pod\/fuzz\//;

interface Baseline {
  /** What the fuzz must never change while it runs. */
  served: string;
  /** All of the controller's output the baseline depends on, compared once the fuzz objects are gone. */
  full: Map<string, string>;
  k8s: string;
}

function diff(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) {
    if (!b.has(k)) out.push(`missing ${k}`);
    else if (b.get(k) !== v) out.push(`changed ${k}: ${v} -> ${b.get(k)}`);
  }
  for (const k of b.keys()) if (!a.has(k)) out.push(`extra ${k}`);
  return out;
}

const isRejection = (e: unknown) => e instanceof ApiException && e.code >= 400 && e.code < 500;

export async function fuzzApiObjects(opts: ApiObjectsFuzzOptions): Promise<ApiObjectsReport> {
  const kc = opts.kubeconfig instanceof KubeConfig ? opts.kubeconfig : loadKubeConfig(opts.kubeconfig);
  const api = new Api(kc);
  const nb = new Nb(opts.nbRemote);
  const settleMs = opts.settleMs ?? 5_000;
  const report: ApiObjectsReport = { ...emptyReport('api-objects'), rejected: 0, categories: {} };
  const fail = (kind: 'crashes' | 'hangs' | 'violations', c: FuzzCase | undefined, what: string) =>
    recordFailure(
      report,
      kind,
      c ? `seed ${opts.seed} case ${c.index} ${c.kind}/${c.op}/${c.category} ${c.name}: ${what}` : what,
    );

  await ensureNamespace(api, FUZZ_NS);
  await ensureNamespace(api, BASE_NS);
  await makeBaseline(api, settleMs * 4);
  const baseline = await snapshot(api, nb);
  try {
    for (let i = 0; i < opts.cases; i++) {
      const c = generateCase(opts.seed, i);
      report.cases++;
      const key = `${c.kind}/${c.op}/${c.category}`;
      report.categories[key] = (report.categories[key] ?? 0) + 1;
      const bound = settleMs * 3 + 10_000;
      const outcome = await Promise.race([
        runCase(api, nb, c, settleMs).then(
          (r) => r,
          (e: unknown) => ({ error: e }),
        ),
        sleep(bound).then(() => 'hang' as const),
      ]);
      if (outcome === 'hang') fail('hangs', c, `did not settle within ${bound} ms`);
      else if ('error' in outcome) fail('violations', c, `unexpected error: ${String(outcome.error)}`);
      else if (outcome.rejected) report.rejected++;
      else if (outcome.problem) fail('violations', c, outcome.problem);
      if (!opts.isControllerAlive()) {
        fail('crashes', c, 'the controller died');
        break;
      }
    }
    await sleep(200);
    const mid = await served(api, nb);
    if (mid !== baseline.served)
      fail('violations', undefined, `baseline changed during the fuzz: ${firstDiff(baseline.served, mid)}`);
    for (const p of await duplicateAddresses(nb)) fail('violations', undefined, p);
  } finally {
    for (const p of await cleanup(api, nb, settleMs * 4)) fail('violations', undefined, p);
  }
  if (!opts.isControllerAlive()) fail('crashes', undefined, 'the controller died during cleanup');
  // once the fuzz objects are gone, everything is as it was: counters, namespaces, northbound
  const deadline = Date.now() + settleMs * 2;
  let problems: string[] = [];
  for (;;) {
    const after = await snapshot(api, nb);
    problems = [...diff(baseline.full, after.full).map((d) => `northbound ${d}`)];
    if (after.k8s !== baseline.k8s)
      problems.push(`baseline objects differ: ${firstDiff(baseline.k8s, after.k8s)}`);
    if (problems.length === 0 || Date.now() > deadline) break;
    await sleep(200);
  }
  for (const p of problems.slice(0, 5)) fail('violations', undefined, `after cleanup: ${p}`);
  await removeBaseline(api);
  return report;
}

function loadKubeConfig(s: string): KubeConfig {
  const kc = new KubeConfig();
  if (s.includes('\n')) kc.loadFromString(s);
  else kc.loadFromFile(s);
  return kc;
}

function firstDiff(a: string, b: string): string {
  let k = 0;
  while (k < a.length && a[k] === b[k]) k++;
  return `…${a.slice(Math.max(0, k - 120), k + 80)} -> …${b.slice(Math.max(0, k - 120), k + 80)}`;
}

async function ensureNamespace(api: Api, name: string): Promise<void> {
  try {
    await api.core.createNamespace({ body: { metadata: { name } } });
  } catch (e) {
    if (!(e instanceof ApiException && e.code === 409)) throw e;
  }
}

/** Polls `check` (undefined = satisfied) until it holds or `ms` pass; the last complaint otherwise. */
async function settle(ms: number, check: () => Promise<string | undefined>): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const problem = await check();
    if (problem === undefined || Date.now() > deadline) return problem;
    await sleep(50);
  }
}

const conditionsOf = (o: CrObject | undefined): Cond[] => (o?.status?.conditions as Cond[] | undefined) ?? [];
const cond = (o: CrObject | undefined, type: string) => conditionsOf(o).find((c) => c.type === type);

// ---------------------------------------------------------------------------------------------------------
// Baseline

async function makeBaseline(api: Api, waitMs: number): Promise<void> {
  const createCr = (plural: string, kind: string, name: string, spec: Record<string, unknown>) =>
    api.custom.createClusterCustomObject({
      ...crd(plural),
      body: { apiVersion: 'kubeovn.io/v1', kind, metadata: { name }, spec },
    });
  const ready = async (plural: string, name: string, type: string) => {
    const p = await settle(waitMs, async () =>
      cond(await api.get(plural, name), type)?.status === 'True' ? undefined : `${plural}/${name} not ready`,
    );
    if (p) throw new Error(`baseline: ${p}`);
  };
  await createCr('vpcs', 'Vpc', BASE_VPC, {});
  await ready('vpcs', BASE_VPC, 'Ready');
  await createCr('subnets', 'Subnet', BASE.a.name, { cidrBlock: BASE.a.cidr, namespaces: [BASE_NS] });
  await createCr('subnets', 'Subnet', BASE.b.name, { cidrBlock: BASE.b.cidr });
  await createCr('subnets', 'Subnet', BASE.c.name, { cidrBlock: BASE.c.cidr, vpc: BASE_VPC });
  for (const s of Object.values(BASE)) await ready('subnets', s.name, 'Ready');
  await api.custom.patchClusterCustomObject(
    {
      ...crd('vpcs'),
      name: BASE_VPC,
      body: { spec: { staticRoutes: [{ cidr: '0.0.0.0/0', nextHopIP: '10.203.0.254' }] } },
    },
    mergePatch,
  );
  const annotations: Record<string, Record<string, string>> = {
    'base-1': {},
    'base-2': { [Ann.logicalSwitch]: BASE.b.name },
    'base-3': { [Ann.ipAddress]: BASE_STATIC.ip, [Ann.macAddress]: BASE_STATIC.mac },
    'base-4': { [Ann.logicalSwitch]: BASE.c.name },
  };
  for (const name of BASE_PODS)
    await api.core.createNamespacedPod({
      namespace: BASE_NS,
      body: {
        metadata: { name, namespace: BASE_NS, annotations: annotations[name] },
        spec: { nodeName: 'node1', containers: [{ name: 'c', image: 'pause' }] },
      },
    });
  for (const name of BASE_PODS) {
    const p = await settle(waitMs, async () =>
      (await api.pod(name, BASE_NS))?.metadata?.annotations?.[Ann.routed] === 'true'
        ? undefined
        : `pod ${name} not addressed`,
    );
    if (p) throw new Error(`baseline: ${p}`);
  }
  const p = await settle(waitMs, async () => {
    const v = await api.get('vpcs', BASE_VPC);
    return cond(v, 'Ready')?.status === 'True' && v?.status?.subnets?.includes(BASE.c.name)
      ? undefined
      : 'vpc not ready with its route';
  });
  if (p) throw new Error(`baseline: ${p}`);
  // the subnets' status counters are written a moment after their pods get addresses
  await sleep(1_000);
}

async function removeBaseline(api: Api): Promise<void> {
  for (const name of BASE_PODS)
    await api.core.deleteNamespacedPod({ namespace: BASE_NS, name }).catch(() => undefined);
  await waitFor(
    async () => (await api.core.listNamespacedPod({ namespace: BASE_NS })).items.length === 0,
    10_000,
  );
  for (const s of Object.values(BASE))
    await api.custom.deleteClusterCustomObject({ ...crd('subnets'), name: s.name }).catch(() => undefined);
  await waitFor(async () => !(await api.get('subnets', BASE.c.name)), 10_000);
  await api.custom.deleteClusterCustomObject({ ...crd('vpcs'), name: BASE_VPC }).catch(() => undefined);
  await waitFor(async () => !(await api.get('vpcs', BASE_VPC)), 10_000);
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  return (await settle(ms, async () => ((await check()) ? undefined : 'no'))) === undefined;
}

/** What the controller made for the baseline, as one string per view. */
async function snapshot(api: Api, nb: Nb): Promise<Baseline> {
  const full = await nbState(nb);
  for (const k of full.keys()) if (k.includes('fz-') || k.includes('.fuzz')) full.delete(k);
  const subnets = [];
  for (const name of [...Object.values(BASE).map((s) => s.name), 'ovn-default', 'join']) {
    const s = await api.get('subnets', name);
    subnets.push({ name, spec: s?.spec, status: stripTimes(s?.status) });
  }
  const vpcs = [];
  for (const name of [BASE_VPC, 'ovn-cluster']) {
    const v = await api.get('vpcs', name);
    vpcs.push({ name, spec: v?.spec, status: stripTimes(v?.status) });
  }
  const ns = (await api.core.readNamespace({ name: BASE_NS })).metadata?.annotations;
  return { served: await served(api, nb), full, k8s: JSON.stringify({ subnets, vpcs, ns }) };
}

function stripTimes(status: Status | undefined): unknown {
  if (!status) return status;
  return {
    ...status,
    conditions: conditionsOf({ metadata: { name: '' }, status }).map(
      ({ type, status: st, reason, message }) => ({
        type,
        status: st,
        reason,
        message,
      }),
    ),
  };
}

/** The baseline pods' addresses, IP CRs and ports, and the baseline subnets' switches and router ports. */
async function served(api: Api, nb: Nb): Promise<string> {
  const pods = [];
  for (const name of BASE_PODS) {
    const p = await api.pod(name, BASE_NS);
    const ip = await api.get('ips', `${name}.${BASE_NS}`);
    const port = `${name}.${BASE_NS}`;
    pods.push({
      name,
      annotations: p?.metadata?.annotations,
      ip: ip?.spec,
      lsp: (await nb.has('Logical_Switch_Port', port))
        ? [
            await nb.nbctl('lsp-get-addresses', port),
            await nb.nbctl('lsp-get-port-security', port),
            await nb.nbctl('lsp-get-ls', port),
          ]
        : 'missing',
    });
  }
  const switches = [];
  for (const s of Object.values(BASE)) {
    const router = s === BASE.c ? BASE_VPC : 'ovn-cluster';
    const lrp = `${router}-${s.name}`;
    switches.push({
      name: s.name,
      ls: await nb.has('Logical_Switch', s.name),
      lrp: (await nb.has('Logical_Router_Port', lrp))
        ? await nb.nbctl('get', 'Logical_Router_Port', lrp, 'networks', 'mac')
        : 'missing',
      conditions: conditionsOf(await api.get('subnets', s.name)).map((c) => `${c.type}=${c.status}`),
      spec: (await api.get('subnets', s.name))?.spec,
    });
  }
  const routes = await nb.nbctl('lr-route-list', BASE_VPC).catch((e: unknown) => `error ${String(e)}`);
  return JSON.stringify({ pods, switches, routes });
}

/** Two live ports of one switch with the same address. */
async function duplicateAddresses(nb: Nb): Promise<string[]> {
  const seen = new Map<string, string>();
  const out: string[] = [];
  for (const row of await nb.rows('Logical_Switch_Port')) {
    const ext = (row.external_ids ?? {}) as Record<string, string>;
    const addrs = Array.isArray(row.addresses) ? (row.addresses as string[]) : [String(row.addresses ?? '')];
    for (const a of addrs) {
      for (const ip of a.split(' ').slice(1)) {
        if (ip === 'router' || ip === '') continue;
        const key = `${ext.ls ?? '?'} ${ip}`;
        const other = seen.get(key);
        if (other && other !== row.name)
          out.push(`address ${key} held by ports ${other} and ${String(row.name)}`);
        seen.set(key, String(row.name));
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// One case

type CaseOutcome = { rejected?: boolean; problem?: string };

async function apply(api: Api, c: FuzzCase): Promise<'rejected' | 'applied'> {
  try {
    if (c.kind === 'pod') {
      if (c.op === 'create')
        await api.core.createNamespacedPod({ namespace: FUZZ_NS, body: c.body as V1Pod });
      else if (c.op === 'update')
        await api.core.patchNamespacedPod({ namespace: FUZZ_NS, name: c.name, body: c.body! }, mergePatch);
      else await api.core.deleteNamespacedPod({ namespace: FUZZ_NS, name: c.name });
    } else {
      const p = crd(plurals[c.kind]);
      if (c.op === 'create') await api.custom.createClusterCustomObject({ ...p, body: c.body! });
      else if (c.op === 'update')
        await api.custom.patchClusterCustomObject({ ...p, name: c.name, body: c.body! }, mergePatch);
      else await api.custom.deleteClusterCustomObject({ ...p, name: c.name });
    }
    return 'applied';
  } catch (e) {
    if (isRejection(e)) return 'rejected';
    throw e;
  }
}

async function runCase(api: Api, nb: Nb, c: FuzzCase, settleMs: number): Promise<CaseOutcome> {
  if ((await apply(api, c)) === 'rejected') return { rejected: true };
  const check = checks[c.kind];
  const problem = await settle(settleMs, () => check(api, nb, c));
  return problem === undefined ? {} : { problem };
}

type Check = (api: Api, nb: Nb, c: FuzzCase) => Promise<string | undefined>;

const checks: Record<Kind, Check> = {
  async subnet(api, nb, c) {
    const s = await api.get('subnets', c.name);
    if (c.op === 'delete') {
      // held by its finalizer while pods keep addresses in it: gone, or going
      if (!s || s.metadata?.deletionTimestamp) return undefined;
      return 'not deleted';
    }
    if (!s) return 'gone';
    const v = cond(s, 'Validated');
    const ready = cond(s, 'Ready');
    if (!v && !ready) return 'no condition';
    if (c.verdict === 'valid') {
      if (v?.status !== 'True' || ready?.status !== 'True')
        return `not valid: ${JSON.stringify(conditionsOf(s))}`;
      if (!(await nb.has('Logical_Switch', c.name))) return 'no logical switch';
    }
    if (c.verdict === 'invalid') {
      if (v?.status !== 'False' && ready?.status !== 'False')
        return `not refused: ${JSON.stringify(conditionsOf(s))}`;
      if (c.op === 'create' && (await nb.has('Logical_Switch', c.name)))
        return 'refused, yet has a logical switch';
    }
    if (
      c.verdict === 'either' &&
      v?.status === 'True' &&
      ready?.status === 'True' &&
      !(await nb.has('Logical_Switch', c.name))
    )
      return 'ready without a logical switch';
    return undefined;
  },
  async vpc(api, nb, c) {
    const v = await api.get('vpcs', c.name);
    if (c.op === 'delete') return !v || v.metadata?.deletionTimestamp ? undefined : 'not deleted';
    if (!v) return 'gone';
    const ready = cond(v, 'Ready');
    if (!ready) return 'no condition';
    if (c.verdict === 'valid') {
      if (ready.status !== 'True') return `not ready: ${JSON.stringify(conditionsOf(v))}`;
      if (!(await nb.has('Logical_Router', c.name))) return 'no logical router';
    }
    if (c.verdict === 'invalid') {
      if (ready.status !== 'False') return `not refused: ${JSON.stringify(conditionsOf(v))}`;
      if (c.op === 'create' && (await nb.has('Logical_Router', c.name))) return 'refused, yet has a router';
    }
    return undefined;
  },
  async ippool(api, _nb, c) {
    const p = await api.get('ippools', c.name);
    if (c.op === 'delete') return !p || p.metadata?.deletionTimestamp ? undefined : 'not deleted';
    if (!p) return 'gone';
    const ready = cond(p, 'Ready');
    if (!ready) return 'no condition';
    if (c.verdict === 'valid' && ready.status !== 'True')
      return `not ready: ${JSON.stringify(conditionsOf(p))}`;
    if (c.verdict === 'invalid' && ready.status !== 'False')
      return `not refused: ${JSON.stringify(conditionsOf(p))}`;
    return undefined;
  },
  async ip() {
    return undefined; // the controller keeps IP CRs; one written by a user must only leave the rest alone
  },
  async pod(api, nb, c) {
    const port = `${c.name}.${FUZZ_NS}`;
    if (c.op === 'delete') {
      if (await api.pod(c.name)) return 'pod still there';
      if (await nb.has('Logical_Switch_Port', port)) return 'port left behind';
      if (await api.get('ips', port)) return 'IP CR left behind';
      return undefined;
    }
    const p = await api.pod(c.name);
    if (!p) return 'pod gone';
    if (p.spec?.hostNetwork)
      return (await nb.has('Logical_Switch_Port', port)) ? 'host-network pod got a port' : undefined;
    const ann = p.metadata?.annotations ?? {};
    const hasPort = await nb.has('Logical_Switch_Port', port);
    const addressed = hasPort && ann[Ann.routed] === 'true' && ann[Ann.allocated] === 'true';
    const events = await api.events(FUZZ_NS, c.name);
    const failed = events.some((e) => e.reason === 'AcquireAddressFailed');
    if (c.verdict === 'valid') {
      if (!addressed && failed && (await reservedByAPool(api, ann[Ann.logicalSwitch], events)))
        return undefined;
      if (!addressed)
        return failed
          ? `refused with an Event, though valid: ${events.map((e) => e.message).join('; ')}`
          : 'no address';
      const want = (c.body as V1Pod).metadata?.annotations?.[Ann.ipAddress];
      if (c.op === 'create' && want && ann[Ann.ipAddress] !== want)
        return `got ${ann[Ann.ipAddress]}, asked ${want}`;
    }
    if (c.verdict === 'invalid') {
      if (!failed) return 'no Event';
      if (hasPort) return 'refused, yet has a port';
      if (await api.get('ips', port)) return 'refused, yet has an IP CR';
    }
    if (!addressed && !failed) return 'neither an address nor an Event';
    if (addressed) {
      const addrs = await nb.nbctl('lsp-get-addresses', port);
      const want = `${ann[Ann.macAddress]} ${ann[Ann.ipAddress]?.split(',').join(' ')}`.toLowerCase();
      // a user may edit an addressed pod's annotations; the controller keeps the address and says why
      if (addrs !== want && !(c.op === 'update' && failed))
        return `annotations (${want}) and port (${addrs}) differ`;
    }
    return undefined;
  },
};

// ---------------------------------------------------------------------------------------------------------
// Cleanup

/** Deletes every fuzz object and reports what stays: objects that do not go, northbound rows left behind. */
async function cleanup(api: Api, nb: Nb, waitMs: number): Promise<string[]> {
  const problems: string[] = [];
  const del = async (kind: Kind, name: string) => {
    try {
      if (kind === 'pod') await api.core.deleteNamespacedPod({ namespace: FUZZ_NS, name });
      else await api.custom.deleteClusterCustomObject({ ...crd(plurals[kind]), name });
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) throw e;
    }
  };
  // whatever is there with a fuzz name, whether or not a case recorded it
  const pods = (await api.core.listNamespacedPod({ namespace: FUZZ_NS })).items.map((p) => p.metadata!.name!);
  for (const name of pods) await del('pod', name);
  if (
    !(await waitFor(
      async () => (await api.core.listNamespacedPod({ namespace: FUZZ_NS })).items.length === 0,
      waitMs,
    ))
  )
    problems.push('fuzz pods not deleted');
  for (const kind of ['ippool', 'ip', 'subnet', 'vpc'] as const) {
    const names = (await api.list(plurals[kind]))
      .map((o) => o.metadata.name)
      .filter((n) => n.startsWith('fz-'));
    for (const name of names) await del(kind, name);
    const gone = await waitFor(
      async () => !(await api.list(plurals[kind])).some((o) => String(o.metadata.name).startsWith('fz-')),
      waitMs,
    );
    if (!gone) {
      const left = (await api.list(plurals[kind])).filter((o) => String(o.metadata.name).startsWith('fz-'));
      problems.push(
        `${kind}s not deleted: ${left.map((o) => `${o.metadata.name} ${JSON.stringify(conditionsOf(o))}`).join(', ')}`,
      );
    }
  }
  // IP CRs of fuzz pods are the controller's to remove
  const leftIps = async () =>
    (await api.list('ips')).filter((o) => String(o.metadata.name).endsWith(`.${FUZZ_NS}`));
  if (!(await waitFor(async () => (await leftIps()).length === 0, waitMs)))
    problems.push(`IP CRs left: ${(await leftIps()).map((o) => o.metadata.name).join(', ')}`);
  const leaked = async () => {
    const out: string[] = [];
    for (const table of NB_TABLES)
      for (const row of await nb.rows(table)) {
        const owner = ((row.external_ids ?? {}) as Record<string, string>)['ovnk.io/owner'] ?? '';
        if (FUZZ_OWNER.test(owner)) out.push(`${table} ${String(row.name ?? '')} (${owner})`);
      }
    return out;
  };
  if (!(await waitFor(async () => (await leaked()).length === 0, waitMs)))
    problems.push(`northbound rows left: ${(await leaked()).slice(0, 10).join(', ')}`);
  return problems;
}

/**
 * A valid pod may still find its subnet full when a fuzz IPPool reserves the subnet's free range for its
 * own namespaces: that is IPAM doing its job, not a refusal of a valid pod.
 */
async function reservedByAPool(
  api: { list(plural: string): Promise<CrObject[]> },
  subnet: string | undefined,
  events: { message?: string }[],
): Promise<boolean> {
  if (!subnet || !events.some((e) => e.message?.includes('IPAM_SUBNET_EXHAUSTED'))) return false;
  const pools = await api.list('ippools');
  return pools.some(
    (p) =>
      p.metadata.name.startsWith('fz-') && (p.spec as { subnet?: string } | undefined)?.subnet === subnet,
  );
}
