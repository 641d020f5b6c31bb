// One address family of one subnet: which addresses are usable, held, parked, and which to hand
// out next.
//
// Allocation is lowest-free-first per pool with a cursor that only moves forward over the pool's
// usable ranges, skipping addresses whose state is non-zero (held, parked, taken statically). Every
// usable address behind the cursor is therefore held or parked, so the next never-used address is
// found in amortised O(1). Released addresses are parked in a per-pool FIFO and handed out only when
// the cursor has run off the end, oldest release first. A layout change resets the cursors and
// rebuilds the FIFOs (keeping their order), so addresses that became usable again are found.

import { cidrContains, type Family } from './address.ts';
import { AddressIndex, parkedState } from './address-index.ts';
import {
  contains,
  count,
  formatRanges,
  fromSorted,
  indexOf,
  intersect,
  normalize,
  type Range,
  subtract,
} from './intervals.ts';
import type { FamilyLayout } from './spec.ts';

/** Why an address may not be handed out, or 'ok'. */
export type Verdict = 'ok' | 'out-of-range' | 'reserved' | 'gateway' | 'excluded';

export const DEFAULT_POOL = '';

/** `Pool.fresh`, `Pool.released` and `Space.peekOffset` results that are not a window offset. */
export const NO_ADDRESS = -1;
/** The address lies beyond the index's paged window: it is in `farPick`. */
export const FAR = -2;

export class Pool {
  readonly name: string;
  /** Usable addresses of this pool. */
  readonly ranges: readonly Range[];
  readonly size: bigint;
  /** Held addresses inside `ranges`. */
  held = 0;
  /** The address of the last FAR result. */
  farPick = 0n;
  /**
   * Released addresses, oldest first, from `head`, each with the ticket it was parked with. An entry
   * counts only while its address is still parked with that ticket: taking a parked address (static
   * request, restore) just changes its state, and the stale entry is skipped later, in O(1). An entry
   * is the address's offset in the index's window (numbers, no bigint work), or -1 - k for an address
   * beyond the window, which is then `farParked.get(k)`.
   */
  private fifo: number[] = [];
  private tickets: number[] = [];
  private readonly farParked = new Map<number, bigint>();
  private farCount = 0;
  private head = 0;
  private ticket = 0;
  /** Cursor: index of the current range, and the next candidate address in it. */
  private at = 0;
  /** The next candidate while the cursor is outside the window (`off` < 0). */
  private next: bigint;
  /** While the candidate is inside the index's paged window: its offset there, and the last offset to scan. */
  private off = -1;
  private lastOff = -1;

  constructor(name: string, ranges: readonly Range[]) {
    this.name = name;
    this.ranges = ranges;
    this.size = count(ranges);
    this.next = ranges[0]?.lo ?? 0n;
  }

  /**
   * The lowest never-used address (state 0) at or after the cursor: its window offset, FAR (the
   * address is then in `farPick`) or NO_ADDRESS.
   */
  fresh(index: AddressIndex): number {
    const ranges = this.ranges;
    while (this.at < ranges.length) {
      if (this.off >= 0) {
        // inside the window: scan offsets as numbers (no bigint work per skipped address)
        let o = this.off;
        const last = this.lastOff;
        while (o <= last && index.getAt(o) !== 0) o++;
        if (o <= last) {
          this.off = o;
          return o;
        }
        this.off = -1;
        this.next = index.base + BigInt(o);
        continue;
      }
      const r = ranges[this.at]!;
      if (this.next > r.hi) {
        this.at++;
        this.next = ranges[this.at]?.lo ?? 0n;
        continue;
      }
      const from = index.offset(this.next);
      if (from >= 0) {
        const end = index.offset(r.hi);
        this.off = from;
        this.lastOff = end < 0 ? index.lastOffset : end;
        continue;
      }
      // outside the window (far into an IPv6 range): one address at a time
      if (index.get(this.next) === 0) {
        this.farPick = this.next;
        return FAR;
      }
      this.next++;
    }
    return NO_ADDRESS;
  }

  /** The oldest still-parked released address: its window offset, FAR (then in `farPick`) or NO_ADDRESS. */
  released(index: AddressIndex): number {
    const fifo = this.fifo;
    while (this.head < fifo.length) {
      const o = fifo[this.head]!;
      const state = parkedState(this.tickets[this.head]!);
      if (o >= 0) {
        if (index.getAt(o) === state) return o;
      } else {
        const a = this.farParked.get(-1 - o)!;
        if (index.get(a) === state) {
          this.farPick = a;
          return FAR;
        }
        this.farParked.delete(-1 - o);
      }
      this.head++;
    }
    if (this.head > 0) this.compact();
    return NO_ADDRESS;
  }

  /**
   * Parks an address at the end of the queue: `o` is its window offset, or -1 when it lies beyond the
   * window and is given as `a`. Returns its state for the index.
   */
  park(o: number, a: bigint | undefined): number {
    if (this.head > 4096 && this.head * 2 > this.fifo.length) this.compact();
    const ticket = this.ticket++ & 0x3fffffff;
    if (o >= 0) {
      this.fifo.push(o);
    } else {
      const k = this.farCount++;
      this.farParked.set(k, a!);
      this.fifo.push(-1 - k);
    }
    this.tickets.push(ticket);
    return parkedState(ticket);
  }

  /** Parked addresses still valid under `index`, oldest first. */
  parked(index: AddressIndex): bigint[] {
    const out: bigint[] = [];
    for (let i = this.head; i < this.fifo.length; i++) {
      const o = this.fifo[i]!;
      const state = parkedState(this.tickets[i]!);
      const a = o >= 0 ? index.base + BigInt(o) : this.farParked.get(-1 - o)!;
      if (index.get(a) === state) out.push(a);
    }
    return out;
  }

  private compact(): void {
    for (let i = 0; i < this.head; i++) if (this.fifo[i]! < 0) this.farParked.delete(-1 - this.fifo[i]!);
    this.fifo = this.fifo.slice(this.head);
    this.tickets = this.tickets.slice(this.head);
    this.head = 0;
  }
}

export interface HeldConflict {
  readonly address: bigint;
  readonly slot: number;
  readonly verdict: Exclude<Verdict, 'ok'>;
}

/** Address states of one family: counts and range strings as in a Subnet's status. */
export interface SpaceStatus {
  availableIPs: number;
  usingIPs: number;
  availableIPrange: string;
  usingIPrange: string;
}

export class Space {
  readonly family: Family;
  layout: FamilyLayout;
  /** True once the subnet dropped this family: nothing is usable, held addresses stay until released. */
  retired = false;
  index: AddressIndex;
  pools = new Map<string, Pool>();
  private usableCount: bigint;
  /** Named pools' ranges, sorted, and the pool of each, for finding the pool of an address. */
  private boundRanges: Range[] = [];
  private boundPools: Pool[] = [];
  private defaultPool!: Pool;
  /**
   * IPv4 only, while the space is active: the layout as numbers (first and last usable address,
   * gateway or -1, excluded ranges as [lo, hi] pairs), so releasing an IPv4 address needs no bigint.
   */
  private v4: { first: number; last: number; gateway: number; excluded: Float64Array } | undefined;
  private heldCount = 0;
  /** Held addresses that are not usable (after a layout change or a restore). */
  private outside = 0;

  constructor(layout: FamilyLayout, pools: ReadonlyMap<string, readonly Range[]>) {
    this.family = layout.cidr.family;
    this.layout = layout;
    this.usableCount = count(layout.usable);
    this.index = this.newIndex(layout);
    this.buildPools(pools);
    this.v4 = this.numericLayout();
  }

  private numericLayout(): Space['v4'] {
    if (this.family !== 4 || this.retired) return undefined;
    const { cidr, gateway, excluded } = this.layout;
    const pairs = new Float64Array(2 * excluded.length);
    excluded.forEach((r, i) => {
      pairs[2 * i] = Number(r.lo);
      pairs[2 * i + 1] = Number(r.hi);
    });
    return {
      first: Number(cidr.first),
      last: Number(cidr.last),
      gateway: gateway === undefined ? -1 : Number(gateway),
      excluded: pairs,
    };
  }

  private newIndex(layout: FamilyLayout): AddressIndex {
    const window = this.family === 4 ? layout.cidr.size : 1n << 24n;
    return new AddressIndex(layout.cidr.network, window < layout.cidr.size ? window : layout.cidr.size);
  }

  private buildPools(specs: ReadonlyMap<string, readonly Range[]>): void {
    const usable = this.retired ? [] : this.layout.usable;
    this.pools = new Map();
    const bounds: { range: Range; pool: Pool }[] = [];
    let named: Range[] = [];
    for (const [name, ranges] of specs) {
      const pool = new Pool(name, intersect(usable, ranges));
      this.pools.set(name, pool);
      for (const range of pool.ranges) bounds.push({ range, pool });
      named = named.concat(ranges);
    }
    bounds.sort((a, b) => (a.range.lo < b.range.lo ? -1 : 1));
    this.boundRanges = bounds.map((b) => b.range);
    this.boundPools = bounds.map((b) => b.pool);
    this.defaultPool = new Pool(DEFAULT_POOL, subtract(usable, normalize(named)));
    this.pools.set(DEFAULT_POOL, this.defaultPool);
  }

  get held(): number {
    return this.heldCount;
  }

  classify(a: bigint): Verdict {
    const { cidr, gateway, excluded } = this.layout;
    if (this.retired || !cidrContains(cidr, a)) return 'out-of-range';
    if (a < cidr.first || a > cidr.last) return 'reserved';
    if (a === gateway) return 'gateway';
    if (contains(excluded, a)) return 'excluded';
    return 'ok';
  }

  /** The pool an address belongs to, or undefined when it is not usable. */
  poolOf(a: bigint): Pool | undefined {
    if (this.classify(a) !== 'ok') return undefined;
    const i = this.boundRanges.length === 0 ? -1 : indexOf(this.boundRanges, a);
    if (i >= 0) return this.boundPools[i];
    return this.defaultPool;
  }

  /**
   * The next address to hand out from `pool`, never-used first, then the oldest released: its offset
   * in `index`'s window, FAR (the address is then `pool.farPick`) or NO_ADDRESS.
   */
  peekOffset(pool: Pool): number {
    const o = pool.fresh(this.index);
    return o === NO_ADDRESS ? pool.released(this.index) : o;
  }

  /** `peekOffset` as an address. */
  peek(pool: Pool): bigint | undefined {
    const o = this.peekOffset(pool);
    if (o >= 0) return this.index.base + BigInt(o);
    return o === FAR ? pool.farPick : undefined;
  }

  /** Marks `a` held by `slot`; `pool` is poolOf(a). The caller checked that `a` is free or parked. */
  claim(a: bigint, slot: number, pool: Pool | undefined): void {
    this.index.set(a, slot + 1);
    this.counted(pool);
  }

  /** `claim` of the address at window offset `o`. */
  claimAt(o: number, slot: number, pool: Pool | undefined): void {
    this.index.setAt(o, slot + 1);
    this.counted(pool);
  }

  private counted(pool: Pool | undefined): void {
    this.heldCount++;
    if (pool === undefined) this.outside++;
    else pool.held++;
  }

  /** Frees `a`: parked for later reuse when usable, forgotten otherwise. */
  release(a: bigint): void {
    const pool = this.poolOf(a);
    this.heldCount--;
    if (pool === undefined) {
      this.outside--;
      this.index.set(a, 0);
    } else {
      pool.held--;
      const o = this.index.offset(a);
      this.index.set(a, pool.park(o, o < 0 ? a : undefined));
    }
  }

  /**
   * `release` of an IPv4 address given as a number: the common case (inside the window, usable, no
   * named pools) with number arithmetic only, anything else through `release`.
   */
  releaseV4(value: number): void {
    const v4 = this.v4;
    const o = value - this.index.baseNumber;
    if (v4 === undefined || this.boundRanges.length > 0 || o < 0 || o > this.index.lastOffset) {
      this.release(BigInt(value));
      return;
    }
    let usable = value >= v4.first && value <= v4.last && value !== v4.gateway;
    const ex = v4.excluded;
    if (usable && ex.length > 0) {
      // binary search for the last excluded range starting at or below value
      let lo = 0;
      let hi = ex.length / 2 - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (ex[2 * mid]! <= value) lo = mid + 1;
        else hi = mid - 1;
      }
      if (hi >= 0 && value <= ex[2 * hi + 1]!) usable = false;
    }
    this.heldCount--;
    if (!usable) {
      this.outside--;
      this.index.setAt(o, 0);
    } else {
      const pool = this.defaultPool;
      pool.held--;
      this.index.setAt(o, pool.park(o, undefined));
    }
  }

  /** Applies a new layout and pools; returns the held addresses that are no longer usable. */
  relayout(
    layout: FamilyLayout,
    pools: ReadonlyMap<string, readonly Range[]>,
    retired = false,
  ): HeldConflict[] {
    const parkedInOrder = [...this.pools.values()].flatMap((p) => p.parked(this.index));
    const { addrs, states } = this.index.entries();
    this.layout = layout;
    this.retired = retired;
    this.usableCount = retired ? 0n : count(layout.usable);
    this.index = this.newIndex(layout);
    this.buildPools(pools);
    this.v4 = this.numericLayout();
    this.heldCount = 0;
    this.outside = 0;
    const conflicts: HeldConflict[] = [];
    addrs.forEach((a, i) => {
      const state = states[i]!;
      if (state < 0) return;
      const verdict = this.classify(a);
      this.claim(a, state - 1, this.poolOf(a));
      if (verdict !== 'ok') conflicts.push({ address: a, slot: state - 1, verdict });
    });
    for (const a of parkedInOrder) {
      const pool = this.poolOf(a);
      if (pool === undefined || this.index.get(a) !== 0) continue;
      const o = this.index.offset(a);
      this.index.set(a, pool.park(o, o < 0 ? a : undefined));
    }
    return conflicts;
  }

  /** Held addresses, ascending. */
  heldAddresses(): bigint[] {
    const { addrs, states } = this.index.entries();
    return addrs.filter((_, i) => states[i]! > 0);
  }

  status(): SpaceStatus {
    const held = fromSorted(this.heldAddresses());
    const usable = this.retired ? [] : this.layout.usable;
    return {
      availableIPs: Number(this.usableCount - BigInt(this.heldCount - this.outside)),
      usingIPs: this.heldCount,
      availableIPrange: formatRanges(this.family, subtract(usable, held)),
      usingIPrange: formatRanges(this.family, held),
    };
  }

  poolStatus(pool: Pool): SpaceStatus {
    const held = fromSorted(this.heldAddresses());
    return {
      availableIPs: Number(pool.size - BigInt(pool.held)),
      usingIPs: pool.held,
      availableIPrange: formatRanges(this.family, subtract(pool.ranges, held)),
      usingIPrange: formatRanges(this.family, intersect(held, pool.ranges)),
    };
  }
}
