// Property tests of the building blocks against brute-force models.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { AddressIndex, parkedState } from '../../../src/ipam/address-index.ts';
import type { Range } from '../../../src/ipam/intervals.ts';
import * as iv from '../../../src/ipam/intervals.ts';
import { NumberTable } from '../../../src/ipam/number-table.ts';
import { OwnerTable } from '../../../src/ipam/owners.ts';

const U = 64; // universe 0..63 for interval models
const rangeArb = fc
  .tuple(fc.integer({ min: 0, max: U - 1 }), fc.integer({ min: 0, max: 8 }))
  .map(([lo, len]): Range => ({ lo: BigInt(lo), hi: BigInt(Math.min(U - 1, lo + len)) }));
const listArb = fc.array(rangeArb, { maxLength: 6 }).map((r) => iv.normalize(r));

const members = (list: readonly Range[]): Set<number> => {
  const s = new Set<number>();
  for (const r of list) for (let x = Number(r.lo); x <= Number(r.hi); x++) s.add(x);
  return s;
};
const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);

describe('interval sets', () => {
  test('normalize gives sorted, disjoint, non-adjacent ranges covering the same set', () => {
    fc.assert(
      fc.property(fc.array(rangeArb, { maxLength: 8 }), (raw) => {
        const list = iv.normalize(raw);
        for (let i = 1; i < list.length; i++) expect(list[i]!.lo > list[i - 1]!.hi + 1n).toBe(true);
        expect(sorted(members(list))).toEqual(sorted(members(raw)));
      }),
    );
  });

  test('subtract, intersect, indexOf, count and fromSorted match set arithmetic', () => {
    fc.assert(
      fc.property(listArb, listArb, fc.integer({ min: 0, max: U - 1 }), (a, b, x) => {
        const A = members(a);
        const B = members(b);
        expect(sorted(members(iv.subtract(a, b)))).toEqual(sorted(A).filter((v) => !B.has(v)));
        expect(sorted(members(iv.intersect(a, b)))).toEqual(sorted(A).filter((v) => B.has(v)));
        expect(iv.indexOf(a, BigInt(x)) >= 0).toBe(A.has(x));
        expect(iv.count(a)).toBe(BigInt(A.size));
        expect(iv.fromSorted(sorted(A).map(BigInt))).toEqual(a);
      }),
    );
  });

  test('formatRanges uses Kube-OVN range strings', () => {
    expect(
      iv.formatRanges(4, [
        { lo: 0x0a000001n, hi: 0x0a000001n },
        { lo: 0x0a000005n, hi: 0x0a000009n },
      ]),
    ).toBe('10.0.0.1,10.0.0.5-10.0.0.9');
    expect(iv.formatRanges(6, [])).toBe('');
  });
});

describe('NumberTable', () => {
  test('behaves like a Map under random set/delete (including 48-bit keys and growth)', () => {
    const key = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 48 - 1 }));
    const op = fc.tuple(fc.constantFrom('set', 'delete'), key, fc.integer({ min: -2, max: 1000 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const table = new NumberTable(4);
        const model = new Map<number, number>();
        for (const [kind, k, v] of ops) {
          if (kind === 'set') {
            table.set(k, v);
            model.set(k, v);
          } else {
            expect(table.delete(k)).toBe(model.delete(k));
          }
          expect(table.size).toBe(model.size);
        }
        for (const [k, v] of model) expect(table.get(k, -99)).toBe(v);
        for (const [, k] of ops) expect(table.has(k)).toBe(model.has(k));
      }),
    );
  });

  test('reserve keeps entries', () => {
    const t = new NumberTable();
    for (let i = 0; i < 100; i++) t.set(i * 7919, i);
    t.reserve(10_000);
    for (let i = 0; i < 100; i++) expect(t.get(i * 7919, -1)).toBe(i);
  });
});

describe('AddressIndex', () => {
  test('paged window and far map behave like one Map', () => {
    const base = 1n << 64n;
    const addr = fc.oneof(
      fc.integer({ min: 0, max: 5000 }).map((o) => base + BigInt(o)), // inside the window
      fc.bigInt({ min: 0n, max: base - 1n }), // below the base
      fc.bigInt({ min: base + 4096n, max: base + (1n << 40n) }), // beyond the window
    );
    const op = fc.tuple(addr, fc.constantFrom(0, parkedState(0), parkedState(5), 1, 7));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const index = new AddressIndex(base, 4096n);
        const model = new Map<bigint, number>();
        for (const [a, state] of ops) {
          expect(index.set(a, state)).toBe(model.get(a) ?? 0);
          if (state === 0) model.delete(a);
          else model.set(a, state);
          expect(index.size).toBe(model.size);
          expect(index.get(a)).toBe(state);
        }
        const want = [...model.keys()].sort((x, y) => (x < y ? -1 : 1));
        const { addrs, states } = index.entries();
        expect(addrs).toEqual(want);
        expect(states).toEqual(want.map((a) => model.get(a)));
      }),
    );
  });
});

describe('OwnerTable', () => {
  test('behaves like a Map under random set/delete, through growth and backward shifts', () => {
    const owner = fc.oneof(
      fc.constantFrom('a.ns', 'b.ns', 'node-x', 'vm.ns'),
      fc.string({ minLength: 1, maxLength: 6 }),
    );
    const op = fc.tuple(
      fc.constantFrom('get', 'set', 'set', 'delete'),
      owner,
      fc.integer({ min: 0, max: 1000 }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        // The table reads keys from the slot table's owner column: keyOf[slot] is the key mapped to
        // slot while the mapping lives, so a slot another live key holds is replaced by a fresh one.
        const keyOf: string[] = [];
        const table = new OwnerTable(keyOf, 4);
        const model = new Map<string, number>();
        let fresh = 1001;
        for (const [kind, k, v] of ops) {
          if (kind === 'get') {
            expect(table.get(k)).toBe(model.get(k) ?? -1); // also primes the get-then-set cache
          } else if (kind === 'set') {
            const other = keyOf[v];
            const slot = other !== undefined && other !== k && model.get(other) === v ? fresh++ : v;
            keyOf[slot] = k;
            table.set(k, slot);
            model.set(k, slot);
          } else {
            table.delete(k);
            model.delete(k);
          }
          expect(table.size).toBe(model.size);
        }
        for (const [, k] of ops) expect(table.get(k)).toBe(model.get(k) ?? -1);
        expect(new Map(table.entries())).toEqual(model);
      }),
    );
  });
});
