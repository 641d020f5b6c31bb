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

export class Pool {
  readonly name: string;
  /** Usable addresses of this pool. */
  readonly ranges: readonly Range[];
  readonly size: bigint;
  /** Held addresses inside `ranges`. */
  held = 0;
  /**
   * Released addresses, oldest first, from `head`, each with the ticket it was parked with. An entry
   * counts only while its address is still parked with that ticket: taking a parked address (static
   * request, restore) just changes its state, and the stale entry is skipped later, in O(1).
   */
  private fifo: bigint[] = [];
  private tickets: number[] = [];
  private head = 0;
  private ticket = 0;
  /** Cursor: index of the current range, and the next candidate address in it. */
  private at = 0;
  private next: bigint;
  /** While `next` is inside the index's paged window: its offset there, and the last offset to scan. */
  private off = -1;
  private lastOff = -1;

  constructor(name: string, ranges: readonly Range[]) {
    this.name = name;
    this.ranges = ranges;
    this.size = count(ranges);
    this.next = ranges[0]?.lo ?? 0n;
  }

  /** The lowest never-used address (state 0) at or after the cursor, or undefined. */
  nextFresh(index: AddressIndex): bigint | undefined {
    const ranges = this.ranges;
    while (this.at < ranges.length) {
      if (this.off >= 0) {
        // inside the window: scan offsets as numbers (no bigint work per skipped address)
        let o = this.off;
        while (o <= this.lastOff && index.getAt(o) !== 0) o++;
        if (o !== this.off) this.next = index.base + BigInt(o);
        if (o <= this.lastOff) {
          this.off = o;
          return this.next;
        }
        this.off = -1;
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
      if (index.get(this.next) === 0) return this.next;
      this.next++;
    }
    return undefined;
  }

  /** The oldest still-parked released address, or undefined. */
  nextReleased(index: AddressIndex): bigint | undefined {
    while (this.head < this.fifo.length) {
      const a = this.fifo[this.head]!;
      if (index.get(a) === parkedState(this.tickets[this.head]!)) return a;
      this.head++;
    }
    if (this.head > 0) this.compact();
    return undefined;
  }

  /** Parks `a` at the end of the queue; returns its state for the index. */
  park(a: bigint): number {
    if (this.head > 4096 && this.head * 2 > this.fifo.length) this.compact();
    const ticket = this.ticket++ & 0x3fffffff;
    this.fifo.push(a);
    this.tickets.push(ticket);
    return parkedState(ticket);
  }

  /** Parked addresses still valid under `index`, oldest first. */
  parked(index: AddressIndex): bigint[] {
    return this.fifo.filter((a, i) => i >= this.head && index.get(a) === parkedState(this.tickets[i]!));
  }

  private compact(): void {
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
  private heldCount = 0;
  /** Held addresses that are not usable (after a layout change or a restore). */
  private outside = 0;

  constructor(layout: FamilyLayout, pools: ReadonlyMap<string, readonly Range[]>) {
    this.family = layout.cidr.family;
    this.layout = layout;
    this.usableCount = count(layout.usable);
    this.index = this.newIndex(layout);
    this.buildPools(pools);
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
    this.pools.set(DEFAULT_POOL, new Pool(DEFAULT_POOL, subtract(usable, normalize(named))));
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
    return this.pools.get(DEFAULT_POOL);
  }

  /** The next address to hand out from `pool`: never-used first, then the oldest released. */
  peek(pool: Pool): bigint | undefined {
    return pool.nextFresh(this.index) ?? pool.nextReleased(this.index);
  }

  /** Marks `a` held by `slot`; `pool` is poolOf(a). The caller checked that `a` is free or parked. */
  claim(a: bigint, slot: number, pool: Pool | undefined): void {
    this.index.set(a, slot + 1);
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
      this.index.set(a, pool.park(a));
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
      if (pool !== undefined && this.index.get(a) === 0) this.index.set(a, pool.park(a));
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
