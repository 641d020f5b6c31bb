import { describe, expect, test } from 'vitest';
import { formatMac, MacSource, parseMac } from '../../../src/ipam/mac.ts';
import { parseSubnetSpec, type SubnetSpec } from '../../../src/ipam/spec.ts';

const codeOf = (fn: () => unknown): { code: string; field: string; value: unknown } => {
  try {
    fn();
  } catch (e) {
    const { code, field, value } = e as { code: string; field: string; value: unknown };
    return { code, field, value };
  }
  throw new Error('expected an error');
};

describe('subnet specs', () => {
  test('protocol, normalised CIDRs, default gateways and excludeIps as Kube-OVN writes them', () => {
    const layout = parseSubnetSpec({
      name: 's',
      cidrBlock: '10.16.3.4/16,FD00:10:16::7/112',
      excludeIps: ['fd00:10:16::9', '10.16.0.100..10.16.0.200', '10.16.0.5'],
    });
    expect(layout).toMatchObject({
      protocol: 'Dual',
      cidrBlock: '10.16.0.0/16,fd00:10:16::/112',
      gateway: '10.16.0.1,fd00:10:16::1',
      excludeIps: ['10.16.0.1', '10.16.0.5', '10.16.0.100..10.16.0.200', 'fd00:10:16::1', 'fd00:10:16::9'],
    });
    expect(parseSubnetSpec({ name: 'v6', cidrBlock: 'fd00::/64' }).protocol).toBe('IPv6');
  });

  test('gateways are matched by family, in either order', () => {
    const layout = parseSubnetSpec({
      name: 's',
      cidrBlock: '10.0.0.0/24,fd00::/64',
      gateway: 'fd00::fe,10.0.0.254',
    });
    expect(layout.gateway).toBe('10.0.0.254,fd00::fe');
  });

  test('a gateway inside an excluded range is not listed twice', () => {
    const layout = parseSubnetSpec({
      name: 's',
      cidrBlock: '10.0.0.0/24',
      excludeIps: ['10.0.0.1..10.0.0.9'],
    });
    expect(layout.excludeIps).toEqual(['10.0.0.1..10.0.0.9']);
  });

  const bad: [string, Partial<SubnetSpec>, string, string][] = [
    ['malformed CIDR', { cidrBlock: '10.0.0.0/33' }, 'IPAM_INVALID_CIDR', 'cidrBlock'],
    ['missing CIDR', { cidrBlock: '' }, 'IPAM_INVALID_CIDR', 'cidrBlock'],
    ['two CIDRs of one family', { cidrBlock: '10.0.0.0/24,10.1.0.0/24' }, 'IPAM_INVALID_CIDR', 'cidrBlock'],
    ['three CIDRs', { cidrBlock: '10.0.0.0/24,fd00::/64,fd01::/64' }, 'IPAM_INVALID_CIDR', 'cidrBlock'],
    ['gateway outside the CIDR', { gateway: '10.0.1.1' }, 'IPAM_INVALID_GATEWAY', 'gateway'],
    ['gateway on the network address', { gateway: '10.0.0.0' }, 'IPAM_INVALID_GATEWAY', 'gateway'],
    ['gateway on the broadcast address', { gateway: '10.0.0.255' }, 'IPAM_INVALID_GATEWAY', 'gateway'],
    ['gateway of a missing family', { gateway: 'fd00::1' }, 'IPAM_FAMILY_MISMATCH', 'gateway'],
    ['malformed gateway', { gateway: '10.0.0.x' }, 'IPAM_INVALID_GATEWAY', 'gateway'],
    ['reversed range', { excludeIps: ['10.0.0.9..10.0.0.2'] }, 'IPAM_INVALID_RANGE', 'excludeIps[0]'],
    [
      'exclude outside the CIDR',
      { excludeIps: ['10.0.0.5', '10.0.1.5'] },
      'IPAM_INVALID_RANGE',
      'excludeIps[1]',
    ],
    [
      'range leaving the CIDR',
      { excludeIps: ['10.0.0.250..10.0.1.5'] },
      'IPAM_INVALID_RANGE',
      'excludeIps[0]',
    ],
    ['CIDR as exclude', { excludeIps: ['10.0.0.0/28'] }, 'IPAM_INVALID_RANGE', 'excludeIps[0]'],
    ['mixed-family range', { excludeIps: ['10.0.0.1..fd00::1'] }, 'IPAM_FAMILY_MISMATCH', 'excludeIps[0]'],
    ['exclude of a missing family', { excludeIps: ['fd00::1'] }, 'IPAM_FAMILY_MISMATCH', 'excludeIps[0]'],
    ['malformed exclude', { excludeIps: ['10.0.0.1...10.0.0.2'] }, 'IPAM_INVALID_IP', 'excludeIps[0]'],
    [
      'IPv6 zone',
      { cidrBlock: 'fd00::/64', excludeIps: ['fd00::1%eth0'] },
      'IPAM_INVALID_IP',
      'excludeIps[0]',
    ],
    ['excludeIps not a list', { excludeIps: '10.0.0.1' as never }, 'IPAM_INVALID_ARGUMENT', 'excludeIps'],
    ['no name', { name: '' }, 'IPAM_INVALID_ARGUMENT', 'name'],
  ];
  test.each(bad)('%s is a typed error naming the field', (_, patch, code, field) => {
    expect(codeOf(() => parseSubnetSpec({ name: 's', cidrBlock: '10.0.0.0/24', ...patch }))).toMatchObject({
      code,
      field,
    });
  });

  test('a non-object spec is a typed error', () => {
    expect(codeOf(() => parseSubnetSpec(null as never)).code).toBe('IPAM_INVALID_ARGUMENT');
  });
});

describe('MACs', () => {
  test('parse accepts any case and ":" or "-", and formats lower case', () => {
    expect(formatMac(parseMac('00:00:00:1F:C5:8F', 'mac'))).toBe('00:00:00:1f:c5:8f');
    expect(formatMac(parseMac('AA-bb-CC-dd-EE-ff', 'mac'))).toBe('aa:bb:cc:dd:ee:ff');
  });

  test.each([
    ['01:00:5e:00:00:01', 'multicast'],
    ['ff:ff:ff:ff:ff:ff', 'multicast'],
    ['00:00:00:00:00:00', 'all-zero'],
    ['aa:bb:cc:dd:ee', 'expected'],
    ['aa:bb-cc:dd:ee:ff', 'expected'],
    ['aabb.ccdd.eeff', 'expected'],
    ['gg:bb:cc:dd:ee:ff', 'expected'],
  ])('rejects %j (%s)', (text, why) => {
    expect(() => parseMac(text, 'mac')).toThrow(
      expect.objectContaining({ code: 'IPAM_INVALID_MAC', field: 'mac' }),
    );
    expect(() => parseMac(text, 'mac')).toThrow(why);
  });

  test('generated MACs are locally administered unicast, whatever the random bytes', () => {
    for (const byte of [0x00, 0x01, 0xff, 0xfe, 0x03]) {
      const mac = new MacSource((buf) => buf.fill(byte)).next();
      const first = Number.parseInt(formatMac(mac).slice(0, 2), 16);
      expect(first & 0x03).toBe(0x02);
    }
  });
});
