// The hash-table order ovn-nbctl prints some maps in, rebuilt from the keys.
import { describe, expect, test } from 'vitest';
import { hashString, hmapOrder, smapOrder } from '../../../src/nbctl/hmap-order.ts';

describe('hmap order', () => {
  test("a router policy's options come out as ovn-nbctl 23.03 prints them", () => {
    // `ovn-nbctl lr-policy-list` printed "zeta=2,chain=x,pkt_mark=7,abc=1" for these options
    expect(smapOrder(['abc', 'chain', 'pkt_mark', 'zeta'])).toEqual(['zeta', 'chain', 'pkt_mark', 'abc']);
  });

  test('hash_string is murmur3-like over little-endian words, tail included', () => {
    expect(hashString('')).toBe(0);
    expect(hashString('abcd')).not.toBe(hashString('abce'));
    expect(hashString('abcde')).not.toBe(hashString('abcd'));
    expect(hashString('x', 1)).not.toBe(hashString('x', 0));
  });

  test('every item comes out once; a bucket is newest first, reversed by each expansion', () => {
    const items = Array.from({ length: 100 }, (_, i) => `k${i}`);
    expect([...hmapOrder(items, hashString)].sort()).toEqual([...items].sort());
    // b goes in front of a, then the expansion at the second insert rehashes them in reverse; c goes in front
    expect(hmapOrder(['a', 'b', 'c'], () => 7)).toEqual(['c', 'a', 'b']);
  });
});
