// Owner key -> slot: open addressing with linear probing; backward-shift deletion, so nothing is left
// behind by a release.
//
// Why not a Map: V8's Map keeps a deleted entry in its bucket chain until the next rehash, so a key
// deleted and re-added over and over (a StatefulSet pod or VM recreated under the same name) makes
// its own chain longer on every cycle (lookups of ~100 µs in a map of 100k owners in the benchmark).
//
// Layout: one Int32Array of (hash, slot + 1) pairs, 0 marking a free entry, and no keys of its own:
// the key of an entry is the slot table's owner column at its slot, read only when the hashes are
// equal. A probe reads only the pairs (8 bytes an entry), and inserting, deleting and growing move
// no strings. (The table once kept its own key array and tested it for "empty" on every probe step,
// which dereferenced a random string each time; dropping that array made the /16 fill about 6%
// faster in the benchmark.)

import { randomBytes } from 'node:crypto';

/** Per-process seed, so owner names (which users choose) cannot be crafted to collide. */
const SEED = randomBytes(4).readInt32LE(0);

/**
 * FNV-1a over UTF-16 code units from a random seed, in two interleaved lanes (even and odd code
 * units: two independent multiply chains run in parallel, about 1.5x faster than one), then the
 * lanes and the length combined and murmur3's finaliser to spread the low bits.
 */
function hashOf(s: string): number {
  const n = s.length;
  let a = 0x811c9dc5 ^ SEED;
  let b = 0x050c5d1f ^ SEED;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    a = Math.imul(a ^ s.charCodeAt(i), 0x01000193);
    b = Math.imul(b ^ s.charCodeAt(i + 1), 0x01000193);
  }
  if (i < n) a = Math.imul(a ^ s.charCodeAt(i), 0x01000193);
  let h = a ^ Math.imul(b ^ n, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export class OwnerTable {
  /** Owner key of each slot; the table holds no keys of its own (see the constructor). */
  private readonly keyOf: readonly string[];
  /** [hash0, slot0 + 1, hash1, slot1 + 1, ...]; a slot + 1 of 0 marks a free entry. */
  private meta: Int32Array;
  private mask: number;
  /** Number of owners holding a slot. */
  size = 0;
  /** The last key looked up, its hash and table index: get-then-set and get-then-delete hash and probe once. */
  private lastKey = '';
  private lastHash = 0;
  private lastIndex = 0;

  /**
   * `keyOf[slot]` must be the owner key mapped to `slot` for as long as the mapping is in the table
   * (the slot table's owner column): a probe compares a key only after a hash match, and then reads
   * it there, so the table stores, moves and rehashes no strings.
   */
  constructor(keyOf: readonly string[], capacity = 64) {
    this.keyOf = keyOf;
    this.meta = new Int32Array(2 * capacity);
    this.mask = capacity - 1;
  }

  /** Table index holding `owner`, or the free index where it would go. */
  private find(owner: string, h: number): number {
    const meta = this.meta;
    const mask = this.mask;
    let i = h & mask;
    while (true) {
      if (meta[2 * i + 1] === 0) return i;
      if (meta[2 * i] === h && this.keyOf[meta[2 * i + 1]! - 1] === owner) return i;
      i = (i + 1) & mask;
    }
  }

  /** The owner's slot, or -1. */
  get(owner: string): number {
    const h = hashOf(owner);
    const i = this.find(owner, h);
    this.lastKey = owner;
    this.lastHash = h;
    this.lastIndex = i;
    return this.meta[2 * i + 1]! - 1;
  }

  set(owner: string, slot: number): void {
    const cached = owner === this.lastKey && owner !== '';
    const h = cached ? this.lastHash : hashOf(owner);
    const i = cached ? this.lastIndex : this.find(owner, h);
    this.lastKey = '';
    if (this.meta[2 * i + 1] === 0) {
      this.meta[2 * i] = h;
      this.size++;
    }
    this.meta[2 * i + 1] = slot + 1;
    if (this.size * 2 > this.mask) this.grow();
  }

  delete(owner: string): void {
    const cached = owner === this.lastKey && owner !== '';
    let i = cached ? this.lastIndex : this.find(owner, hashOf(owner));
    this.lastKey = '';
    const { meta, mask } = this;
    if (meta[2 * i + 1] === 0) return;
    this.size--;
    let j = i;
    while (true) {
      j = (j + 1) & mask;
      if (meta[2 * j + 1] === 0) break;
      const home = meta[2 * j]! & mask;
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      meta[2 * i] = meta[2 * j]!;
      meta[2 * i + 1] = meta[2 * j + 1]!;
      i = j;
    }
    meta[2 * i] = 0;
    meta[2 * i + 1] = 0;
  }

  /** Owners and their slots. */
  *entries(): IterableIterator<[string, number]> {
    for (let i = 1; i < this.meta.length; i += 2) {
      const slot = this.meta[i]! - 1;
      if (slot >= 0) yield [this.keyOf[slot]!, slot];
    }
  }

  private grow(): void {
    const meta = this.meta;
    const n = meta.length; // entries double: 2 * (old entries)
    const mask = n - 1;
    const next = new Int32Array(2 * n);
    for (let i = 0; i < n / 2; i++) {
      const s = meta[2 * i + 1]!;
      if (s === 0) continue;
      const h = meta[2 * i]!;
      let at = h & mask;
      while (next[2 * at + 1] !== 0) at = (at + 1) & mask; // keys are distinct: the first free entry
      next[2 * at] = h;
      next[2 * at + 1] = s;
    }
    this.meta = next;
    this.mask = mask;
  }
}
