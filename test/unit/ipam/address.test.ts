import fc from 'fast-check';
import { Address4, Address6 } from 'ip-address';
import { describe, expect, test } from 'vitest';
import { formatCidr, formatIp, parseCidr, parseIp } from '../../../src/ipam/address.ts';
import { IpamError } from '../../../src/ipam/errors.ts';

const v6Value = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
/** IPv6 values with runs of zero groups, where compression choices matter. */
const v6Sparse = fc
  .array(fc.constantFrom(0, 0, 0, 1, 0xffff, 0xabc), { minLength: 8, maxLength: 8 })
  .map((g) => g.reduce((acc, x) => (acc << 16n) | BigInt(x), 0n));

describe('parseIp and formatIp', () => {
  test('IPv4 round trip and agreement with ip-address', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => {
        const text = formatIp(4, BigInt(n));
        expect(text).toBe(Address4.fromBigInt(BigInt(n)).correctForm());
        expect(parseIp(text, 'ip')).toEqual({ family: 4, value: BigInt(n) });
      }),
    );
  });

  test('IPv6 formatting is RFC 5952 and agrees with ip-address', () => {
    fc.assert(
      fc.property(fc.oneof(v6Value, v6Sparse), (v) => {
        const text = formatIp(6, v);
        expect(text).toBe(Address6.fromBigInt(v).correctForm());
        expect(parseIp(text, 'ip')).toEqual({ family: 6, value: v });
      }),
    );
  });

  test('IPv6 in any spelling parses like ip-address does', () => {
    fc.assert(
      fc.property(fc.oneof(v6Value, v6Sparse), fc.boolean(), (v, upper) => {
        const canonical = Address6.fromBigInt(v);
        const unpadded = canonical.canonicalForm().replace(/(^|:)0{1,3}/g, '$1');
        for (const text of [
          canonical.canonicalForm(),
          canonical.correctForm(),
          unpadded,
          canonical.to4in6(),
        ]) {
          const spelled = upper ? text.toUpperCase() : text;
          expect(parseIp(spelled, 'ip').value).toBe(new Address6(spelled).bigInt());
        }
      }),
    );
  });

  test('embedded IPv4 goes through ip-address', () => {
    expect(parseIp('::ffff:1.2.3.4', 'ip')).toEqual({ family: 6, value: 0xffff01020304n });
  });

  test.each([
    ['', 'IPAM_INVALID_IP'],
    ['10.0.0', 'IPAM_INVALID_IP'],
    ['10.0.0.256', 'IPAM_INVALID_IP'],
    ['010.0.0.1', 'IPAM_INVALID_IP'],
    [' 10.0.0.1', 'IPAM_INVALID_IP'],
    ['10.0.0.1/24', 'IPAM_INVALID_IP'],
    ['fe80::1%eth0', 'IPAM_INVALID_IP'],
    ['[::1]', 'IPAM_INVALID_IP'],
    ['1:2:3:4:5:6:7:8:9', 'IPAM_INVALID_IP'],
    ['1::2::3', 'IPAM_INVALID_IP'],
    ['12345::', 'IPAM_INVALID_IP'],
    ['1:', 'IPAM_INVALID_IP'],
    [':1', 'IPAM_INVALID_IP'],
    ['g::1', 'IPAM_INVALID_IP'],
  ])('rejects %j with a typed error', (text, code) => {
    let err: unknown;
    try {
      parseIp(text, 'ips');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IpamError);
    expect(err).toMatchObject({ code, field: 'ips', value: text });
  });

  test('non-strings are typed errors too', () => {
    for (const value of [undefined, null, 42, {}]) {
      expect(() => parseIp(value, 'ips')).toThrow(IpamError);
    }
  });
});

describe('parseCidr', () => {
  test('normalises to the network address', () => {
    expect(formatCidr(parseCidr('10.16.5.7/16', 'cidrBlock'))).toBe('10.16.0.0/16');
    expect(formatCidr(parseCidr('FD00:10:16::9/64', 'cidrBlock'))).toBe('fd00:10:16::/64');
    expect(formatCidr(parseCidr('0.0.0.0/0', 'cidrBlock'))).toBe('0.0.0.0/0');
  });

  test('first and last usable addresses', () => {
    const usable = (c: string) => {
      const p = parseCidr(c, 'cidrBlock');
      return [formatIp(p.family, p.first), formatIp(p.family, p.last)];
    };
    expect(usable('10.0.0.0/24')).toEqual(['10.0.0.1', '10.0.0.254']);
    expect(usable('10.0.0.0/30')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(usable('10.0.0.0/31')).toEqual(['10.0.0.0', '10.0.0.1']);
    expect(usable('10.0.0.5/32')).toEqual(['10.0.0.5', '10.0.0.5']);
    expect(usable('fd00::/120')).toEqual(['fd00::1', 'fd00::fe']);
    expect(usable('fd00::/127')).toEqual(['fd00::', 'fd00::1']);
    expect(usable('fd00::1/128')).toEqual(['fd00::1', 'fd00::1']);
  });

  test('agrees with ip-address on the network of random CIDRs', () => {
    fc.assert(
      fc.property(v6Value, fc.integer({ min: 0, max: 128 }), (v, prefix) => {
        const text = `${formatIp(6, v)}/${prefix}`;
        const c = parseCidr(text, 'cidrBlock');
        expect(c.network).toBe(new Address6(text).startAddress().bigInt());
        expect(c.end).toBe(new Address6(text).endAddress().bigInt());
      }),
    );
  });

  test.each([
    '10.0.0.0',
    '10.0.0.0/33',
    'fd00::/129',
    '10.0.0.0/024',
    '10.0.0.0/-1',
    'x/24',
    '10.0.0.0/24/1',
    'fe80::%eth0/64',
  ])('rejects %j', (text) => {
    expect(() => parseCidr(text, 'cidrBlock')).toThrow(
      expect.objectContaining({ code: 'IPAM_INVALID_CIDR' }),
    );
  });
});
