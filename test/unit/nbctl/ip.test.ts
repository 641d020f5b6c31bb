// Addresses as ovn-nbctl parses and prints them; the expected IPv6 texts are glibc's inet_ntop.
import { describe, expect, test } from 'vitest';
import { formatIpv6, normalizePrefix, parseIpv4, parseIpv6, parseVipPort } from '../../../src/nbctl/ip.ts';

describe('IPv6 text', () => {
  test.each([
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['fd00:10:16::b', 'fd00:10:16::b'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::1.2.3.4', '::1.2.3.4'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['1:0:0:0:1:0:0:1', '1::1:0:0:1'],
    ['FD00::0:0:1', 'fd00::1'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['::0.0.1.0', '::100'],
    ['0:0:0:0:0:1:0:0', '::1:0:0'],
    ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
    ['::ffff:0:1.2.3.4', '::ffff:0:102:304'],
    ['0:0:0:0:0:fffe:1.2.3.4', '::fffe:102:304'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ])('%s -> %s', (input, text) => expect(formatIpv6(parseIpv6(input)!)).toBe(text));

  test.each([':::', '1::2::3', '::ffff:1.2.3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::'])(
    '%s is not an address',
    (s) => expect(parseIpv6(s)).toBeUndefined(),
  );

  test('IPv4 as inet_pton reads it', () => {
    expect(parseIpv4('10.16.0.1')).toBe(0x0a100001);
    for (const bad of ['1.2.3', '01.2.3.4', '1.2.3.256', '1.2.3.4.5']) expect(parseIpv4(bad)).toBeUndefined();
  });
});

describe('normalize_prefix_str', () => {
  test.each([
    ['10.0.0.5/8', '10.0.0.0/8'],
    ['10.1.2.3', '10.1.2.3'],
    ['10.1.2.3/32', '10.1.2.3'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['10.0.0.0/255.0.0.0', '10.0.0.0/8'],
    ['::/0', '::/0'],
    ['fd00:10:16::1/64', 'fd00:10:16::/64'],
    ['fd00::1/128', 'fd00::1'],
  ])('%s -> %s', (input, text) => expect(normalizePrefix(input)).toBe(text));

  test.each(['300.1.1.1', 'x', '10.0.0.0/33', '10.0.0.0/255.0.255.0', 'fd00::/129', ''])('%s: none', (s) =>
    expect(normalizePrefix(s)).toBeUndefined(),
  );
});

describe('load balancer VIPs', () => {
  test.each([
    ['10.96.0.10:53', 53],
    ['10.96.0.30', 0],
    ['[fd00:96::10]:80', 80],
    ['fd00::1', 0],
    ['[fd00::1]', 0],
    ['10.0.0.1:0', 0],
    ['a:b', undefined],
    ['1.2.3.4:70000', undefined],
    ['+bad', undefined],
  ])('%s: port %s', (vip, port) => expect(parseVipPort(vip)).toBe(port));
});
