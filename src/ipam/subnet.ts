// One subnet's state: its validated layout, one Space per family, owner -> slot, and its pools.
import type { Family } from './address.ts';
import { PoolOverlapError } from './errors.ts';
import { intersect, type Range } from './intervals.ts';
import { OwnerTable } from './owners.ts';
import { type HeldConflict, Space } from './space.ts';
import type { FamilyLayout, PoolRanges, SubnetLayout } from './spec.ts';

export const FAMILIES: readonly Family[] = [4, 6];

export class Subnet {
  layout: SubnetLayout;
  gatewayMac: number;
  /** Owner key -> slot; `ownerOfSlot` is the slot table's owner column. */
  readonly owners: OwnerTable;
  /** Named pools as given (clipped to usable space per family when applied). */
  readonly pools = new Map<string, PoolRanges>();
  private readonly spaces: { 4: Space | undefined; 6: Space | undefined } = { 4: undefined, 6: undefined };

  constructor(layout: SubnetLayout, gatewayMac: number, ownerOfSlot: readonly string[]) {
    this.layout = layout;
    this.gatewayMac = gatewayMac;
    this.owners = new OwnerTable(ownerOfSlot);
    this.apply(layout);
  }

  get name(): string {
    return this.layout.name;
  }

  /** The family's space, retired ones included (they only hold addresses until released). */
  space(family: Family): Space | undefined {
    return this.spaces[family];
  }

  /** The family's space when the subnet currently has that family. */
  active(family: Family): Space | undefined {
    const s = this.spaces[family];
    return s === undefined || s.retired ? undefined : s;
  }

  private poolRanges(family: Family): Map<string, readonly Range[]> {
    const out = new Map<string, readonly Range[]>();
    for (const [name, p] of this.pools) out.set(name, family === 4 ? p.v4 : p.v6);
    return out;
  }

  /** Applies a (new) layout; returns the held addresses that it makes unusable, per family. */
  apply(layout: SubnetLayout): { family: Family; conflicts: HeldConflict[] }[] {
    this.layout = layout;
    const out: { family: Family; conflicts: HeldConflict[] }[] = [];
    for (const family of FAMILIES) {
      const next: FamilyLayout | undefined = family === 4 ? layout.v4 : layout.v6;
      const space = this.spaces[family];
      if (space === undefined) {
        if (next !== undefined) this.spaces[family] = new Space(next, this.poolRanges(family));
        continue;
      }
      const conflicts = space.relayout(next ?? space.layout, this.poolRanges(family), next === undefined);
      out.push({ family, conflicts });
      this.dropIfEmpty(family);
    }
    return out;
  }

  /** Forgets a retired family's space once nothing is held in it. */
  dropIfEmpty(family: Family): void {
    const s = this.spaces[family];
    if (s?.retired && s.held === 0) this.spaces[family] = undefined;
  }

  setPool(name: string, ranges: PoolRanges): void {
    for (const [other, p] of this.pools) {
      if (other === name) continue;
      const clash = intersect(p.v4, ranges.v4)[0] ?? intersect(p.v6, ranges.v6)[0];
      if (clash !== undefined) throw new PoolOverlapError('ips', name, other);
    }
    this.pools.set(name, ranges);
    this.applyPools();
  }

  removePool(name: string): boolean {
    const had = this.pools.delete(name);
    if (had) this.applyPools();
    return had;
  }

  private applyPools(): void {
    for (const family of FAMILIES) {
      const s = this.spaces[family];
      s?.relayout(s.layout, this.poolRanges(family), s.retired);
    }
  }
}
