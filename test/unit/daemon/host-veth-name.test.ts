import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { hostVethName, looksLikeHostVethName } from '../../../src/daemon/host-veth-name.ts';

const cid = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

describe('hostVethName', () => {
  test("eth0 is Kube-OVN's <first 12 of the container id>_h", () => {
    expect(hostVethName(cid, 'eth0')).toBe('0123456789ab_h');
  });

  test('a short plain ifname appears as itself', () => {
    expect(hostVethName(cid, 'net1')).toBe('01234567_net1_h');
    expect(hostVethName(cid, 'n')).toBe('0123456789a_n_h');
  });

  test('any other ifname is a 5-hex hash of it', () => {
    const name = hostVethName(cid, 'eth0.100');
    expect(name).toMatch(/^0123456_[0-9a-f]{5}_h$/);
    expect(hostVethName(cid, 'eth0.100')).toBe(name);
    expect(hostVethName(cid, 'eth0.101')).not.toBe(name);
  });

  test('short container ids', () => {
    expect(hostVethName('abc', 'eth0')).toBe('abc_h');
    expect(hostVethName('abc', 'net1')).toBe('abc_net1_h');
  });

  test('invalid input', () => {
    expect(() => hostVethName('', 'eth0')).toThrow(/container id/);
    expect(() => hostVethName('a b', 'eth0')).toThrow(/container id/);
    expect(() => hostVethName(cid, '')).toThrow(/interface name/);
  });

  test('always at most 15 characters, of our shape, and distinct for distinct ifnames', () => {
    // runtimes' ids are hex; with those the '_' before the tag sits at a different place for each tag length
    const id = fc.stringMatching(/^[0-9a-f]{12,64}$/);
    const ifName = fc.stringMatching(/^[A-Za-z0-9_.-]{1,15}$/);
    fc.assert(
      fc.property(id, ifName, ifName, (c, a, b) => {
        const na = hostVethName(c, a);
        expect(na.length).toBeLessThanOrEqual(15);
        expect(looksLikeHostVethName(na)).toBe(true);
        // a 5-hex hash may collide for 1 in 2^20 pairs; literal and hashed tags never do
        if (a !== b && (/^[A-Za-z0-9]{1,4}$/.test(a) || /^[A-Za-z0-9]{1,4}$/.test(b)))
          expect(hostVethName(c, b)).not.toBe(na);
      }),
    );
  });
});

test('looksLikeHostVethName', () => {
  expect(looksLikeHostVethName('0123456789ab_h')).toBe(true);
  expect(looksLikeHostVethName('eth0')).toBe(false);
  expect(looksLikeHostVethName('0123456789abcd_h')).toBe(false);
});
