// Address -> state for one family of one subnet. A state is an int32: 0 (absent: free or never used),
// negative (released and parked in the reuse queue: parkedState(ticket)) or slot + 1 (held by `slot`).
//
// Addresses in a window above `base` (the subnet's network) live in lazily created Int32Array pages,
// 4 bytes an address, so a lookup is a subtraction and two array reads; anything else (IPv6 beyond the
// window, addresses left outside the CIDR after it changed) goes to a Map. The window is the whole
// subnet for IPv4 and 2^24 addresses for IPv6, so a page is never created for the rest of a /64.

/** State of a parked address; `ticket` ties it to its entry in the reuse queue. */
export const parkedState = (ticket: number): number => -1 - (ticket & 0x3fffffff);

const PAGE_BITS = 10;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;

export class AddressIndex {
  readonly base: bigint;
  /** `base` as a number: exact for IPv4, where address = baseNumber + offset needs no bigint. */
  readonly baseNumber: number;
  private readonly window: bigint;
  /** Last offset inside the window. */
  readonly lastOffset: number;
  private readonly pages: (Int32Array | undefined)[] = [];
  private readonly far = new Map<bigint, number>();
  /** Number of addresses with a non-zero state. */
  size = 0;

  constructor(base: bigint, window: bigint) {
    this.base = base;
    this.baseNumber = Number(base);
    this.window = window;
    this.lastOffset = Number(window) - 1;
  }

  /** Offset of `a` in the paged window, or -1 when it lies outside. */
  offset(a: bigint): number {
    const d = a - this.base;
    return d >= 0n && d < this.window ? Number(d) : -1;
  }

  /** State at a window offset. */
  getAt(o: number): number {
    const page = this.pages[o >>> PAGE_BITS];
    return page === undefined ? 0 : page[o & PAGE_MASK]!;
  }

  get(a: bigint): number {
    const o = this.offset(a);
    return o >= 0 ? this.getAt(o) : (this.far.get(a) ?? 0);
  }

  /** Sets a non-zero state, or removes the address when `state` is 0; returns the previous state. */
  set(a: bigint, state: number): number {
    const o = this.offset(a);
    if (o >= 0) return this.setAt(o, state);
    const before = this.far.get(a) ?? 0;
    if (state === 0) this.far.delete(a);
    else this.far.set(a, state);
    this.size += (state !== 0 ? 1 : 0) - (before !== 0 ? 1 : 0);
    return before;
  }

  /** `set` at a window offset (0 <= o <= lastOffset). */
  setAt(o: number, state: number): number {
    const p = o >>> PAGE_BITS;
    let page = this.pages[p];
    if (page === undefined) {
      if (state === 0) return 0;
      page = new Int32Array(PAGE_SIZE);
      this.pages[p] = page;
    }
    const before = page[o & PAGE_MASK]!;
    page[o & PAGE_MASK] = state;
    this.size += (state !== 0 ? 1 : 0) - (before !== 0 ? 1 : 0);
    return before;
  }

  /** Every address with a non-zero state, ascending, with its state. */
  entries(): { addrs: bigint[]; states: number[] } {
    const below: bigint[] = [];
    const above: bigint[] = [];
    for (const a of this.far.keys()) (a < this.base ? below : above).push(a);
    const asc = (x: bigint, y: bigint) => (x < y ? -1 : x > y ? 1 : 0);
    below.sort(asc);
    above.sort(asc);
    const addrs: bigint[] = [...below];
    const states: number[] = below.map((a) => this.far.get(a)!);
    this.pages.forEach((page, p) => {
      if (page === undefined) return; // forEach skips holes; this keeps the type checker content
      for (let i = 0; i < PAGE_SIZE; i++) {
        const s = page[i]!;
        if (s === 0) continue;
        addrs.push(this.base + BigInt(p * PAGE_SIZE + i));
        states.push(s);
      }
    });
    for (const a of above) {
      addrs.push(a);
      states.push(this.far.get(a)!);
    }
    return { addrs, states };
  }
}
