// A hash map from non-negative integers below 2^53 (48-bit MACs) to int32 values: open addressing
// with linear probing and backward-shift deletion over a Float64Array of keys and an Int32Array of
// values. A probe reads only the keys (8 bytes an entry, so a cache line holds 8 of them; the value
// is read on a hit only): the table is random-access by nature, and its probe was the hottest line of
// the allocate + release profile with keys and values interleaved. About 24 bytes an entry (at most
// half full) and no per-entry objects, where a Map with such keys costs a heap number and an entry each.

const EMPTY = -1;

export class NumberTable {
  /** Key of each slot; EMPTY marks a free slot. */
  private keys: Float64Array;
  private values: Int32Array;
  /** Number of slots - 1 (slots are a power of two). */
  private mask: number;
  size = 0;

  constructor(capacity = 1024) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.keys = new Float64Array(n).fill(EMPTY);
    this.values = new Int32Array(n);
    this.mask = n - 1;
  }

  /** Where the probe for `key` starts. */
  private home(key: number): number {
    const lo = key >>> 0;
    const hi = (key / 4294967296) >>> 0;
    const h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1);
    return (h ^ (h >>> 15)) & this.mask;
  }

  /** The slot holding `key`, or the empty slot where it would go. */
  private slotOf(key: number): number {
    const keys = this.keys;
    let i = this.home(key);
    while (true) {
      const k = keys[i]!;
      if (k === key || k === EMPTY) return i;
      i = (i + 1) & this.mask;
    }
  }

  has(key: number): boolean {
    return this.keys[this.slotOf(key)] === key;
  }

  /** The value for `key`, or `missing`. */
  get(key: number, missing: number): number {
    const i = this.slotOf(key);
    return this.keys[i] === key ? this.values[i]! : missing;
  }

  set(key: number, value: number): void {
    const i = this.slotOf(key);
    if (this.keys[i] !== key) {
      this.keys[i] = key;
      this.size++;
    }
    this.values[i] = value;
    if (this.size * 2 > this.mask) this.grow();
  }

  /** Adds `key` unless present; true when added. One probe for "check, then set". */
  add(key: number, value: number): boolean {
    const i = this.slotOf(key);
    if (this.keys[i] === key) return false;
    this.keys[i] = key;
    this.values[i] = value;
    this.size++;
    if (this.size * 2 > this.mask) this.grow();
    return true;
  }

  delete(key: number): boolean {
    const { keys, values } = this;
    let i = this.slotOf(key);
    if (keys[i] !== key) return false;
    this.size--;
    // Backward-shift: move later members of the probe run into the hole so lookups never stop early.
    let j = i;
    while (true) {
      j = (j + 1) & this.mask;
      const k = keys[j]!;
      if (k === EMPTY) break;
      const home = this.home(k);
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      keys[i] = k;
      values[i] = values[j]!;
      i = j;
    }
    keys[i] = EMPTY;
    return true;
  }

  /** Makes room for `extra` more entries at once (one rehash instead of several). */
  reserve(extra: number): void {
    while ((this.size + extra) * 2 > this.mask) this.grow();
  }

  private grow(): void {
    const { keys, values } = this;
    const n = keys.length * 2;
    this.keys = new Float64Array(n).fill(EMPTY);
    this.values = new Int32Array(n);
    this.mask = n - 1;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k === EMPTY) continue;
      const s = this.slotOf(k);
      this.keys[s] = k;
      this.values[s] = values[i]!;
    }
  }
}
