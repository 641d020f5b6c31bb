// The iteration order of an Open vSwitch hmap (lib/hmap.c) keyed by hash_string() (lib/hash.c, the
// portable murmur3 variant that Debian's builds use). ovn-nbctl prints some maps in this order: a
// router policy's options, and same-named entries it sorted by name only. When the insertion order is
// known (a column's sorted datum) the hmap's order is a pure function of the keys, so it can be rebuilt.

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

function mhashAdd(hash: number, data: number): number {
  let h = hash;
  if (data !== 0) {
    let d = Math.imul(data, 0xcc9e2d51) >>> 0;
    d = rotl(d, 15);
    d = Math.imul(d, 0x1b873593) >>> 0;
    h = (h ^ d) >>> 0;
  }
  h = rotl(h, 13);
  return (Math.imul(h, 5) + 0xe6546b64) >>> 0;
}

function mhashFinish(hash: number): number {
  let h = hash;
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** OVS hash_string(s, basis): hash_bytes over the UTF-8 bytes, little-endian 32-bit words. */
export function hashString(s: string, basis = 0): number {
  const b = Buffer.from(s, 'utf8');
  let h = basis >>> 0;
  let i = 0;
  for (; i + 4 <= b.length; i += 4) h = mhashAdd(h, b.readUInt32LE(i));
  if (i < b.length) {
    let tail = 0;
    for (let j = 0; i + j < b.length; j++) tail |= b[i + j]! << (8 * j);
    h = mhashAdd(h, tail >>> 0);
  }
  return mhashFinish((h ^ b.length) >>> 0);
}

/** hmap.c calc_mask(): the bucket mask an hmap grows to for a capacity. */
function calcMask(capacity: number): number {
  let mask = Math.floor(capacity / 2);
  mask |= mask >>> 1;
  mask |= mask >>> 2;
  mask |= mask >>> 4;
  mask |= mask >>> 8;
  mask |= mask >>> 16;
  return mask | ((mask & 1) << 1);
}

/**
 * The order HMAP_FOR_EACH visits items inserted one by one with hmap_insert() in the given order:
 * buckets in index order, each bucket newest first, with the reordering that every expansion (a
 * rehash that walks the old buckets and pushes onto the new ones) brings.
 */
export function hmapOrder<T>(items: Iterable<T>, hashOf: (item: T) => number): T[] {
  type Node = { item: T; hash: number };
  let mask = 0;
  let buckets: Node[][] = [[]];
  let n = 0;
  for (const item of items) {
    const node = { item, hash: hashOf(item) };
    buckets[(node.hash & mask) >>> 0]!.unshift(node);
    n++;
    if (Math.floor(n / 2) > mask) {
      const newMask = calcMask(n);
      if (newMask > mask) {
        const fresh: Node[][] = Array.from({ length: newMask + 1 }, () => []);
        for (const bucket of buckets) for (const x of bucket) fresh[(x.hash & newMask) >>> 0]!.unshift(x);
        buckets = fresh;
        mask = newMask;
      }
    }
  }
  return buckets.flat().map((x) => x.item);
}

/** The order SMAP_FOR_EACH visits an smap that the IDL filled from a map column (keys in datum order). */
export function smapOrder(keys: Iterable<string>): string[] {
  return hmapOrder(keys, (k) => hashString(k));
}
