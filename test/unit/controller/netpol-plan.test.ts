// The NetworkPolicy planner against the upstream semantics: the cases the Kubernetes network-policy
// conformance tests check, as tables of connections that must be allowed or denied. The rows the planner
// writes are evaluated by a small OVN ACL evaluator (netpol-acl-eval.ts), so what is checked is what the
// matches do, not how they are spelled; the spelling that northd must parse is pinned separately.
import type { V1NetworkPolicy, V1NetworkPolicySpec } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { MAX_NAME, ovnName, PolicyNames } from '../../../src/controller/netpol/names.ts';
import {
  type NetpolWorld,
  type PodView,
  planPolicy,
  podMatters,
  policyTypes,
} from '../../../src/controller/netpol/plan.ts';
import { selects } from '../../../src/controller/netpol/selector.ts';
import { AclWorld, type Packet } from './netpol-acl-eval.ts';

const NAMESPACES = new Map<string, Record<string, string>>([
  ['default', { 'kubernetes.io/metadata.name': 'default' }],
  ['team-a', { 'kubernetes.io/metadata.name': 'team-a', team: 'a' }],
  ['team-b', { 'kubernetes.io/metadata.name': 'team-b', team: 'b' }],
]);

function pod(
  ns: string,
  name: string,
  ip: string,
  labels: Record<string, string>,
  containerPorts: PodView['containerPorts'] = [],
): PodView {
  return { namespace: ns, name, labels, ips: [ip], port: `${name}.${ns}`, containerPorts };
}

const PODS: PodView[] = [
  pod('default', 'web', '10.16.0.10', { app: 'web' }, [{ name: 'http', containerPort: 8080 }]),
  pod('default', 'api', '10.16.0.11', { app: 'api' }, [
    { name: 'http', containerPort: 9090 },
    { name: 'dns', containerPort: 53, protocol: 'UDP' },
  ]),
  pod('default', 'client', '10.16.0.12', { app: 'client' }),
  pod('team-a', 'a1', '10.16.1.10', { app: 'client' }),
  pod('team-b', 'b1', '10.16.2.10', { app: 'client' }, [{ name: 'http', containerPort: 7070 }]),
];

function worldOf(pods: readonly PodView[] = PODS): NetpolWorld {
  return {
    pods: (ns) => pods.filter((p) => ns === undefined || p.namespace === ns),
    namespaces: NAMESPACES,
    families: ['ip4'],
    nodeCidrs: ['100.64.0.0/16'],
  };
}

function np(name: string, spec: V1NetworkPolicySpec, namespace = 'default'): V1NetworkPolicy {
  return { metadata: { name, namespace }, spec };
}

const NODE = { port: 'node-node1', ip: '100.64.0.2' };
const endpoint = (key: string, pods: readonly PodView[]) => {
  if (key === 'node') return NODE;
  const p = pods.find((x) => `${x.namespace}/${x.name}` === key)!;
  return { port: p.port!, ip: p.ips[0]! };
};

/** Whether a connection from one pod (or "node") to another is let through by these policies. */
function allowed(
  policies: V1NetworkPolicy[],
  from: string,
  to: string,
  dport = 80,
  proto: Packet['proto'] = 'tcp',
  pods: readonly PodView[] = PODS,
): boolean {
  const rows = policies.flatMap((p) => planPolicy(p, worldOf(pods)).rows);
  const [a, b] = [endpoint(from, pods), endpoint(to, pods)];
  return new AclWorld(rows).allowed({ inport: a.port, outport: b.port, src: a.ip, dst: b.ip, proto, dport });
}

type Expect = [from: string, to: string, allowed: boolean, dport?: number, proto?: Packet['proto']];

const CASES: { name: string; policies: V1NetworkPolicy[]; expect: Expect[] }[] = [
  {
    name: 'no policy: everything is allowed',
    policies: [],
    expect: [
      ['default/client', 'default/web', true],
      ['team-a/a1', 'default/web', true],
    ],
  },
  {
    name: 'default deny ingress (empty podSelector, no rules): nothing gets in, the node still does, egress is free',
    policies: [np('deny', { podSelector: {}, policyTypes: ['Ingress'] })],
    expect: [
      ['default/client', 'default/web', false],
      ['team-a/a1', 'default/web', false],
      ['default/web', 'default/web', false],
      ['node', 'default/web', true],
      ['default/web', 'team-a/a1', true],
    ],
  },
  {
    name: 'default deny ingress without policyTypes (defaulted to Ingress)',
    policies: [np('deny', { podSelector: {} })],
    expect: [
      ['default/client', 'default/api', false],
      ['default/api', 'team-b/b1', true],
    ],
  },
  {
    name: 'deny all, both directions',
    policies: [np('deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })],
    expect: [
      ['default/client', 'default/web', false],
      ['default/web', 'team-a/a1', false],
      ['team-a/a1', 'team-b/b1', true],
      ['node', 'default/web', true],
    ],
  },
  {
    name: 'allow within the namespace',
    policies: [np('same-ns', { podSelector: {}, ingress: [{ _from: [{ podSelector: {} }] }] })],
    expect: [
      ['default/client', 'default/web', true],
      ['default/web', 'default/api', true],
      ['team-a/a1', 'default/web', false],
      ['team-b/b1', 'default/api', false],
    ],
  },
  {
    name: 'allow from a pod selector only to the selected pods',
    policies: [
      np('web', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ _from: [{ podSelector: { matchLabels: { app: 'client' } } }] }],
      }),
    ],
    expect: [
      ['default/client', 'default/web', true],
      ['default/api', 'default/web', false],
      // a pod selector alone means the policy's namespace
      ['team-a/a1', 'default/web', false],
      // unselected pods stay open
      ['default/api', 'default/client', true],
    ],
  },
  {
    name: 'allow from a namespace selector',
    policies: [
      np('from-a', {
        podSelector: {},
        ingress: [{ _from: [{ namespaceSelector: { matchLabels: { team: 'a' } } }] }],
      }),
    ],
    expect: [
      ['team-a/a1', 'default/web', true],
      ['team-b/b1', 'default/web', false],
      ['default/client', 'default/web', false],
    ],
  },
  {
    name: 'namespace selector by the metadata.name label, with matchExpressions',
    policies: [
      np('from-named', {
        podSelector: {},
        ingress: [
          {
            _from: [
              {
                namespaceSelector: {
                  matchExpressions: [
                    { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-b', 'nope'] },
                  ],
                },
              },
            ],
          },
        ],
      }),
    ],
    expect: [
      ['team-b/b1', 'default/web', true],
      ['team-a/a1', 'default/web', false],
    ],
  },
  {
    name: 'namespaceSelector AND podSelector in one peer, versus two peers (OR)',
    policies: [
      np('and', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [
          {
            _from: [
              { namespaceSelector: {}, podSelector: { matchLabels: { app: 'client' } } }, // clients anywhere
            ],
          },
        ],
      }),
      np('or', {
        podSelector: { matchLabels: { app: 'api' } },
        ingress: [
          {
            _from: [
              { namespaceSelector: { matchLabels: { team: 'a' } } },
              { podSelector: { matchLabels: { app: 'web' } } },
            ],
          },
        ],
      }),
    ],
    expect: [
      ['team-a/a1', 'default/web', true],
      ['team-b/b1', 'default/web', true],
      ['default/api', 'default/web', false],
      ['team-a/a1', 'default/api', true],
      ['default/web', 'default/api', true],
      ['default/client', 'default/api', false],
      ['team-b/b1', 'default/api', false],
    ],
  },
  {
    name: 'egress to an ipBlock with except',
    policies: [
      np('egress-block', {
        podSelector: { matchLabels: { app: 'client' } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '10.16.0.0/16', except: ['10.16.0.10/32', '10.16.2.0/24'] } }] }],
      }),
    ],
    expect: [
      ['default/client', 'default/api', true],
      ['default/client', 'team-a/a1', true],
      ['default/client', 'default/web', false],
      ['default/client', 'team-b/b1', false],
      // not selected: free
      ['default/web', 'team-b/b1', true],
    ],
  },
  {
    name: "an ipBlock's except does not cancel another peer of the same rule; host bits are normalised",
    policies: [
      np('mixed', {
        podSelector: { matchLabels: { app: 'client' } },
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              { ipBlock: { cidr: '10.16.7.7/16', except: ['10.16.0.0/24'] } },
              { podSelector: { matchLabels: { app: 'web' } } },
            ],
          },
        ],
      }),
    ],
    expect: [
      ['default/client', 'default/web', true],
      ['default/client', 'default/api', false],
      ['default/client', 'team-a/a1', true],
    ],
  },
  {
    name: 'ingress from an ipBlock',
    policies: [
      np('from-block', {
        podSelector: {},
        ingress: [{ _from: [{ ipBlock: { cidr: '10.16.1.0/24' } }] }],
      }),
    ],
    expect: [
      ['team-a/a1', 'default/web', true],
      ['team-b/b1', 'default/web', false],
    ],
  },
  {
    name: 'numbered ports, protocols and endPort ranges',
    policies: [
      np('ports', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [
          {
            ports: [
              { port: 80 },
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 1000, endPort: 1010 },
              { protocol: 'SCTP' },
            ],
          },
        ],
      }),
    ],
    expect: [
      ['default/client', 'default/web', true, 80],
      ['default/client', 'default/web', false, 81],
      ['default/client', 'default/web', false, 80, 'udp'],
      ['default/client', 'default/web', true, 53, 'udp'],
      ['default/client', 'default/web', false, 53, 'tcp'],
      ['default/client', 'default/web', true, 1000],
      ['default/client', 'default/web', true, 1010],
      ['default/client', 'default/web', false, 1011],
      ['default/client', 'default/web', true, 9999, 'sctp'],
      ['default/client', 'default/web', false, 0, 'icmp'],
    ],
  },
  {
    name: 'named ports resolve per destination pod (ingress)',
    policies: [
      np('named', {
        podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] },
        ingress: [
          { _from: [{ podSelector: {} }], ports: [{ port: 'http' }, { port: 'dns', protocol: 'UDP' }] },
        ],
      }),
    ],
    expect: [
      ['default/client', 'default/web', true, 8080],
      ['default/client', 'default/web', false, 9090],
      ['default/client', 'default/api', true, 9090],
      ['default/client', 'default/api', false, 8080],
      ['default/client', 'default/api', true, 53, 'udp'],
      ['default/client', 'default/api', false, 53, 'tcp'],
      ['default/client', 'default/web', false, 53, 'udp'],
    ],
  },
  {
    name: "named ports on egress resolve on the peer; an open rule's named port on any pod",
    policies: [
      np('egress-named', {
        podSelector: { matchLabels: { app: 'client' } },
        policyTypes: ['Egress'],
        egress: [
          { to: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 'http' }] },
          { ports: [{ port: 'dns', protocol: 'UDP' }] },
        ],
      }),
    ],
    expect: [
      ['default/client', 'default/web', true, 8080],
      ['default/client', 'default/web', false, 80],
      ['default/client', 'default/api', false, 9090],
      ['default/client', 'default/api', true, 53, 'udp'],
      ['default/client', 'team-b/b1', false, 7070],
    ],
  },
  {
    name: 'policies add up: one denies all, another lets a namespace in',
    policies: [
      np('deny', { podSelector: {}, policyTypes: ['Ingress'] }),
      np('allow-a', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ _from: [{ namespaceSelector: { matchLabels: { team: 'a' } } }] }],
      }),
      np('allow-b-80', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ _from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }], ports: [{ port: 80 }] }],
      }),
    ],
    expect: [
      ['team-a/a1', 'default/web', true],
      ['team-b/b1', 'default/web', true, 80],
      ['team-b/b1', 'default/web', false, 81],
      ['default/client', 'default/web', false],
      ['team-a/a1', 'default/api', false],
    ],
  },
  {
    name: 'an empty rule allows everything in; a rule with ports and no peers allows the port from anywhere',
    policies: [
      np('open', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{}] }),
      np('port-only', {
        podSelector: { matchLabels: { app: 'api' } },
        ingress: [{ ports: [{ port: 443 }] }],
      }),
    ],
    expect: [
      ['team-b/b1', 'default/web', true, 1234],
      ['team-b/b1', 'default/api', true, 443],
      ['team-b/b1', 'default/api', false, 444],
    ],
  },
  {
    name: 'egress deny leaves ingress to the same pods alone; ingress and egress both must allow',
    policies: [
      np('client-egress', {
        podSelector: { matchLabels: { app: 'client' } },
        egress: [{ to: [{ podSelector: { matchLabels: { app: 'web' } } }] }],
      }),
      np('web-ingress', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ _from: [{ namespaceSelector: { matchLabels: { team: 'a' } } }] }],
      }),
    ],
    expect: [
      // egress rules without policyTypes: both directions are isolated for the clients
      ['default/web', 'default/client', false],
      ['default/client', 'default/web', false],
      ['team-a/a1', 'default/web', true],
      ['default/client', 'default/api', false],
    ],
  },
];

describe('upstream NetworkPolicy semantics, evaluated on the ACLs', () => {
  test.each(CASES)('$name', ({ policies, expect: cases }) => {
    const got = cases.map(([from, to, , dport, proto]) => allowed(policies, from, to, dport, proto));
    expect(got).toEqual(cases.map((c) => c[2]));
  });
});

describe('policies as a watch delivers them', () => {
  test('an ingress rule with `from` (raw JSON) is the same as one with `_from` (decoded by client-node)', () => {
    const raw = np('same-ns', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] } as never] });
    expect(allowed([raw], 'default/client', 'default/web')).toBe(true);
    expect(allowed([raw], 'team-a/a1', 'default/web')).toBe(false);
  });
});

describe('label changes', () => {
  const policies = [
    np('web', {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [{ _from: [{ podSelector: { matchLabels: { role: 'trusted' } } }] }],
    }),
  ];
  const relabel = (name: string, labels: Record<string, string>) =>
    PODS.map((p) => (p.name === name ? { ...p, labels } : p));

  test('a pod that gains the peer label is let in, and loses it again', () => {
    expect(allowed(policies, 'default/client', 'default/web')).toBe(false);
    const trusted = relabel('client', { app: 'client', role: 'trusted' });
    expect(allowed(policies, 'default/client', 'default/web', 80, 'tcp', trusted)).toBe(true);
  });

  test('a pod that loses the selected label is no longer isolated', () => {
    const moved = relabel('web', { app: 'other' });
    expect(allowed(policies, 'default/api', 'default/web')).toBe(false);
    expect(allowed(policies, 'default/api', 'default/web', 80, 'tcp', moved)).toBe(true);
  });

  test('only the port group and the address sets change; every ACL stays as it was', () => {
    const before = planPolicy(policies[0]!, worldOf()).rows;
    const after = planPolicy(
      policies[0]!,
      worldOf(
        relabel('client', { app: 'client', role: 'trusted' }).map((p) =>
          p.name === 'web' ? p : { ...p, labels: { ...p.labels, role: 'trusted' } },
        ),
      ),
    ).rows;
    const changed = after.filter((r) => {
      const old = before.find((b) => b.table === r.table && b.id === r.id);
      return JSON.stringify(old) !== JSON.stringify(r);
    });
    expect(changed.map((r) => r.table)).toEqual(['Address_Set']);
    expect(after.map((r) => r.id)).toEqual(before.map((r) => r.id));
  });

  test('podMatters: selected pods and peers matter, others do not', () => {
    const p = policies[0]!;
    const ns = NAMESPACES.get('default');
    expect(podMatters(p, PODS[0]!, ns)).toBe(true); // web, selected
    expect(podMatters(p, PODS[2]!, ns)).toBe(false); // client, no role
    expect(podMatters(p, { ...PODS[2]!, labels: { role: 'trusted' } }, ns)).toBe(true);
    // a trusted pod in another namespace is not a peer (pod selector alone = the policy's namespace)
    expect(podMatters(p, { ...PODS[3]!, labels: { role: 'trusted' } }, NAMESPACES.get('team-a'))).toBe(false);
  });

  test('plan.pods lists what the rows depend on', () => {
    const trusted = relabel('client', { app: 'client', role: 'trusted' });
    expect([...planPolicy(policies[0]!, worldOf(trusted)).pods].sort()).toEqual([
      'default/client',
      'default/web',
    ]);
  });
});

describe('rows', () => {
  test("Kube-OVN's shape: port group of the selected pods, address sets per rule, drop 2000 and allow 2001", () => {
    const p = np('web-allow', {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [{ _from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ port: 80 }] }],
    });
    const { rows } = planPolicy(p, worldOf());
    const pg = rows.find((r) => r.table === 'Port_Group')!;
    expect(pg.columns).toMatchObject({ name: 'np.web_allow.default', ports: ['web.default'] });
    const as = rows.filter((r) => r.table === 'Address_Set');
    expect(as.map((r) => [r.columns.name, r.columns.addresses])).toEqual([
      ['np.web_allow.default.ingress.0.ip4', ['10.16.0.12']],
    ]);
    const acls = rows.filter((r) => r.table === 'ACL').map((r) => r.columns);
    expect(acls).toEqual([
      expect.objectContaining({
        direction: 'to-lport',
        priority: 2000,
        match: 'outport == @np.web_allow.default && ip',
        action: 'drop',
      }),
      expect.objectContaining({
        priority: 2001,
        match: 'outport == @np.web_allow.default && (nd || nd_rs || nd_ra)',
      }),
      expect.objectContaining({
        priority: 2001,
        match: 'outport == @np.web_allow.default && ip4.src == 100.64.0.0/16',
        action: 'allow-related',
      }),
      expect.objectContaining({
        priority: 2001,
        match:
          'outport == @np.web_allow.default && ip4.src == $np.web_allow.default.ingress.0.ip4 && tcp.dst == 80',
        action: 'allow-related',
      }),
    ]);
    for (const r of rows.filter((x) => x.table === 'ACL'))
      expect(r.parent).toEqual({ table: 'Port_Group', id: pg.id, column: 'acls' });
    // the port group comes before the ACLs that hang off it (it may be inserted in the same transaction)
    expect(rows[0]).toBe(pg);
  });

  test('egress ACLs are from-lport on inport and applied after load balancing; DHCP requests are let out', () => {
    const { rows } = planPolicy(np('deny-out', { podSelector: {}, policyTypes: ['Egress'] }), worldOf());
    const acls = rows.filter((r) => r.table === 'ACL').map((r) => r.columns);
    expect(acls.every((a) => a.direction === 'from-lport')).toBe(true);
    expect(acls.every((a) => (a.options as Record<string, string>)['apply-after-lb'] === 'true')).toBe(true);
    expect(acls.map((a) => a.match)).toContain(
      'inport == @np.deny_out.default && ((ip4 && udp.src == 68 && udp.dst == 67) || (ip6 && udp.src == 546 && udp.dst == 547))',
    );
    expect(rows.find((r) => r.table === 'Port_Group')!.columns.ports).toEqual([
      'api.default',
      'client.default',
      'web.default',
    ]);
  });

  test('dual stack: an address set per family, both named in the match; v6 blocks and excepts by family', () => {
    const w: NetpolWorld = {
      ...worldOf([
        { ...PODS[0]!, ips: ['10.16.0.10', 'fd00::a'] },
        { ...PODS[2]!, ips: ['10.16.0.12', 'fd00::c'] },
      ]),
      families: ['ip4', 'ip6'],
      nodeCidrs: ['100.64.0.0/16', 'fd00:100:64::/112'],
    };
    const { rows } = planPolicy(
      np('dual', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [
          {
            _from: [
              { podSelector: { matchLabels: { app: 'client' } } },
              { ipBlock: { cidr: 'fd00:1::1/64', except: ['fd00:1::/80', '10.0.0.0/8'] } },
            ],
          },
        ],
      }),
      w,
    );
    expect(rows.filter((r) => r.table === 'Address_Set').map((r) => r.columns.addresses)).toEqual([
      ['10.16.0.12'],
      ['fd00::c'],
    ]);
    const matches = rows.filter((r) => r.table === 'ACL').map((r) => r.columns.match);
    expect(matches).toContain(
      'outport == @np.dual.default && (ip4.src == 100.64.0.0/16 || ip6.src == fd00:100:64::/112)',
    );
    expect(matches).toContain(
      'outport == @np.dual.default && (ip4.src == $np.dual.default.ingress.0.ip4 || ip6.src == $np.dual.default.ingress.0.ip6 || (ip6.src == fd00:1::/64 && ip6.src != {fd00:1::/80}))',
    );
  });

  test('a pod without a port yet is not in the port group, but its address is a peer', () => {
    const pods = PODS.map((p) => (p.name === 'client' ? { ...p, port: undefined } : p));
    const { rows } = planPolicy(
      np('p', {
        podSelector: {},
        ingress: [{ _from: [{ podSelector: { matchLabels: { app: 'client' } } }] }],
      }),
      worldOf(pods),
    );
    expect(rows[0]!.columns.ports).toEqual(['api.default', 'web.default']);
    expect(rows.find((r) => r.table === 'Address_Set')!.columns.addresses).toEqual(['10.16.0.12']);
  });

  test('a rule whose peers select no namespace still gets its (empty) set: the ACLs do not depend on who matches', () => {
    const { rows } = planPolicy(
      np('nobody', {
        podSelector: {},
        ingress: [{ _from: [{ namespaceSelector: { matchLabels: { team: 'z' } } }] }],
      }),
      worldOf(),
    );
    expect(rows.find((r) => r.table === 'Address_Set')!.columns.addresses).toEqual([]);
    expect(
      allowed(
        [
          np('nobody', {
            podSelector: {},
            ingress: [{ _from: [{ namespaceSelector: { matchLabels: { team: 'z' } } }] }],
          }),
        ],
        'team-a/a1',
        'default/web',
      ),
    ).toBe(false);
  });

  test('every row is owned per policy with stable ids; every name is a valid OVN identifier of at most 63', () => {
    const long = `${'x'.repeat(200)}-y`;
    const { rows } = planPolicy(
      np(long, {
        podSelector: {},
        ingress: [{ _from: [{ podSelector: {} }], ports: [{ port: 'http' }] }],
        egress: [{ to: [{ podSelector: {} }] }],
      }),
      worldOf(),
    );
    const names = rows.filter((r) => r.table !== 'ACL').map((r) => r.columns.name as string);
    for (const n of names) {
      expect(n).toMatch(/^[a-zA-Z_.][a-zA-Z_.0-9]*$/);
      expect(n.length).toBeLessThanOrEqual(MAX_NAME);
    }
    expect(new Set(names).size).toBe(names.length);
    for (const r of rows.filter((x) => x.table === 'ACL'))
      expect((r.columns.name as string).length).toBeLessThanOrEqual(63);
    const ids = rows.map((r) => `${r.table}|${r.id}`);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('names', () => {
  test('one port group per policy: "a-b" in "c" and "a" in "b-c" differ (Kube-OVN would give both a.b.c)', () => {
    expect(new PolicyNames('c', 'a-b').portGroup).toBe('np.a_b.c');
    expect(new PolicyNames('b-c', 'a').portGroup).toBe('np.a.b_c');
  });

  test('long names are cut and end in a hash of the whole name', () => {
    const a = ovnName(`np.${'a'.repeat(80)}.x`);
    const b = ovnName(`np.${'a'.repeat(80)}.y`);
    expect(a.length).toBe(MAX_NAME);
    expect(a).not.toBe(b);
    expect(ovnName('9lives')).toBe('_9lives');
  });
});

describe('policyTypes and selectors', () => {
  test('defaulting as the API server does', () => {
    expect(policyTypes(np('a', { podSelector: {} }))).toEqual({ ingress: true, egress: false });
    expect(policyTypes(np('a', { podSelector: {}, egress: [{}] }))).toEqual({ ingress: true, egress: true });
    expect(policyTypes(np('a', { podSelector: {}, policyTypes: ['Egress'] }))).toEqual({
      ingress: false,
      egress: true,
    });
  });

  test.each([
    [{}, { a: '1' }, true],
    [{ matchLabels: { a: '1' } }, { a: '1', b: '2' }, true],
    [{ matchLabels: { a: '1' } }, { a: '2' }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] }, { a: '2' }, true],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['1'] }] }, {}, false],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, {}, true],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, { a: '1' }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, { a: '' }, true],
    [{ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, { a: '' }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'Bogus' }] }, { a: '' }, false],
  ])('selector %j on %j: %s', (sel, labels, want) => {
    expect(selects(sel, labels)).toBe(want);
  });
});
