// Allocations as slots in parallel arrays (owner, subnet, IPv4, IPv6, MAC) rather than one object
// each: about 40 bytes a slot, and address indexes refer to a slot by number. Freed slots are reused.
// IPv4 addresses and MACs are exact in a float64, so they live in typed arrays; IPv6 needs bigints,
// in an array that grows only when an IPv6 address is stored (IPv4-only use never touches it).
import type { Family } from './address.ts';

/** Marks a missing IPv4 address or MAC in the typed columns. */
export const NONE = -1;

export class SlotTable {
  readonly owner: string[] = [];
  readonly subnet: string[] = [];
  v4: Float64Array = new Float64Array(1024);
  /** IPv6 addresses, extended only up to the highest slot that ever had one (none for IPv4-only use). */
  private readonly v6s: (bigint | undefined)[] = [];
  mac: Float64Array = new Float64Array(1024);
  private readonly free: number[] = [];
  /** Slots in use. */
  size = 0;

  /** A new slot for `owner` with no addresses and no MAC yet. */
  add(owner: string, subnet: string): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.owner.length;
      this.owner.push(owner);
      this.subnet.push(subnet);
      if (slot === this.mac.length) {
        this.v4 = grown(this.v4);
        this.mac = grown(this.mac);
      }
    } else {
      this.owner[slot] = owner;
      this.subnet[slot] = subnet;
    }
    this.v4[slot] = NONE;
    this.mac[slot] = NONE;
    this.size++;
    return slot;
  }

  remove(slot: number): void {
    this.owner[slot] = '';
    this.subnet[slot] = '';
    this.v4[slot] = NONE;
    if (slot < this.v6s.length) this.v6s[slot] = undefined;
    this.mac[slot] = NONE;
    this.free.push(slot);
    this.size--;
  }

  v6(slot: number): bigint | undefined {
    return slot < this.v6s.length ? this.v6s[slot] : undefined;
  }

  setV6(slot: number, a: bigint): void {
    const v6s = this.v6s;
    while (v6s.length <= slot) v6s.push(undefined);
    v6s[slot] = a;
  }

  addr(family: Family, slot: number): bigint | undefined {
    if (family === 6) return this.v6(slot);
    const v4 = this.v4[slot]!;
    return v4 === NONE ? undefined : BigInt(v4);
  }

  setAddr(family: Family, slot: number, a: bigint): void {
    if (family === 4) this.v4[slot] = Number(a);
    else this.setV6(slot, a);
  }
}

function grown(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}
