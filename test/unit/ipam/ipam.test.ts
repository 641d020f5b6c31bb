import { describe, expect, test } from 'vitest';
import {
  type AllocateRequest,
  type Allocation,
  Ipam,
  IpamError,
  type SubnetSpec,
} from '../../../src/ipam/index.ts';

/** The error an action throws (fails the test when it does not throw an IpamError). */
function errorOf(fn: () => unknown): IpamError {
  try {
    fn();
  } catch (e) {
    if (e instanceof IpamError) return e;
    throw e;
  }
  throw new Error('expected an IpamError');
}

function ipamWith(...specs: SubnetSpec[]): Ipam {
  const ipam = new Ipam();
  for (const spec of specs) ipam.setSubnet(spec);
  return ipam;
}

const alloc = (ipam: Ipam, subnet: string, owner: string, extra: Partial<AllocateRequest> = {}) =>
  ipam.allocate({ subnet, owner, ...extra });

const KUBE_OVN_CASE: SubnetSpec = {
  name: 'case',
  cidrBlock: '10.0.0.0/24',
  gateway: '10.0.0.254',
  excludeIps: ['10.0.0.2', '10.0.0.4', '10.0.0.100', '10.0.0.252..10.0.0.254'],
};

describe('allocation order', () => {
  test('first allocation is 10.0.0.1 when the gateway is elsewhere, then the lowest free', () => {
    const ipam = ipamWith(KUBE_OVN_CASE);
    const got = ['a', 'b', 'c', 'd'].map((o) => alloc(ipam, 'case', `${o}.default`).ipv4);
    expect(got).toEqual(['10.0.0.1', '10.0.0.3', '10.0.0.5', '10.0.0.6']);
  });

  test('the default gateway is the first usable address and is never handed out', () => {
    const ipam = ipamWith({ name: 'ovn-default', cidrBlock: '10.16.0.0/16' });
    expect(ipam.subnetInfo('ovn-default')).toMatchObject({
      protocol: 'IPv4',
      gateway: '10.16.0.1',
      excludeIps: ['10.16.0.1'],
    });
    expect(alloc(ipam, 'ovn-default', 'p.ns').ipv4).toBe('10.16.0.2');
  });

  test('released addresses are not reused before never-used ones are exhausted, then oldest first', () => {
    const ipam = ipamWith({ name: 's', cidrBlock: '10.0.0.0/29' }); // .2 .. .6 usable
    for (const o of ['a', 'b', 'c']) alloc(ipam, 's', o); // .2 .3 .4
    ipam.release('s', 'b'); // .3 parked
    ipam.release('s', 'a'); // .2 parked
    expect(alloc(ipam, 's', 'd').ipv4).toBe('10.0.0.5');
    expect(alloc(ipam, 's', 'e').ipv4).toBe('10.0.0.6');
    expect(alloc(ipam, 's', 'f').ipv4).toBe('10.0.0.3'); // released first
    expect(alloc(ipam, 's', 'g').ipv4).toBe('10.0.0.2');
    expect(errorOf(() => alloc(ipam, 's', 'h')).code).toBe('IPAM_SUBNET_EXHAUSTED');
  });

  test('released IPv4 addresses are parked unless excluded meanwhile, around every exclude boundary', () => {
    const ipam = ipamWith({
      name: 's',
      cidrBlock: '10.0.0.0/27', // .1 (gateway) .. .30
      excludeIps: ['10.0.0.4..10.0.0.6', '10.0.0.9', '10.0.0.12..10.0.0.14'],
    });
    const statics = ['10.0.0.3', '10.0.0.7', '10.0.0.8', '10.0.0.10', '10.0.0.11', '10.0.0.15'];
    for (const [i, ip] of statics.entries()) alloc(ipam, 's', `s${i}`, { ips: ip });
    const change = ipam.setSubnet({
      name: 's',
      cidrBlock: '10.0.0.0/27',
      excludeIps: ['10.0.0.4..10.0.0.6', '10.0.0.7..10.0.0.8', '10.0.0.9', '10.0.0.12..10.0.0.15'],
    });
    expect(change.conflicts.map((c) => c.ip)).toEqual(['10.0.0.7', '10.0.0.8', '10.0.0.15']);
    for (const i of [5, 0, 1, 3, 2, 4]) ipam.release('s', `s${i}`); // .15 .3 .7 .10 .8 .11
    expect(ipam.status('s')).toMatchObject({ v4usingIPs: 0, v4availableIPs: 30 - 1 - 3 - 2 - 1 - 4 });
    const got = Array.from({ length: 19 }, (_, i) => alloc(ipam, 's', `d${i}`).ipv4);
    const fresh = ['10.0.0.2', ...Array.from({ length: 15 }, (_, i) => `10.0.0.${16 + i}`)];
    expect(got).toEqual([...fresh, '10.0.0.3', '10.0.0.10', '10.0.0.11']); // parked, in release order
    expect(errorOf(() => alloc(ipam, 's', 'x')).code).toBe('IPAM_SUBNET_EXHAUSTED');
  });

  test('a just-released address goes to a new owner only when nothing else is left', () => {
    const ipam = ipamWith({ name: 's', cidrBlock: '10.0.0.0/24' });
    const first = alloc(ipam, 's', 'a').ipv4;
    ipam.release('s', 'a');
    expect(alloc(ipam, 's', 'b').ipv4).not.toBe(first);
  });

  test('asking again for the same owner returns the same addresses and MAC', () => {
    const ipam = ipamWith({ name: 'd', cidrBlock: '10.0.0.0/24,fd00::/120' });
    const a = alloc(ipam, 'd', 'vm1.ns');
    expect(alloc(ipam, 'd', 'vm1.ns')).toEqual(a);
    expect(ipam.get('d', 'vm1.ns')).toEqual(a);
    expect(a.ipAddress).toBe(`${a.ipv4},${a.ipv6}`);
    expect(ipam.status('d')).toMatchObject({ v4usingIPs: 1, v6usingIPs: 1 });
  });

  test('owners of different kinds are independent keys', () => {
    const ipam = ipamWith({ name: 'join', cidrBlock: '100.64.0.0/16', gateway: '100.64.0.1' });
    const owners = ['pod.ns', 'vm.ns', 'node-worker1', 'pod.ns.attach.ns.ovn'];
    const ips = owners.map((o) => alloc(ipam, 'join', o).ipv4);
    expect(new Set(ips).size).toBe(4);
    expect(ipam.ownerOfIp('join', ips[2]!)).toBe('node-worker1');
  });
});

describe('dual stack', () => {
  test('allocates both families', () => {
    const ipam = ipamWith({
      name: 'd',
      cidrBlock: '10.0.0.0/24,fd00:10:16::/64',
      gateway: '10.0.0.1,fd00:10:16::1',
    });
    expect(alloc(ipam, 'd', 'a')).toMatchObject({ ipv4: '10.0.0.2', ipv6: 'fd00:10:16::2' });
  });

  test('with the IPv6 side exhausted it fails and leaves no IPv4 address taken', () => {
    const ipam = ipamWith({ name: 'd', cidrBlock: '10.0.0.0/24,fd00::/126' }); // one usable v6: fd00::2
    alloc(ipam, 'd', 'a');
    const before = ipam.status('d');
    const e = errorOf(() => alloc(ipam, 'd', 'b'));
    expect(e.code).toBe('IPAM_SUBNET_EXHAUSTED');
    expect(e.message).toContain('IPv6');
    expect(ipam.status('d')).toEqual(before);
    expect(ipam.get('d', 'b')).toBeUndefined();
    expect(ipam.ownerOfIp('d', '10.0.0.3')).toBeUndefined();
    // and the IPv4 address it would have taken is still the next one
    ipam.release('d', 'a');
    expect(alloc(ipam, 'd', 'c').ipv4).toBe('10.0.0.3');
  });

  test('a static address of one family picks the other', () => {
    const ipam = ipamWith({ name: 'd', cidrBlock: '10.0.0.0/24,fd00::/120' });
    expect(alloc(ipam, 'd', 'a', { ips: 'fd00::80' })).toMatchObject({ ipv4: '10.0.0.2', ipv6: 'fd00::80' });
    expect(alloc(ipam, 'd', 'b', { ips: ['10.0.0.9', 'fd00::9'] })).toMatchObject({
      ipv4: '10.0.0.9',
      ipv6: 'fd00::9',
    });
  });

  test('a failing static IPv6 leaves the IPv4 side untouched', () => {
    const ipam = ipamWith({ name: 'd', cidrBlock: '10.0.0.0/24,fd00::/120' });
    expect(errorOf(() => alloc(ipam, 'd', 'a', { ips: '10.0.0.9,fd00::1' })).code).toBe('IPAM_IP_IS_GATEWAY');
    expect(ipam.status('d').v4usingIPs).toBe(0);
    expect(alloc(ipam, 'd', 'b', { ips: '10.0.0.9' }).ipv4).toBe('10.0.0.9');
  });
});

describe('/31 and /32', () => {
  test('/31 is point-to-point: both addresses usable, the first is the default gateway', () => {
    const ipam = ipamWith({ name: 'p2p', cidrBlock: '10.0.0.6/31' });
    expect(ipam.subnetInfo('p2p')).toMatchObject({ cidrBlock: '10.0.0.6/31', gateway: '10.0.0.6' });
    expect(ipam.status('p2p')).toMatchObject({ v4availableIPs: 1, v4availableIPrange: '10.0.0.7' });
    expect(alloc(ipam, 'p2p', 'a').ipv4).toBe('10.0.0.7');
    expect(errorOf(() => alloc(ipam, 'p2p', 'b')).code).toBe('IPAM_SUBNET_EXHAUSTED');
  });

  test('/31 with the upper address as gateway hands out the lower one', () => {
    const ipam = ipamWith({ name: 'p2p', cidrBlock: '10.0.0.6/31', gateway: '10.0.0.7' });
    expect(alloc(ipam, 'p2p', 'a').ipv4).toBe('10.0.0.6');
  });

  test('/32 is a host: its one address is handed out, there is no gateway', () => {
    const ipam = ipamWith({ name: 'host', cidrBlock: '10.0.0.9/32' });
    expect(ipam.subnetInfo('host')).toMatchObject({ gateway: '', excludeIps: [] });
    expect(alloc(ipam, 'host', 'a').ipv4).toBe('10.0.0.9');
    expect(errorOf(() => alloc(ipam, 'host', 'b')).code).toBe('IPAM_SUBNET_EXHAUSTED');
  });

  test('/127 and /128 behave the same way', () => {
    const ipam = ipamWith({ name: 'p', cidrBlock: 'fd00::/127' }, { name: 'h', cidrBlock: 'fd00::5/128' });
    expect(alloc(ipam, 'p', 'a').ipv6).toBe('fd00::1');
    expect(alloc(ipam, 'h', 'a').ipv6).toBe('fd00::5');
  });

  test('network and broadcast addresses are never handed out up to /30', () => {
    const ipam = ipamWith({ name: 's', cidrBlock: '10.0.0.0/30' });
    expect(alloc(ipam, 's', 'a').ipv4).toBe('10.0.0.2');
    expect(errorOf(() => alloc(ipam, 's', 'b')).code).toBe('IPAM_SUBNET_EXHAUSTED');
    for (const ip of ['10.0.0.0', '10.0.0.3']) {
      expect(errorOf(() => alloc(ipam, 's', 'c', { ips: ip })).code).toBe('IPAM_IP_OUT_OF_RANGE');
    }
  });
});

describe('static requests', () => {
  test('a static request for the gateway is rejected', () => {
    const ipam = ipamWith(KUBE_OVN_CASE);
    const e = errorOf(() => alloc(ipam, 'case', 'p', { ips: '10.0.0.254' }));
    expect(e).toMatchObject({ code: 'IPAM_IP_IS_GATEWAY', field: 'ips', value: '10.0.0.254' });
  });

  test('out of range, excluded and held-by-another-owner each have their own error', () => {
    const ipam = ipamWith(KUBE_OVN_CASE);
    alloc(ipam, 'case', 'holder', { ips: '10.0.0.50' });
    expect(errorOf(() => alloc(ipam, 'case', 'p', { ips: '10.0.1.5' })).code).toBe('IPAM_IP_OUT_OF_RANGE');
    expect(errorOf(() => alloc(ipam, 'case', 'p', { ips: '10.0.0.100' })).code).toBe('IPAM_IP_EXCLUDED');
    expect(errorOf(() => alloc(ipam, 'case', 'p', { ips: '10.0.0.252' })).code).toBe('IPAM_IP_EXCLUDED');
    const held = errorOf(() => alloc(ipam, 'case', 'p', { ips: '10.0.0.50' }));
    expect(held).toMatchObject({ code: 'IPAM_IP_CONFLICT', heldBy: 'holder', value: '10.0.0.50' });
    expect(ipam.get('case', 'p')).toBeUndefined();
  });

  test('accepted again for the same owner; a different address for it is refused', () => {
    const ipam = ipamWith(KUBE_OVN_CASE);
    const a = alloc(ipam, 'case', 'sts-0.ns', { ips: '10.0.0.50', mac: '00:00:00:1F:C5:8F' });
    expect(a).toMatchObject({ ipv4: '10.0.0.50', mac: '00:00:00:1f:c5:8f' });
    expect(alloc(ipam, 'case', 'sts-0.ns', { ips: '10.0.0.50', mac: '00:00:00:1f:c5:8f' })).toEqual(a);
    expect(alloc(ipam, 'case', 'sts-0.ns')).toEqual(a);
    expect(errorOf(() => alloc(ipam, 'case', 'sts-0.ns', { ips: '10.0.0.51' })).code).toBe(
      'IPAM_OWNER_MISMATCH',
    );
    expect(errorOf(() => alloc(ipam, 'case', 'sts-0.ns', { mac: '0a:00:00:00:00:01' })).code).toBe(
      'IPAM_OWNER_MISMATCH',
    );
  });

  test('a static address that was released and parked can be taken, and is then off the reuse queue', () => {
    const ipam = ipamWith({ name: 's', cidrBlock: '10.0.0.0/29' });
    for (const o of ['a', 'b', 'c', 'd', 'e']) alloc(ipam, 's', o); // .2 .. .6, subnet full
    ipam.release('s', 'b'); // .3
    ipam.release('s', 'c'); // .4
    expect(alloc(ipam, 's', 'x', { ips: '10.0.0.3' }).ipv4).toBe('10.0.0.3');
    ipam.release('s', 'x'); // .3 parked again, now behind .4
    expect(alloc(ipam, 's', 'y').ipv4).toBe('10.0.0.4');
    expect(alloc(ipam, 's', 'z').ipv4).toBe('10.0.0.3');
    expect(errorOf(() => alloc(ipam, 's', 'w')).code).toBe('IPAM_SUBNET_EXHAUSTED');
  });

  test('a static address ahead of the cursor is skipped by later dynamic allocations', () => {
    const ipam = ipamWith({ name: 's', cidrBlock: '10.0.0.0/29' });
    alloc(ipam, 's', 'x', { ips: '10.0.0.3' });
    expect(['a', 'b', 'c', 'd'].map((o) => alloc(ipam, 's', o).ipv4)).toEqual([
      '10.0.0.2',
      '10.0.0.4',
      '10.0.0.5',
      '10.0.0.6',
    ]);
  });

  test('static IPv6 anywhere in a /64 without materialising it', () => {
    const ipam = ipamWith({ name: 'v6', cidrBlock: 'fd00:10:16::/64' });
    const far = 'fd00:10:16:0:dead:beef:1:2';
    expect(alloc(ipam, 'v6', 'a', { ips: 'FD00:10:16:0:DEAD:BEEF:1:2' }).ipv6).toBe(far);
    expect(alloc(ipam, 'v6', 'b').ipv6).toBe('fd00:10:16::2');
    expect(ipam.ownerOfIp('v6', far)).toBe('a');
    expect(errorOf(() => alloc(ipam, 'v6', 'c', { ips: far })).code).toBe('IPAM_IP_CONFLICT');
    expect(ipam.status('v6')).toMatchObject({
      v6usingIPs: 2,
      v6availableIPs: 2 ** 64 - 2 - 1 - 2,
      v6usingIPrange: `fd00:10:16::2,${far}`,
    });
    ipam.release('v6', 'a');
    expect(ipam.ownerOfIp('v6', far)).toBeUndefined();
  });

  test('bad static input is a typed error naming the field and value', () => {
    const ipam = ipamWith({ name: 'v4', cidrBlock: '10.0.0.0/24' });
    const cases: [Partial<AllocateRequest>, string, string][] = [
      [{ ips: '10.0.0.300' }, 'IPAM_INVALID_IP', 'ips'],
      [{ ips: 'fe80::1%eth0' }, 'IPAM_INVALID_IP', 'ips'],
      [{ ips: 'fd00::1' }, 'IPAM_FAMILY_MISMATCH', 'ips'],
      [{ ips: '10.0.0.5,10.0.0.6' }, 'IPAM_FAMILY_MISMATCH', 'ips'],
      [{ mac: '01:00:5e:00:00:01' }, 'IPAM_INVALID_MAC', 'mac'],
      [{ mac: 'zz:00:00:00:00:01' }, 'IPAM_INVALID_MAC', 'mac'],
      [{ mac: '00:00:00:00:00:00' }, 'IPAM_INVALID_MAC', 'mac'],
      [{ pool: 'nope' }, 'IPAM_UNKNOWN_POOL', 'pool'],
      [{ owner: '' }, 'IPAM_INVALID_ARGUMENT', 'owner'],
      [{ subnet: 'missing' }, 'IPAM_UNKNOWN_SUBNET', 'subnet'],
    ];
    for (const [extra, code, field] of cases) {
      const e = errorOf(() => ipam.allocate({ subnet: 'v4', owner: 'p', ...extra }));
      expect({ code: e.code, field: e.field }).toEqual({ code, field });
    }
    expect(errorOf(() => ipam.allocate(null as unknown as AllocateRequest)).code).toBe(
      'IPAM_INVALID_ARGUMENT',
    );
    expect(ipam.status('v4').v4usingIPs).toBe(0);
  });
});

describe('MACs', () => {
  test('random MACs are locally administered unicast and unique across subnets', () => {
    const ipam = ipamWith({ name: 'a', cidrBlock: '10.0.0.0/22' }, { name: 'b', cidrBlock: '10.1.0.0/22' });
    const macs = new Set<string>();
    for (let i = 0; i < 500; i++) {
      for (const s of ['a', 'b']) {
        const { mac } = alloc(ipam, s, `p${i}`);
        const first = Number.parseInt(mac.slice(0, 2), 16);
        expect(first & 0b11).toBe(0b10);
        expect(mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
        macs.add(mac);
      }
    }
    expect(macs.size).toBe(1000);
  });

  test('a colliding random draw is redrawn', () => {
    // every draw is the same bytes until the fourth block: the second allocation must not reuse the first MAC
    let calls = 0;
    const ipam = new Ipam({
      randomBytes: (buf) => {
        calls++;
        buf.fill(calls < 3 ? 7 : calls);
      },
    });
    ipam.setSubnet({ name: 's', cidrBlock: '10.0.0.0/24', gatewayMac: '0a:00:00:00:00:01' });
    const a = alloc(ipam, 's', 'a').mac;
    const b = alloc(ipam, 's', 'b').mac;
    expect(a).not.toBe(b);
  });

  test('a static MAC is lower-cased; held by another owner or the gateway is rejected', () => {
    const ipam = ipamWith({ name: 's', cidrBlock: '10.0.0.0/24', gatewayMac: '0A:00:00:00:00:01' });
    expect(ipam.subnetInfo('s').gatewayMac).toBe('0a:00:00:00:00:01');
    expect(alloc(ipam, 's', 'a', { mac: 'AA-BB-CC-DD-EE-FF' }).mac).toBe('aa:bb:cc:dd:ee:ff');
    expect(errorOf(() => alloc(ipam, 's', 'b', { mac: 'aa:bb:cc:dd:ee:ff' }))).toMatchObject({
      code: 'IPAM_MAC_CONFLICT',
      heldBy: 'a',
    });
    expect(errorOf(() => alloc(ipam, 's', 'b', { mac: '0a:00:00:00:00:01' })).code).toBe(
      'IPAM_MAC_IS_GATEWAY',
    );
    expect(ipam.ownerOfMac('AA:BB:CC:DD:EE:FF')).toBe('a');
    expect(ipam.ownerOfMac('0a:00:00:00:00:01')).toBe('gateway of s');
    expect(ipam.get('s', 'b')).toBeUndefined();
  });

  test('MACs are unique across subnets too, and freed on release', () => {
    const ipam = ipamWith({ name: 'a', cidrBlock: '10.0.0.0/24' }, { name: 'b', cidrBlock: '10.1.0.0/24' });
    alloc(ipam, 'a', 'x', { mac: '02:00:00:00:00:01' });
    expect(errorOf(() => alloc(ipam, 'b', 'y', { mac: '02:00:00:00:00:01' })).code).toBe('IPAM_MAC_CONFLICT');
    ipam.release('a', 'x');
    expect(alloc(ipam, 'b', 'y', { mac: '02:00:00:00:00:01' }).mac).toBe('02:00:00:00:00:01');
  });

  test('a gateway MAC already held is refused', () => {
    const ipam = ipamWith({ name: 'a', cidrBlock: '10.0.0.0/24' });
    alloc(ipam, 'a', 'x', { mac: '02:00:00:00:00:01' });
    const e = errorOf(() =>
      ipam.setSubnet({ name: 'b', cidrBlock: '10.1.0.0/24', gatewayMac: '02:00:00:00:00:01' }),
    );
    expect(e).toMatchObject({ code: 'IPAM_MAC_CONFLICT', field: 'gatewayMac' });
  });
});

describe('ip pools', () => {
  const spec: SubnetSpec = { name: 's', cidrBlock: '10.0.0.0/24,fd00::/120' };

  test('allocation from a pool only, and exhaustion is an error, not a fallback', () => {
    const ipam = ipamWith(spec);
    ipam.setPool('s', 'p1', ['10.0.0.10', '10.0.0.20..10.0.0.21', 'fd00::40/126']);
    const got = ['a', 'b', 'c'].map((o) => alloc(ipam, 's', o, { pool: 'p1' }));
    expect(got.map((g) => g.ipv4)).toEqual(['10.0.0.10', '10.0.0.20', '10.0.0.21']);
    expect(got.map((g) => g.ipv6)).toEqual(['fd00::40', 'fd00::41', 'fd00::42']);
    const e = errorOf(() => alloc(ipam, 's', 'd', { pool: 'p1' }));
    expect(e).toMatchObject({ code: 'IPAM_POOL_EXHAUSTED', value: 'p1' });
    expect(ipam.get('s', 'd')).toBeUndefined();
  });

  test("pool addresses are not handed out to requests that don't name the pool", () => {
    const ipam = ipamWith({ name: 's', cidrBlock: '10.0.0.0/29' }); // .2 .. .6
    ipam.setPool('s', 'p', ['10.0.0.2..10.0.0.3']);
    expect(['a', 'b', 'c'].map((o) => alloc(ipam, 's', o).ipv4)).toEqual([
      '10.0.0.4',
      '10.0.0.5',
      '10.0.0.6',
    ]);
    expect(errorOf(() => alloc(ipam, 's', 'd')).code).toBe('IPAM_SUBNET_EXHAUSTED');
    expect(ipam.poolStatus('s', 'p')).toMatchObject({ v4AvailableIPs: 2, v4UsingIPs: 0 });
  });

  test('a pool lacking a family is exhausted for it in a dual-stack subnet', () => {
    const ipam = ipamWith(spec);
    ipam.setPool('s', 'v4only', ['10.0.0.10']);
    expect(errorOf(() => alloc(ipam, 's', 'a', { pool: 'v4only' }))).toMatchObject({
      code: 'IPAM_POOL_EXHAUSTED',
      message: expect.stringContaining('IPv6'),
    });
    expect(ipam.status('s').v4usingIPs).toBe(0);
  });

  test('static requests naming a pool must be inside it; pools validate and do not overlap', () => {
    const ipam = ipamWith(spec);
    ipam.setPool('s', 'p1', ['10.0.0.10..10.0.0.19', 'fd00::10/124']);
    expect(errorOf(() => alloc(ipam, 's', 'a', { pool: 'p1', ips: '10.0.0.30' })).code).toBe(
      'IPAM_IP_NOT_IN_POOL',
    );
    expect(alloc(ipam, 's', 'a', { pool: 'p1', ips: '10.0.0.15,fd00::15' }).ipv4).toBe('10.0.0.15');
    expect(errorOf(() => ipam.setPool('s', 'p2', ['10.0.0.19..10.0.0.25'])).code).toBe('IPAM_POOL_OVERLAP');
    expect(errorOf(() => ipam.setPool('s', 'p2', ['10.0.1.1']))).toMatchObject({
      code: 'IPAM_INVALID_RANGE',
      field: 'ips[0]',
    });
    expect(errorOf(() => ipam.setPool('s', 'p2', ['10.0.0.9..10.0.0.5'])).code).toBe('IPAM_INVALID_RANGE');
    expect(errorOf(() => ipam.setPool('s', 'p2', [])).code).toBe('IPAM_INVALID_ARGUMENT');
    expect(ipam.poolStatus('s', 'p1')).toMatchObject({
      v4AvailableIPs: 9,
      v4UsingIPs: 1,
      v4UsingIPRange: '10.0.0.15',
      v4AvailableIPRange: '10.0.0.10-10.0.0.14,10.0.0.16-10.0.0.19',
    });
  });

  test('a released address goes back to its own pool, oldest first', () => {
    const ipam = ipamWith({ name: 's', cidrBlock: '10.0.0.0/29' }); // .2 .. .6
    ipam.setPool('s', 'p', ['10.0.0.2..10.0.0.3']);
    expect(['a', 'b'].map((o) => alloc(ipam, 's', o, { pool: 'p' }).ipv4)).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(['c', 'd', 'e'].map((o) => alloc(ipam, 's', o).ipv4)).toEqual([
      '10.0.0.4',
      '10.0.0.5',
      '10.0.0.6',
    ]);
    for (const o of ['b', 'd', 'a', 'c']) ipam.release('s', o); // p: .3 .2, default: .5 .4
    expect(['f', 'g'].map((o) => alloc(ipam, 's', o).ipv4)).toEqual(['10.0.0.5', '10.0.0.4']);
    expect(errorOf(() => alloc(ipam, 's', 'h')).code).toBe('IPAM_SUBNET_EXHAUSTED');
    expect(['i', 'j'].map((o) => alloc(ipam, 's', o, { pool: 'p' }).ipv4)).toEqual(['10.0.0.3', '10.0.0.2']);
    expect(errorOf(() => alloc(ipam, 's', 'k', { pool: 'p' })).code).toBe('IPAM_POOL_EXHAUSTED');
  });

  test('IPv6 pool addresses far beyond the first 2^24 of a /64 are handed out, parked and reused', () => {
    const ipam = ipamWith({ name: 's', cidrBlock: 'fd00::/64' });
    ipam.setPool('s', 'far', ['fd00::1:0:0:0..fd00::1:0:0:2']);
    const got = ['a', 'b', 'c'].map((o) => alloc(ipam, 's', o, { pool: 'far' }).ipv6);
    expect(got).toEqual(['fd00::1:0:0:0', 'fd00::1:0:0:1', 'fd00::1:0:0:2']);
    ipam.release('s', 'b');
    ipam.release('s', 'a');
    ipam.release('s', 'c');
    expect(alloc(ipam, 's', 'd', { pool: 'far' }).ipv6).toBe('fd00::1:0:0:1');
    ipam.setPool('s', 'near', ['fd00::100']); // a relayout keeps the queue and its order
    expect(alloc(ipam, 's', 'e', { pool: 'far', ips: 'fd00::1:0:0:2' }).ipv6).toBe('fd00::1:0:0:2'); // off the queue
    expect(alloc(ipam, 's', 'f', { pool: 'far' }).ipv6).toBe('fd00::1:0:0:0');
    expect(errorOf(() => alloc(ipam, 's', 'g', { pool: 'far' })).code).toBe('IPAM_POOL_EXHAUSTED');
    expect(ipam.poolStatus('s', 'far')).toMatchObject({ v6UsingIPs: 3, v6AvailableIPs: 0 });
    ipam.release('s', 'f');
    expect(alloc(ipam, 's', 'h', { pool: 'far' }).ipv6).toBe('fd00::1:0:0:0');
  });

  test('removing a pool returns its addresses to the subnet', () => {
    const ipam = ipamWith({ name: 's', cidrBlock: '10.0.0.0/29' });
    ipam.setPool('s', 'p', ['10.0.0.2']);
    expect(alloc(ipam, 's', 'a').ipv4).toBe('10.0.0.3');
    expect(ipam.removePool('s', 'p')).toBe(true);
    expect(alloc(ipam, 's', 'b').ipv4).toBe('10.0.0.2');
  });
});

describe('subnet changes', () => {
  test('added excludeIps and a changed CIDR report conflicting allocations and keep them', () => {
    const ipam = ipamWith({ name: 's', cidrBlock: '10.0.0.0/24' });
    for (const o of ['a', 'b', 'c']) alloc(ipam, 's', o); // .2 .3 .4
    alloc(ipam, 's', 'far', { ips: '10.0.0.200' });
    const change = ipam.setSubnet({ name: 's', cidrBlock: '10.0.0.0/25', excludeIps: ['10.0.0.3'] });
    expect(change.conflicts.map((c) => [c.owner, c.ip, c.error.code])).toEqual([
      ['b', '10.0.0.3', 'IPAM_IP_EXCLUDED'],
      ['far', '10.0.0.200', 'IPAM_IP_OUT_OF_RANGE'],
    ]);
    expect(ipam.get('s', 'far')?.ipv4).toBe('10.0.0.200');
    expect(ipam.ownerOfIp('s', '10.0.0.3')).toBe('b');
    const status = ipam.status('s');
    expect(status.v4usingIPs).toBe(4);
    expect(status.v4availableIPs).toBe(126 - 1 - 1 - 2); // /25 minus gateway, exclude, a and c
    expect(status.v4usingIPrange).toBe('10.0.0.2-10.0.0.4,10.0.0.200');
    // the kept addresses are still nobody else's, and free once released
    expect(errorOf(() => alloc(ipam, 's', 'x', { ips: '10.0.0.3' })).code).toBe('IPAM_IP_EXCLUDED');
    ipam.release('s', 'far');
    expect(ipam.status('s').v4usingIPs).toBe(3);
  });

  test('a gateway moved onto a held address is reported', () => {
    const ipam = ipamWith({ name: 's', cidrBlock: '10.0.0.0/24' });
    alloc(ipam, 's', 'a'); // .2
    const change = ipam.setSubnet({ name: 's', cidrBlock: '10.0.0.0/24', gateway: '10.0.0.2' });
    expect(change.conflicts.map((c) => c.error.code)).toEqual(['IPAM_IP_IS_GATEWAY']);
    expect(alloc(ipam, 's', 'b').ipv4).toBe('10.0.0.1');
  });

  test('excludes removed again become allocatable, as never-used addresses', () => {
    const ipam = ipamWith({ name: 's', cidrBlock: '10.0.0.0/29', excludeIps: ['10.0.0.2..10.0.0.4'] });
    expect(alloc(ipam, 's', 'a').ipv4).toBe('10.0.0.5');
    ipam.setSubnet({ name: 's', cidrBlock: '10.0.0.0/29' });
    expect(alloc(ipam, 's', 'b').ipv4).toBe('10.0.0.2');
  });

  test('dropping a family keeps its held addresses until released; adding one completes owners', () => {
    const ipam = ipamWith({ name: 's', cidrBlock: '10.0.0.0/24,fd00::/120' });
    alloc(ipam, 's', 'a');
    const change = ipam.setSubnet({ name: 's', cidrBlock: '10.0.0.0/24' });
    expect(change.conflicts.map((c) => [c.ip, c.error.code])).toEqual([['fd00::2', 'IPAM_IP_OUT_OF_RANGE']]);
    expect(ipam.subnetInfo('s').protocol).toBe('IPv4');
    expect(alloc(ipam, 's', 'b').ipv6).toBeUndefined();
    expect(ipam.status('s').v6usingIPs).toBe(1);
    ipam.release('s', 'a');
    expect(ipam.status('s').v6usingIPs).toBe(0);
    ipam.setSubnet({ name: 's', cidrBlock: '10.0.0.0/24,fd00::/120' });
    expect(alloc(ipam, 's', 'b')).toMatchObject({ ipv4: '10.0.0.3', ipv6: 'fd00::2' });
  });

  test('removing a subnet returns and frees what it held', () => {
    const ipam = ipamWith({ name: 's', cidrBlock: '10.0.0.0/24' });
    const a = alloc(ipam, 's', 'a', { mac: '02:00:00:00:00:09' });
    expect(ipam.removeSubnet('s')).toEqual([a]);
    expect(ipam.subnetNames()).toEqual([]);
    expect(ipam.ownerOfMac('02:00:00:00:00:09')).toBeUndefined();
  });
});

describe('restore', () => {
  test('rebuilds state in one pass and reports conflicting records', () => {
    const ipam = ipamWith(KUBE_OVN_CASE, { name: 'd', cidrBlock: '10.1.0.0/24,fd00::/120' });
    const report = ipam.restore([
      { subnet: 'case', owner: 'a.ns', ips: '10.0.0.7', mac: '02:00:00:00:00:01' },
      { subnet: 'case', owner: 'b.ns', ips: '10.0.0.7', mac: '02:00:00:00:00:02' }, // same IP
      { subnet: 'd', owner: 'c.ns', ips: '10.1.0.5,fd00::5', mac: '02:00:00:00:00:01' }, // same MAC
      { subnet: 'case', owner: 'a.ns', ips: '10.0.0.8' }, // same owner, other IP
      { subnet: 'case', owner: 'a.ns', ips: '10.0.0.7', mac: '02:00:00:00:00:01' }, // exact duplicate: fine
      { subnet: 'case', owner: 'e.ns', ips: '10.0.0.100' }, // excluded: kept and reported
      { subnet: 'nope', owner: 'f.ns', ips: '10.0.0.9' },
      { subnet: 'case', owner: 'g.ns', ips: 'not-an-ip' },
      { subnet: 'd', owner: 'h.ns', ips: ['fd00::9'] },
    ]);
    expect(report.restored).toBe(4);
    expect(report.rejected.map((r) => [r.index, r.error.code])).toEqual([
      [1, 'IPAM_IP_CONFLICT'],
      [2, 'IPAM_MAC_CONFLICT'],
      [3, 'IPAM_OWNER_MISMATCH'],
      [6, 'IPAM_UNKNOWN_SUBNET'],
      [7, 'IPAM_INVALID_IP'],
    ]);
    expect(report.kept.map((r) => [r.index, r.error.code])).toEqual([[5, 'IPAM_IP_EXCLUDED']]);
    expect(ipam.ownerOfIp('case', '10.0.0.7')).toBe('a.ns');
    expect(ipam.ownerOfIp('case', '10.0.0.100')).toBe('e.ns');
    expect(ipam.status('case').v4usingIPs).toBe(2);
    // a record without a family gets it on the next allocate; one without a MAC got a random one
    expect(ipam.get('d', 'h.ns')?.ipv4).toBeUndefined();
    expect(alloc(ipam, 'd', 'h.ns')).toMatchObject({ ipv4: '10.1.0.2', ipv6: 'fd00::9' });
    // new allocations skip restored addresses
    expect(alloc(ipam, 'case', 'new').ipv4).toBe('10.0.0.1');
  });

  test('restored state equals the state it was saved from', () => {
    const source = ipamWith({ name: 'd', cidrBlock: '10.1.0.0/24,fd00::/120' });
    for (let i = 0; i < 20; i++) alloc(source, 'd', `p${i}`);
    for (let i = 0; i < 20; i += 3) source.release('d', `p${i}`);
    const records = source
      .allocations()
      .map((a) => ({ subnet: a.subnet, owner: a.owner, ips: a.ipAddress, mac: a.mac }));
    const target = ipamWith({ name: 'd', cidrBlock: '10.1.0.0/24,fd00::/120' });
    expect(target.restore(records)).toMatchObject({ restored: records.length, rejected: [], kept: [] });
    const byOwner = (list: Allocation[]) => [...list].sort((x, y) => (x.owner < y.owner ? -1 : 1));
    expect(byOwner(target.allocations())).toEqual(byOwner(source.allocations()));
    expect(target.status('d')).toEqual(source.status('d'));
  });

  test('a non-array input is a typed error', () => {
    expect(errorOf(() => new Ipam().restore('x' as never)).code).toBe('IPAM_INVALID_ARGUMENT');
  });
});

describe('status', () => {
  test('counts and range strings per family, with Kube-OVN names', () => {
    const ipam = ipamWith({
      name: 'd',
      cidrBlock: '10.0.0.0/28,fd00::/124',
      excludeIps: ['10.0.0.10..10.0.0.12'],
    });
    for (const o of ['a', 'b', 'c']) alloc(ipam, 'd', o);
    expect(ipam.status('d')).toEqual({
      v4availableIPs: 14 - 1 - 3 - 3,
      v4usingIPs: 3,
      v4availableIPrange: '10.0.0.5-10.0.0.9,10.0.0.13-10.0.0.14',
      v4usingIPrange: '10.0.0.2-10.0.0.4',
      v6availableIPs: 14 - 1 - 3,
      v6usingIPs: 3,
      v6availableIPrange: 'fd00::5-fd00::e',
      v6usingIPrange: 'fd00::2-fd00::4',
    });
  });

  test('a single-stack subnet reports zero for the other family', () => {
    const ipam = ipamWith({ name: 's', cidrBlock: '10.0.0.0/24' });
    expect(ipam.status('s')).toMatchObject({ v6availableIPs: 0, v6usingIPs: 0, v6availableIPrange: '' });
  });
});
