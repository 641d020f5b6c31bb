// The comparison half of CHECK on hand-made `ip -j` output; the integration test drives it on real links.
import { describe, expect, test } from 'vitest';
import type { IpLink } from '../../../src/daemon/ip-json.ts';
import { type ObservedPodInterface, podInterfaceProblems } from '../../../src/daemon/pod-netdev-check.ts';
import type { PodInterfaceSpec } from '../../../src/daemon/pod-netdev-commands.ts';

const spec: PodInterfaceSpec = {
  podNetns: '/var/run/netns/cni-1',
  hostIf: 'c0ffee_h',
  podIf: 'eth0',
  mac: '0A:58:0A:10:00:05',
  mtu: 1400,
  addresses: ['10.16.0.5/16', 'fd00:10:16:0:0::5/64'],
  gateways: ['10.16.0.1', 'fd00:10:16::1'],
  routes: [{ dst: '10.96.0.10/32', gw: '10.16.0.254' }],
};

const host: IpLink = {
  ifindex: 9,
  ifname: 'c0ffee_h',
  flags: ['UP'],
  mtu: 1400,
  link_index: 2,
  linkinfo: { info_kind: 'veth' },
};
const pod = (change: Partial<IpLink> = {}): IpLink => ({
  ifindex: 2,
  ifname: 'eth0',
  flags: ['UP'],
  mtu: 1400,
  address: '0a:58:0a:10:00:05',
  link_index: 9,
  linkinfo: { info_kind: 'veth' },
  addr_info: [
    { family: 'inet', local: '10.16.0.5', prefixlen: 16, scope: 'global' },
    { family: 'inet6', local: 'fd00:10:16::5', prefixlen: 64, scope: 'global' },
    { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link', tentative: true },
  ],
  ...change,
});
const seen = (change: Partial<ObservedPodInterface> = {}): ObservedPodInterface => ({
  host,
  podNetnsExists: true,
  podLinks: [{ ifindex: 1, ifname: 'lo', flags: ['UP'], mtu: 65536 }, pod()],
  routes: {
    4: [
      { dst: 'default', gateway: '10.16.0.1', dev: 'eth0' },
      { dst: '10.96.0.10', gateway: '10.16.0.254', dev: 'eth0' },
    ],
    6: [{ dst: 'default', gateway: 'fd00:10:16:0::1', dev: 'eth0' }],
  },
  txChecksumming: false,
  ...change,
});

describe('podInterfaceProblems', () => {
  test('none when it matches, whatever the spelling of MACs, IPv6 addresses and host routes', () => {
    expect(podInterfaceProblems(spec, seen())).toEqual([]);
  });

  test('a tentative or DAD-failed address is not usable; a link-local one is ignored', () => {
    const links = [
      pod({
        addr_info: [
          { family: 'inet', local: '10.16.0.5', prefixlen: 16, scope: 'global' },
          { family: 'inet6', local: 'fd00:10:16::5', prefixlen: 64, scope: 'global', dadfailed: true },
        ],
      }),
    ];
    expect(podInterfaceProblems(spec, seen({ podLinks: links }))).toEqual([
      'eth0 address fd00:10:16::5/64 is not usable (DAD)',
    ]);
  });

  test('a pod interface of another kind, and a route on another device', () => {
    const links = [pod({ linkinfo: { info_kind: 'macvlan' } })];
    const routes = {
      4: [
        { dst: 'default', gateway: '10.16.0.1', dev: 'eth1' },
        { dst: '10.96.0.10', gateway: '10.16.0.254', dev: 'eth0' },
      ],
      6: seen().routes[6],
    };
    expect(podInterfaceProblems(spec, seen({ podLinks: links, routes }))).toEqual([
      'eth0 is not a veth',
      'no route 0.0.0.0/0 via 10.16.0.1 dev eth0',
    ]);
  });

  test('offload state unknown is not reported', () => {
    expect(podInterfaceProblems(spec, seen({ txChecksumming: undefined }))).toEqual([]);
  });
});
