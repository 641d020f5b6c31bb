// Interval sets over bigint addresses: sorted, disjoint, non-adjacent lists of inclusive [lo, hi]
// ranges. They describe CIDRs, excludeIps, pools and usable space without materialising a single
// address, so an IPv6 /64 costs one entry. All functions return new lists and never mutate inputs.
import { type Family, formatIp } from './address.ts';

export interface Range {
  readonly lo: bigint;
  readonly hi: bigint;
}

/** Sorts and merges overlapping or adjacent ranges. */
export function normalize(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.lo <= last.hi + 1n) {
      if (r.hi > last.hi) out[out.length - 1] = { lo: last.lo, hi: r.hi };
    } else {
      out.push(r);
    }
  }
  return out;
}

/** Ranges of `a` not covered by `b` (both normalised). */
export function subtract(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  let j = 0;
  for (const r of a) {
    let lo = r.lo;
    while (j < b.length && b[j]!.hi < lo) j++;
    let k = j;
    while (k < b.length && b[k]!.lo <= r.hi) {
      const cut = b[k]!;
      if (cut.lo > lo) out.push({ lo, hi: cut.lo - 1n });
      lo = cut.hi + 1n;
      if (cut.hi >= r.hi) break;
      k++;
    }
    if (lo <= r.hi) out.push({ lo, hi: r.hi });
  }
  return out;
}

/** Ranges covered by both `a` and `b` (both normalised). */
export function intersect(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const lo = x.lo < y.lo ? y : x; // the range starting later...
    const hi = y.hi < x.hi ? y : x; // ...and the one ending earlier (Math.max/min take no bigints)
    if (lo.lo <= hi.hi) out.push({ lo: lo.lo, hi: hi.hi });
    if (x.hi < y.hi) i++;
    else j++;
  }
  return out;
}

/** Index of the range holding `x`, or -1. */
export function indexOf(list: readonly Range[], x: bigint): number {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const r = list[mid]!;
    if (x < r.lo) hi = mid - 1;
    else if (x > r.hi) lo = mid + 1;
    else return mid;
  }
  return -1;
}

export const contains = (list: readonly Range[], x: bigint): boolean => indexOf(list, x) >= 0;

export function count(list: readonly Range[]): bigint {
  let n = 0n;
  for (const r of list) n += r.hi - r.lo + 1n;
  return n;
}

/** Ranges of consecutive values in an ascending list of distinct addresses. */
export function fromSorted(values: readonly bigint[]): Range[] {
  const out: Range[] = [];
  let i = 0;
  while (i < values.length) {
    const lo = values[i]!;
    let hi = lo;
    while (i + 1 < values.length && values[i + 1] === hi + 1n) hi = values[++i]!;
    out.push({ lo, hi });
    i++;
  }
  return out;
}

/** Kube-OVN's range string: "a-b,c" (IPRangeList.String). */
export const formatRanges = (family: Family, list: readonly Range[]): string =>
  list
    .map((r) =>
      r.lo === r.hi ? formatIp(family, r.lo) : `${formatIp(family, r.lo)}-${formatIp(family, r.hi)}`,
    )
    .join(',');
