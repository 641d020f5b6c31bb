import { describe, expect, test } from 'vitest';
import {
  hostSideBatch,
  ownerAlias,
  type PodInterfaceSpec,
  parseOwnerAlias,
  podSideBatch,
  validatePodInterface,
} from '../../../src/daemon/pod-netdev-commands.ts';

const spec: PodInterfaceSpec = {
  podNetns: '/var/run/netns/cni-1',
  hostIf: '0123456789ab_h',
  podIf: 'eth0',
  mac: '0a:58:0a:10:00:05',
  mtu: 1400,
  addresses: ['10.16.0.5/16', 'fd00:10:16::5/64'],
  gateways: ['10.16.0.1', 'fd00:10:16::1'],
  routes: [{ dst: '10.96.0.0/12', gw: '10.16.0.254' }, { dst: '10.18.0.0/16' }],
};

describe('scripts', () => {
  test('host side: one link add with the peer straight in the pod netns, alias when owned', () => {
    expect(hostSideBatch(spec, '/proc/42/ns/net')).toBe(
      'link add name 0123456789ab_h mtu 1400 up type veth peer name eth0 address 0a:58:0a:10:00:05 ' +
        'mtu 1400 netns /proc/42/ns/net\n',
    );
    const owned = hostSideBatch({ ...spec, owner: { containerId: 'abc', ifName: 'eth0' } }, '/x');
    expect(owned.split('\n')[1]).toBe('link set dev 0123456789ab_h alias ovnk:abc:eth0');
  });

  test('pod side: addresses (IPv6 without DAD), up, routes, then the show', () => {
    expect(podSideBatch(spec).split('\n')).toEqual([
      'link set lo up',
      'addr add 10.16.0.5/16 dev eth0',
      'addr add fd00:10:16::5/64 dev eth0 nodad',
      'link set dev eth0 up',
      'route replace default via 10.16.0.1 dev eth0',
      'route replace default via fd00:10:16::1 dev eth0',
      'route replace 10.96.0.0/12 via 10.16.0.254 dev eth0',
      'route replace 10.18.0.0/16 dev eth0',
      'addr show dev eth0',
      '',
    ]);
  });
});

describe('validatePodInterface', () => {
  test('accepts the example', () => {
    expect(() => validatePodInterface(spec)).not.toThrow();
  });

  test.each<[string, Partial<PodInterfaceSpec>]>([
    ['a newline in a name (a second batch command)', { podIf: 'eth0\nlink del lo' }],
    ['a space in a name', { hostIf: 'a b' }],
    ['a quote in a name', { podIf: 'e"th0' }],
    ['a name over 15 characters', { hostIf: '0123456789abcdef' }],
    ['a space in the netns path', { podNetns: '/run/netns/a b' }],
    ['a comment sign in the netns path', { nodeNetns: '/run/netns/a#b' }],
    ['a bad MAC', { mac: '0a:58:0a:10:00' }],
    ['a bad MTU', { mtu: 1400.5 }],
    ['an address without a prefix', { addresses: ['10.16.0.5'] }],
    ['a prefix too long', { addresses: ['10.16.0.5/33'] }],
    ['no address', { addresses: [] }],
    ['two IPv4 gateways', { gateways: ['10.16.0.1', '10.16.0.2'] }],
    ['a gateway that is not an address', { gateways: ['10.16.0.1 dev lo'] }],
    ['a route mixing families', { routes: [{ dst: '10.96.0.0/12', gw: 'fd00::1' }] }],
    ['an owner with a space', { owner: { containerId: 'a b', ifName: 'eth0' } }],
  ])('rejects %s', (_what, change) => {
    expect(() => validatePodInterface({ ...spec, ...change })).toThrow(
      expect.objectContaining({ code: 'NETDEV_INVALID' }),
    );
  });
});

test('owner alias round trip', () => {
  const owner = { containerId: 'c0ffee', ifName: 'net1' };
  expect(parseOwnerAlias(ownerAlias(owner))).toEqual(owner);
  expect(parseOwnerAlias('something else')).toBeUndefined();
  expect(parseOwnerAlias(undefined)).toBeUndefined();
  expect(parseOwnerAlias('ovnk:nocolon')).toBeUndefined();
});
