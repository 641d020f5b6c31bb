// The node's masquerade table: what the Subnets ask for, the nft script, and the comparison of a live
// table (`nft -j list table ip ovnk` output as nftables 1.0.6 prints it) with the desired one.
import { describe, expect, test } from 'vitest';
import type { Subnet } from '../../../src/controller/k8s/types.ts';
import {
  desiredNat,
  desiredSummary,
  liveSummary,
  natScript,
  normalizeV4Cidrs,
} from '../../../src/daemon/nat.ts';

function subnet(name: string, spec: Record<string, unknown>, validated = true): Subnet {
  return {
    metadata: { name },
    spec: { cidrBlock: '', ...spec } as Subnet['spec'],
    status: { conditions: [{ type: 'Validated', status: validated ? 'True' : 'False' }] },
  };
}

/** What nft 1.0.6 printed for the table natScript() made from LIVE_STATE (captured on this machine). */
const LIVE_STATE = {
  sources: ['10.16.0.0/16'],
  cluster: ['10.16.0.0/16', '10.96.0.0/12', '100.64.0.0/16'],
  services: ['10.96.0.0/12'],
};
const LIVE_JSON = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    { table: { family: 'ip', name: 'ovnk', handle: 2 } },
    {
      set: {
        family: 'ip',
        name: 'cluster',
        table: 'ovnk',
        type: 'ipv4_addr',
        handle: 2,
        flags: ['interval'],
        elem: [
          { prefix: { addr: '10.16.0.0', len: 16 } },
          { prefix: { addr: '10.96.0.0', len: 12 } },
          { prefix: { addr: '100.64.0.0', len: 16 } },
        ],
      },
    },
    {
      set: {
        family: 'ip',
        name: 'nat_sources',
        table: 'ovnk',
        type: 'ipv4_addr',
        handle: 3,
        flags: ['interval'],
        elem: [{ prefix: { addr: '10.16.0.0', len: 16 } }],
      },
    },
    {
      set: {
        family: 'ip',
        name: 'services',
        table: 'ovnk',
        type: 'ipv4_addr',
        handle: 4,
        flags: ['interval'],
        elem: [{ prefix: { addr: '10.96.0.0', len: 12 } }],
      },
    },
    {
      chain: {
        family: 'ip',
        table: 'ovnk',
        name: 'postrouting',
        handle: 1,
        type: 'nat',
        hook: 'postrouting',
        prio: 100,
        policy: 'accept',
      },
    },
    {
      rule: {
        family: 'ip',
        table: 'ovnk',
        chain: 'postrouting',
        handle: 5,
        expr: [
          {
            match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@nat_sources' },
          },
          { match: { op: '!=', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: '@cluster' } },
          { masquerade: null },
        ],
      },
    },
    {
      rule: {
        family: 'ip',
        table: 'ovnk',
        chain: 'postrouting',
        handle: 6,
        expr: [
          { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'ovn0' } },
          { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@cluster' } },
          { match: { op: '==', left: { ct: { key: 'ip daddr', dir: 'original' } }, right: '@services' } },
          { masquerade: null },
        ],
      },
    },
  ],
});

describe('desiredNat', () => {
  test('natOutgoing subnets of the default VPC are sources; every default-VPC subnet and Services are cluster', () => {
    const want = desiredNat(
      [
        subnet('ovn-default', { cidrBlock: '10.16.0.0/16', natOutgoing: true }),
        subnet('join', { cidrBlock: '100.64.0.0/16', natOutgoing: true }),
        subnet('plain', { cidrBlock: '10.17.0.0/16' }),
        subnet('dual', { cidrBlock: '10.18.0.5/24,fd00::/64', natOutgoing: true }),
        subnet('custom', { cidrBlock: '10.30.0.0/24', natOutgoing: true, vpc: 'vpc-a' }),
        subnet('invalid', { cidrBlock: '10.40.0.0/24', natOutgoing: true }, false),
      ],
      'join',
    );
    expect(want).toEqual({
      sources: ['10.16.0.0/16', '10.18.0.0/24'],
      cluster: ['10.16.0.0/16', '10.17.0.0/16', '10.18.0.0/24', '10.96.0.0/12', '100.64.0.0/16'],
      services: ['10.96.0.0/12'],
    });
  });

  test('a subnet being deleted no longer counts', () => {
    const s = subnet('ovn-default', { cidrBlock: '10.16.0.0/16', natOutgoing: true });
    s.metadata!.deletionTimestamp = new Date();
    expect(desiredNat([s], 'join', []).sources).toEqual([]);
  });
});

describe('normalizeV4Cidrs', () => {
  test('network addresses, sorted, duplicates and prefixes inside others dropped, v6 and junk ignored', () => {
    expect(
      normalizeV4Cidrs([
        '10.96.0.0/12',
        '10.16.0.9/16',
        '10.100.0.0/16',
        '10.16.0.0/16',
        '::/0',
        'x',
        '1.2.3.4',
      ]),
    ).toEqual(['1.2.3.4/32', '10.16.0.0/16', '10.96.0.0/12']);
  });
});

describe('the table', () => {
  test('the script replaces the whole table in one transaction, empty sets without elements', () => {
    const script = natScript({ sources: [], cluster: ['10.16.0.0/16'], services: ['10.96.0.0/12'] });
    expect(script.split('\n').slice(0, 3)).toEqual([
      'table ip ovnk',
      'delete table ip ovnk',
      'table ip ovnk {',
    ]);
    expect(script).toContain('set nat_sources { type ipv4_addr; flags interval; }');
    expect(script).toContain('elements = { 10.16.0.0/16 }');
    expect(script).toContain('ip saddr @nat_sources ip daddr != @cluster masquerade');
    // kube-proxy's Service connections from pods come back through the node
    expect(script).toContain('iifname "ovn0" ip saddr @cluster ct original ip daddr @services masquerade');
  });

  test('a live table equal to the desired one compares equal; any drift does not', () => {
    expect(liveSummary(LIVE_JSON)).toBe(desiredSummary(LIVE_STATE));
    expect(liveSummary(LIVE_JSON)).not.toBe(desiredSummary({ ...LIVE_STATE, sources: [] }));
    const tampered = JSON.parse(LIVE_JSON) as { nftables: Record<string, { expr?: unknown[] }>[] };
    tampered.nftables[6]!.rule!.expr = [{ accept: null }];
    expect(liveSummary(JSON.stringify(tampered))).not.toBe(desiredSummary(LIVE_STATE));
    tampered.nftables.pop();
    expect(liveSummary(JSON.stringify(tampered))).not.toBe(desiredSummary(LIVE_STATE));
  });

  test('single addresses (printed without a prefix) compare as /32', () => {
    const json = LIVE_JSON.replace('{"prefix":{"addr":"10.16.0.0","len":16}}]}}', '"10.16.0.5"]}}');
    expect(json).not.toBe(LIVE_JSON);
    expect(liveSummary(json)).toBe(desiredSummary({ ...LIVE_STATE, sources: ['10.16.0.5/32'] }));
  });
});
