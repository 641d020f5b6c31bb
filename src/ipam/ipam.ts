// The IPAM facade the controller uses: subnets, pools, allocations per owner key, MACs, restore and
// status. Pure: no I/O, no clocks, randomness only through the injectable MAC byte source.
import { type Family, formatIp, formatV4, formatV6, parseIp } from './address.ts';
import {
  FamilyMismatchError,
  InvalidArgumentError,
  IpamError,
  IpConflictError,
  IpExcludedError,
  IpIsGatewayError,
  IpNotInPoolError,
  IpOutOfRangeError,
  MacConflictError,
  MacIsGatewayError,
  OwnerMismatchError,
  PoolExhaustedError,
  SubnetExhaustedError,
  UnknownPoolError,
  UnknownSubnetError,
} from './errors.ts';
import { formatMac, MacSource, parseMac, type RandomBytes } from './mac.ts';
import { NumberTable } from './number-table.ts';
import { NONE, SlotTable } from './slots.ts';
import {
  DEFAULT_POOL,
  FAR,
  NO_ADDRESS,
  type Pool,
  type Space,
  type SpaceStatus,
  type Verdict,
} from './space.ts';
import { type Protocol, parsePoolIps, parseSubnetSpec, type SubnetSpec } from './spec.ts';
import { FAMILIES, Subnet } from './subnet.ts';

export interface IpamOptions {
  /** Source of random bytes for MACs (default: node:crypto randomFillSync). */
  randomBytes?: RandomBytes;
}

export interface AllocateRequest {
  subnet: string;
  /** "<pod>.<ns>", "<vm>.<ns>", "node-<name>" or "<pod>.<ns>.<provider>". */
  owner: string;
  /** Static addresses: "v4", "v6", "v4,v6" (the ip_address annotation) or a list; other families are picked. */
  ips?: string | readonly string[];
  /** Static MAC (any case, ':' or '-'); stored lower case. */
  mac?: string;
  /** Allocate only from this ip pool. */
  pool?: string;
}

export interface Allocation {
  readonly subnet: string;
  readonly owner: string;
  readonly ipv4: string | undefined;
  readonly ipv6: string | undefined;
  /** The ip_address annotation: "v4", "v6" or "v4,v6". */
  readonly ipAddress: string;
  readonly mac: string;
}

/** A persisted allocation (IP CR, pod annotations) to rebuild state from. */
export interface AllocationRecord {
  subnet: string;
  owner: string;
  ips: string | readonly string[];
  mac?: string;
}

export interface RecordIssue {
  /** Position in the restored list. */
  readonly index: number;
  readonly record: AllocationRecord;
  readonly error: IpamError;
}

export interface RestoreReport {
  restored: number;
  /** Records not taken: they conflict with an earlier record (IP, MAC or owner) or are malformed. */
  rejected: RecordIssue[];
  /** Records taken although an address is outside the usable range (excluded, gateway, out of CIDR). */
  kept: RecordIssue[];
}

export interface HeldConflictReport {
  readonly owner: string;
  readonly ip: string;
  /** IpOutOfRangeError, IpExcludedError or IpIsGatewayError describing why the held address conflicts. */
  readonly error: IpamError;
}

export interface SubnetChange {
  /** Allocations the new spec makes invalid; they are kept until released. */
  conflicts: HeldConflictReport[];
}

/** Subnet status fields, named as in Kube-OVN's Subnet status. */
export interface SubnetStatus {
  v4availableIPs: number;
  v4usingIPs: number;
  v4availableIPrange: string;
  v4usingIPrange: string;
  v6availableIPs: number;
  v6usingIPs: number;
  v6availableIPrange: string;
  v6usingIPrange: string;
}

/** IPPool status fields, named as in Kube-OVN's IPPool status. */
export interface PoolStatus {
  v4AvailableIPs: number;
  v4UsingIPs: number;
  v4AvailableIPRange: string;
  v4UsingIPRange: string;
  v6AvailableIPs: number;
  v6UsingIPs: number;
  v6AvailableIPRange: string;
  v6UsingIPRange: string;
}

export interface SubnetInfo {
  readonly name: string;
  readonly protocol: Protocol;
  readonly cidrBlock: string;
  readonly gateway: string;
  readonly excludeIps: readonly string[];
  readonly gatewayMac: string;
  readonly pools: readonly string[];
}

interface StaticIp {
  readonly value: bigint;
  readonly text: string;
}

/** Requested addresses by family. */
interface Statics {
  4: StaticIp | undefined;
  6: StaticIp | undefined;
}

const EMPTY_STATUS: SpaceStatus = { availableIPs: 0, usingIPs: 0, availableIPrange: '', usingIPrange: '' };

function verdictError(verdict: Exclude<Verdict, 'ok'>, field: string, ip: string, subnet: string): IpamError {
  switch (verdict) {
    case 'gateway':
      return new IpIsGatewayError(field, ip, subnet);
    case 'excluded':
      return new IpExcludedError(field, ip, subnet);
    case 'reserved':
      return new IpOutOfRangeError(field, ip, subnet, 'network or broadcast address');
    default:
      return new IpOutOfRangeError(field, ip, subnet, 'not inside the subnet CIDR');
  }
}

/** `macs` value of a subnet gateway's MAC. */
const GATEWAY = -2;

function checkName(field: string, value: unknown): string {
  if (typeof value !== 'string' || value === '')
    throw new InvalidArgumentError(field, value, 'expected a non-empty string');
  return value;
}

export class Ipam {
  private readonly subnets = new Map<string, Subnet>();
  private readonly slots = new SlotTable();
  /** MAC -> slot (or GATEWAY), across all subnets. */
  private readonly macs = new NumberTable();
  /** Gateway MAC -> subnet name (each also in `macs` as GATEWAY). */
  private readonly gatewayMacs = new Map<number, string>();
  private readonly macSource: MacSource;

  constructor(options: IpamOptions = {}) {
    this.macSource = new MacSource(options.randomBytes);
  }

  // ---- subnets and pools ------------------------------------------------------------------------

  /** Adds or updates a subnet. On update, allocations the new spec makes invalid are reported, not dropped. */
  setSubnet(spec: SubnetSpec): SubnetChange {
    const layout = parseSubnetSpec(spec);
    const existing = this.subnets.get(layout.name);
    const requested = spec.gatewayMac ? parseMac(spec.gatewayMac, 'gatewayMac') : undefined;
    if (requested !== undefined && requested !== existing?.gatewayMac)
      this.checkFreeMac(requested, 'gatewayMac');
    if (existing === undefined) {
      const mac = requested ?? this.freshMac(GATEWAY);
      this.subnets.set(layout.name, new Subnet(layout, mac, this.slots.owner));
      this.setGatewayMac(mac, layout.name);
      return { conflicts: [] };
    }
    if (requested !== undefined && requested !== existing.gatewayMac) {
      this.dropGatewayMac(existing.gatewayMac);
      this.setGatewayMac(requested, layout.name);
      existing.gatewayMac = requested;
    }
    const conflicts: HeldConflictReport[] = [];
    for (const { family, conflicts: held } of existing.apply(layout)) {
      for (const c of held) {
        const ip = formatIp(family, c.address);
        const field = family === 4 ? 'v4IpAddress' : 'v6IpAddress';
        conflicts.push({
          owner: this.slots.owner[c.slot]!,
          ip,
          error: verdictError(c.verdict, field, ip, layout.name),
        });
      }
    }
    return { conflicts };
  }

  /** Removes a subnet with all its allocations; returns what was held. */
  removeSubnet(name: string): Allocation[] {
    const subnet = this.subnetOf(name);
    const held = [...subnet.owners.entries()];
    const dropped = held.map(([, slot]) => this.view(slot));
    for (const [owner] of held) this.release(name, owner);
    this.dropGatewayMac(subnet.gatewayMac);
    this.subnets.delete(name);
    return dropped;
  }

  /** Adds or replaces an ip pool: IPs, CIDRs and "a..b" ranges inside the subnet, overlapping no other pool. */
  setPool(subnet: string, name: string, ips: readonly string[]): void {
    const s = this.subnetOf(subnet);
    s.setPool(checkName('pool', name), parsePoolIps(ips, s.layout));
  }

  removePool(subnet: string, name: string): boolean {
    return this.subnetOf(subnet).removePool(name);
  }

  subnetInfo(name: string): SubnetInfo {
    const s = this.subnetOf(name);
    const { protocol, cidrBlock, gateway, excludeIps } = s.layout;
    return {
      name,
      protocol,
      cidrBlock,
      gateway,
      excludeIps,
      gatewayMac: formatMac(s.gatewayMac),
      pools: [...s.pools.keys()],
    };
  }

  subnetNames(): string[] {
    return [...this.subnets.keys()];
  }

  // ---- allocation -------------------------------------------------------------------------------

  /**
   * Returns the owner's addresses in the subnet, allocating what it lacks: the static IPs and MAC when
   * given, otherwise the lowest never-used address (then the oldest released one) of the pool.
   * All families or none. Asking again for the same owner returns the same addresses.
   */
  allocate(req: AllocateRequest): Allocation {
    if (typeof req !== 'object' || req === null)
      throw new InvalidArgumentError('request', req, 'expected an object');
    const subnet = this.subnetOf(req.subnet);
    const owner = checkName('owner', req.owner);
    const statics = req.ips === undefined ? undefined : this.parseStatics(req.ips, subnet);
    const staticMac = req.mac === undefined || req.mac === '' ? undefined : parseMac(req.mac, 'mac');
    const poolName = req.pool ?? DEFAULT_POOL;
    const slot = subnet.owners.get(owner);

    // A pick is a window offset (>= 0: dynamic, the common case, no bigint work) or an address (`at` -1).
    let at4 = -1;
    let pick4: bigint | undefined;
    let pool4: Pool | undefined;
    let at6 = -1;
    let pick6: bigint | undefined;
    let pool6: Pool | undefined;
    for (const family of FAMILIES) {
      const space = subnet.active(family);
      if (space === undefined) continue;
      const held = slot >= 0 ? this.slots.addr(family, slot) : undefined;
      const wanted = statics?.[family];
      if (held !== undefined) {
        if (wanted !== undefined && wanted.value !== held) {
          throw new OwnerMismatchError('ips', wanted.text, owner, formatIp(family, held));
        }
        continue;
      }
      const pool = space.pools.get(poolName);
      if (pool === undefined) throw new UnknownPoolError(subnet.name, poolName);
      let at = -1;
      let pick: bigint | undefined;
      if (wanted === undefined) {
        at = space.peekOffset(pool);
        if (at === FAR) pick = pool.farPick;
        else if (at === NO_ADDRESS) {
          throw poolName === DEFAULT_POOL
            ? new SubnetExhaustedError(subnet.name, family)
            : new PoolExhaustedError(subnet.name, poolName, family);
        }
      } else {
        pick = this.checkStatic(space, subnet.name, wanted, req.pool, pool);
      }
      const from = wanted === undefined ? pool : space.poolOf(pick!);
      if (family === 4) {
        at4 = at;
        pick4 = pick;
        pool4 = from;
      } else {
        at6 = at;
        pick6 = pick;
        pool6 = from;
      }
    }

    if (staticMac !== undefined) this.checkStaticMac(staticMac, slot, owner);

    // Everything is checked: commit.
    let s = slot;
    if (s < 0) {
      s = this.addSlot(owner, subnet.name, staticMac);
      subnet.owners.set(owner, s);
    }
    if (at4 >= 0) {
      const space = subnet.active(4)!;
      this.slots.v4[s] = space.index.baseNumber + at4;
      space.claimAt(at4, s, pool4);
    } else if (pick4 !== undefined) {
      this.slots.v4[s] = Number(pick4);
      subnet.active(4)!.claim(pick4, s, pool4);
    }
    if (at6 >= 0) {
      const space = subnet.active(6)!;
      this.slots.setV6(s, space.index.base + BigInt(at6));
      space.claimAt(at6, s, pool6);
    } else if (pick6 !== undefined) {
      this.slots.setV6(s, pick6);
      subnet.active(6)!.claim(pick6, s, pool6);
    }
    return this.view(s);
  }

  private parseStatics(ips: string | readonly string[], subnet: Subnet): Statics {
    const out: Statics = { 4: undefined, 6: undefined };
    const list =
      typeof ips === 'string' ? (ips.includes(',') ? ips.split(',') : ips === '' ? [] : [ips]) : ips;
    if (!Array.isArray(list))
      throw new InvalidArgumentError('ips', ips, 'expected a string or an array of strings');
    for (const text of list) {
      const ip = parseIp(text, 'ips');
      if (subnet.active(ip.family) === undefined) {
        throw new FamilyMismatchError('ips', text, `subnet ${subnet.name} has no IPv${ip.family} CIDR`);
      }
      if (out[ip.family] !== undefined)
        throw new FamilyMismatchError('ips', ips, `two IPv${ip.family} addresses`);
      out[ip.family] = { value: ip.value, text };
    }
    return out;
  }

  private checkStatic(
    space: Space,
    subnet: string,
    ip: StaticIp,
    poolName: string | undefined,
    pool: Pool,
  ): bigint {
    const verdict = space.classify(ip.value);
    if (verdict !== 'ok') throw verdictError(verdict, 'ips', ip.text, subnet);
    const state = space.index.get(ip.value);
    if (state > 0) throw new IpConflictError('ips', ip.text, subnet, this.slots.owner[state - 1]!);
    if (poolName !== undefined && poolName !== DEFAULT_POOL && space.poolOf(ip.value) !== pool) {
      throw new IpNotInPoolError('ips', ip.text, poolName);
    }
    return ip.value;
  }

  private checkStaticMac(mac: number, slot: number, owner: string): void {
    const text = formatMac(mac);
    const held = slot >= 0 ? this.slots.mac[slot]! : NONE;
    if (held !== NONE) {
      if (held !== mac) throw new OwnerMismatchError('mac', text, owner, formatMac(held));
      return;
    }
    this.checkFreeMac(mac, 'mac');
  }

  /** Throws unless no allocation and no gateway holds `mac`. */
  private checkFreeMac(mac: number, field: string): void {
    const holder = this.macs.get(mac, -1);
    if (holder === GATEWAY) throw new MacIsGatewayError(field, formatMac(mac), this.gatewayMacs.get(mac)!);
    if (holder >= 0) throw new MacConflictError(field, formatMac(mac), this.slots.owner[holder]!);
  }

  private setGatewayMac(mac: number, subnet: string): void {
    this.macs.set(mac, GATEWAY);
    this.gatewayMacs.set(mac, subnet);
  }

  private dropGatewayMac(mac: number): void {
    this.macs.delete(mac);
    this.gatewayMacs.delete(mac);
  }

  /** A random MAC no allocation or gateway holds, registered to `holder` (a slot or GATEWAY). */
  private freshMac(holder: number): number {
    let mac = this.macSource.next();
    while (!this.macs.add(mac, holder)) mac = this.macSource.next();
    return mac;
  }

  /** A new slot with the given (already checked) MAC or a random one. */
  private addSlot(owner: string, subnet: string, mac: number | undefined): number {
    const slot = this.slots.add(owner, subnet);
    if (mac === undefined) {
      this.slots.mac[slot] = this.freshMac(slot);
    } else {
      this.macs.set(mac, slot);
      this.slots.mac[slot] = mac;
    }
    return slot;
  }

  /** Releases everything the owner holds in the subnet; false if it held nothing. */
  release(subnet: string, owner: string): boolean {
    const s = this.subnetOf(subnet);
    const slot = s.owners.get(owner);
    if (slot < 0) return false;
    const v4 = this.slots.v4[slot]!;
    if (v4 !== NONE) {
      s.space(4)!.releaseV4(v4);
      s.dropIfEmpty(4);
    }
    const v6 = this.slots.v6(slot);
    if (v6 !== undefined) {
      s.space(6)!.release(v6);
      s.dropIfEmpty(6);
    }
    const mac = this.slots.mac[slot]!;
    if (mac !== NONE) this.macs.delete(mac);
    s.owners.delete(owner);
    this.slots.remove(slot);
    return true;
  }

  /** The owner's allocation in the subnet, if any. */
  get(subnet: string, owner: string): Allocation | undefined {
    const slot = this.subnetOf(subnet).owners.get(owner);
    return slot < 0 ? undefined : this.view(slot);
  }

  /** Owner holding an IP in the subnet, if any. */
  ownerOfIp(subnet: string, ip: string): string | undefined {
    const parsed = parseIp(ip, 'ip');
    const state = this.subnetOf(subnet).space(parsed.family)?.index.get(parsed.value) ?? 0;
    return state > 0 ? this.slots.owner[state - 1] : undefined;
  }

  /** Owner holding a MAC, "gateway of <subnet>" for a gateway MAC, or undefined. */
  ownerOfMac(mac: string): string | undefined {
    const value = parseMac(mac, 'mac');
    const slot = this.macs.get(value, -1);
    if (slot === GATEWAY) return `gateway of ${this.gatewayMacs.get(value)}`;
    return slot >= 0 ? this.slots.owner[slot] : undefined;
  }

  /** All allocations, or those of one subnet. */
  allocations(subnet?: string): Allocation[] {
    const subnets = subnet === undefined ? [...this.subnets.values()] : [this.subnetOf(subnet)];
    return subnets.flatMap((s) => [...s.owners.entries()].map(([, slot]) => this.view(slot)));
  }

  // ---- restore ----------------------------------------------------------------------------------

  /**
   * Rebuilds state from persisted records in one pass. A record claiming an address, MAC or owner that
   * an earlier record (or a live allocation) holds differently is rejected and reported; a record whose
   * address is excluded, the gateway or outside the CIDR is kept and reported.
   */
  restore(records: readonly AllocationRecord[]): RestoreReport {
    const report: RestoreReport = { restored: 0, rejected: [], kept: [] };
    if (!Array.isArray(records)) throw new InvalidArgumentError('records', records, 'expected an array');
    this.macs.reserve(records.length);
    records.forEach((record, index) => {
      try {
        const kept = this.restoreOne(record);
        report.restored++;
        if (kept !== undefined) report.kept.push({ index, record, error: kept });
      } catch (e) {
        if (!(e instanceof IpamError)) throw e;
        report.rejected.push({ index, record, error: e });
      }
    });
    return report;
  }

  private restoreOne(record: AllocationRecord): IpamError | undefined {
    if (typeof record !== 'object' || record === null)
      throw new InvalidArgumentError('record', record, 'expected an object');
    const subnet = this.subnetOf(record.subnet);
    const owner = checkName('owner', record.owner);
    const ips = this.parseStatics(record.ips, subnet);
    if (ips[4] === undefined && ips[6] === undefined) {
      throw new InvalidArgumentError('ips', record.ips, 'a record needs at least one IP');
    }
    const mac = record.mac === undefined || record.mac === '' ? undefined : parseMac(record.mac, 'mac');
    const existing = subnet.owners.get(owner);
    if (existing >= 0) {
      const same =
        FAMILIES.every((f) => ips[f]?.value === this.slots.addr(f, existing)) &&
        (mac === undefined || mac === this.slots.mac[existing]);
      if (!same) throw new OwnerMismatchError('owner', owner, owner, this.view(existing).ipAddress);
      return undefined;
    }
    for (const family of FAMILIES) {
      const ip = ips[family];
      const state = ip === undefined ? 0 : subnet.active(family)!.index.get(ip.value);
      if (state > 0) throw new IpConflictError('ips', ip!.text, subnet.name, this.slots.owner[state - 1]!);
    }
    if (mac !== undefined) this.checkFreeMac(mac, 'mac');

    const slot = this.addSlot(owner, subnet.name, mac);
    subnet.owners.set(owner, slot);
    let kept: IpamError | undefined;
    for (const family of FAMILIES) {
      const ip = ips[family];
      if (ip === undefined) continue;
      const space = subnet.active(family)!;
      const verdict = space.classify(ip.value);
      this.slots.setAddr(family, slot, ip.value);
      space.claim(ip.value, slot, space.poolOf(ip.value));
      if (verdict !== 'ok') kept ??= verdictError(verdict, 'ips', ip.text, subnet.name);
    }
    return kept;
  }

  // ---- status -----------------------------------------------------------------------------------

  /** Counts and ranges per family, as Kube-OVN's Subnet status (v4availableIPs, v4usingIPrange...). */
  status(subnet: string): SubnetStatus {
    const s = this.subnetOf(subnet);
    const v4 = s.space(4)?.status() ?? EMPTY_STATUS;
    const v6 = s.space(6)?.status() ?? EMPTY_STATUS;
    return {
      v4availableIPs: v4.availableIPs,
      v4usingIPs: v4.usingIPs,
      v4availableIPrange: v4.availableIPrange,
      v4usingIPrange: v4.usingIPrange,
      v6availableIPs: v6.availableIPs,
      v6usingIPs: v6.usingIPs,
      v6availableIPrange: v6.availableIPrange,
      v6usingIPrange: v6.usingIPrange,
    };
  }

  /** Counts and ranges of one pool, as Kube-OVN's IPPool status (v4AvailableIPs, v4UsingIPRange...). */
  poolStatus(subnet: string, pool: string): PoolStatus {
    const s = this.subnetOf(subnet);
    if (!s.pools.has(pool)) throw new UnknownPoolError(subnet, pool);
    const of = (family: Family): SpaceStatus => {
      const space = s.active(family);
      const p = space?.pools.get(pool);
      return space && p ? space.poolStatus(p) : EMPTY_STATUS;
    };
    const v4 = of(4);
    const v6 = of(6);
    return {
      v4AvailableIPs: v4.availableIPs,
      v4UsingIPs: v4.usingIPs,
      v4AvailableIPRange: v4.availableIPrange,
      v4UsingIPRange: v4.usingIPrange,
      v6AvailableIPs: v6.availableIPs,
      v6UsingIPs: v6.usingIPs,
      v6AvailableIPRange: v6.availableIPrange,
      v6UsingIPRange: v6.usingIPrange,
    };
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private subnetOf(name: unknown): Subnet {
    const s = typeof name === 'string' ? this.subnets.get(name) : undefined;
    if (s === undefined) throw new UnknownSubnetError(String(name));
    return s;
  }

  private view(slot: number): Allocation {
    const a4 = this.slots.v4[slot]!;
    const a6 = this.slots.v6(slot);
    const ipv4 = a4 === NONE ? undefined : formatV4(a4);
    const ipv6 = a6 === undefined ? undefined : formatV6(a6);
    return {
      subnet: this.slots.subnet[slot]!,
      owner: this.slots.owner[slot]!,
      ipv4,
      ipv6,
      ipAddress: ipv4 === undefined ? (ipv6 ?? '') : ipv6 === undefined ? ipv4 : `${ipv4},${ipv6}`,
      mac: formatMac(this.slots.mac[slot]!),
    };
  }
}
