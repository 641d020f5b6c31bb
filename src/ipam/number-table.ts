// A hash map from non-negative integers below 2^53 (48-bit MACs) to small integer values: open
// addressing with linear probing and backward-shift deletion over one Float64Array holding key and
// value side by side, so a probe touches one cache line. About 32 bytes an entry and no per-entry
// objects, where a Map with such keys costs a heap number and an entry each.

const EMPTY = -1;

export class NumberTable {
  /** [key0, value0, key1, value1, ...]; a key of EMPTY marks a free slot. */
  private data: Float64Array;
  /** Number of slots - 1 (slots are a power of two). */
  private mask: number;
  size = 0;

  constructor(capacity = 1024) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.data = new Float64Array(2 * n).fill(EMPTY);
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
    const data = this.data;
    let i = this.home(key);
    while (true) {
      const k = data[2 * i]!;
      if (k === key || k === EMPTY) return i;
      i = (i + 1) & this.mask;
    }
  }

  has(key: number): boolean {
    return this.data[2 * this.slotOf(key)] === key;
  }

  /** The value for `key`, or `missing`. */
  get(key: number, missing: number): number {
    const i = this.slotOf(key);
    return this.data[2 * i] === key ? this.data[2 * i + 1]! : missing;
  }

  set(key: number, value: number): void {
    const i = this.slotOf(key);
    if (this.data[2 * i] !== key) {
      this.data[2 * i] = key;
      this.size++;
    }
    this.data[2 * i + 1] = value;
    if (this.size * 2 > this.mask) this.grow();
  }

  /** Adds `key` unless present; true when added. One probe for "check, then set". */
  add(key: number, value: number): boolean {
    const i = this.slotOf(key);
    if (this.data[2 * i] === key) return false;
    this.data[2 * i] = key;
    this.data[2 * i + 1] = value;
    this.size++;
    if (this.size * 2 > this.mask) this.grow();
    return true;
  }

  delete(key: number): boolean {
    const data = this.data;
    let i = this.slotOf(key);
    if (data[2 * i] !== key) return false;
    this.size--;
    // Backward-shift: move later members of the probe run into the hole so lookups never stop early.
    let j = i;
    while (true) {
      j = (j + 1) & this.mask;
      const k = data[2 * j]!;
      if (k === EMPTY) break;
      const home = this.home(k);
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      data[2 * i] = k;
      data[2 * i + 1] = data[2 * j + 1]!;
      i = j;
    }
    data[2 * i] = EMPTY;
    return true;
  }

  /** Makes room for `extra` more entries at once (one rehash instead of several). */
  reserve(extra: number): void {
    while ((this.size + extra) * 2 > this.mask) this.grow();
  }

  private grow(): void {
    const old = this.data;
    const n = old.length; // slots double: 2 * (old slots)
    this.data = new Float64Array(2 * n).fill(EMPTY);
    this.mask = n - 1;
    for (let i = 0; i < old.length; i += 2) {
      const k = old[i]!;
      if (k === EMPTY) continue;
      const s = this.slotOf(k);
      this.data[2 * s] = k;
      this.data[2 * s + 1] = old[i + 1]!;
    }
  }
}
