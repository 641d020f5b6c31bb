// Model-based property test: random interleavings of allocate, static allocate, release, subnet change
// and restore on a small dual-stack subnet, checked step by step against a brute-force model that
// predicts every address handed out (lowest never-used first, then oldest released), every error code,
// and the status counts and range strings. Invariants: no address or MAC ever has two owners.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Ipam, IpamError, type SubnetSpec } from '../../../src/ipam/index.ts';

type Fam = 'v4' | 'v6';
const FAMS: Fam[] = ['v4', 'v6'];
const GATEWAY_MAC = '0a:00:00:00:00:01';
const STATIC_MACS = ['02:00:00:00:00:0a', '02:00:00:00:00:0b', '02:00:00:00:00:0c', GATEWAY_MAC];
const OWNERS = ['a.ns', 'b.ns', 'c.ns', 'vm.ns', 'node-n1', 'p.ns.net.ns.ovn'];

const text: Record<Fam, (o: number) => string> = {
  v4: (o) => `10.0.0.${o}`,
  v6: (o) => (o === 0 ? 'fd00::' : `fd00::${o.toString(16)}`),
};

/** A subnet shape: prefix sizes (16 or 32 addresses), a gateway choice and exclude choices. */
interface Shape {
  big: boolean;
  gw4: number | undefined;
  excl: boolean[];
}
const EXCLUDES: { fam: Fam; lo: number; hi: number }[] = [
  { fam: 'v4', lo: 2, hi: 2 },
  { fam: 'v4', lo: 6, hi: 8 },
  { fam: 'v4', lo: 20, hi: 21 },
  { fam: 'v6', lo: 3, hi: 3 },
  { fam: 'v6', lo: 9, hi: 11 },
  { fam: 'v6', lo: 28, hi: 28 },
];

function specOf(shape: Shape): SubnetSpec {
  const size = shape.big ? 32 : 16;
  const excludeIps = EXCLUDES.filter((e, i) => shape.excl[i] && e.hi < size).map((e) =>
    e.lo === e.hi ? text[e.fam](e.lo) : `${text[e.fam](e.lo)}..${text[e.fam](e.hi)}`,
  );
  const prefix4 = shape.big ? 27 : 28;
  const prefix6 = shape.big ? 123 : 124;
  return {
    name: 's',
    cidrBlock: `10.0.0.0/${prefix4},fd00::/${prefix6}`,
    gateway: shape.gw4 === undefined || shape.gw4 >= size - 1 ? undefined : text.v4(shape.gw4),
    excludeIps,
    gatewayMac: GATEWAY_MAC,
  };
}

type Verdict = 'ok' | 'IPAM_IP_OUT_OF_RANGE' | 'IPAM_IP_IS_GATEWAY' | 'IPAM_IP_EXCLUDED';

/** Usable offsets and the verdict for any offset, per family, for a shape. */
function layoutOf(shape: Shape) {
  const size = shape.big ? 32 : 16;
  const gw: Record<Fam, number> = { v4: specOf(shape).gateway ? shape.gw4! : 1, v6: 1 };
  const verdict = (fam: Fam, o: number): Verdict => {
    if (o < 1 || o > size - 2) return 'IPAM_IP_OUT_OF_RANGE';
    if (o === gw[fam]) return 'IPAM_IP_IS_GATEWAY';
    if (EXCLUDES.some((e, i) => shape.excl[i] && e.fam === fam && e.hi < size && e.lo <= o && o <= e.hi)) {
      return 'IPAM_IP_EXCLUDED';
    }
    return 'ok';
  };
  return { size, verdict };
}

interface Held {
  v4: number | undefined;
  v6: number | undefined;
  mac: string;
}

class Model {
  shape: Shape;
  held = new Map<string, Held>();
  parked: Record<Fam, number[]> = { v4: [], v6: [] };

  constructor(shape: Shape) {
    this.shape = shape;
  }

  get layout() {
    return layoutOf(this.shape);
  }

  holderOf(fam: Fam, o: number): string | undefined {
    for (const [owner, h] of this.held) if (h[fam] === o) return owner;
    return undefined;
  }

  heldSet(fam: Fam): Set<number> {
    return new Set([...this.held.values()].map((h) => h[fam]).filter((o): o is number => o !== undefined));
  }

  /** The next dynamic pick: lowest never-used usable address, else the oldest parked one. */
  pick(fam: Fam): number | undefined {
    const { size, verdict } = this.layout;
    const taken = this.heldSet(fam);
    for (let o = 0; o < size; o++) {
      if (verdict(fam, o) === 'ok' && !taken.has(o) && !this.parked[fam].includes(o)) return o;
    }
    return this.parked[fam][0];
  }

  take(fam: Fam, o: number): void {
    this.parked[fam] = this.parked[fam].filter((x) => x !== o);
  }

  release(owner: string): void {
    const h = this.held.get(owner);
    if (h === undefined) return;
    this.held.delete(owner);
    for (const fam of FAMS) {
      const o = h[fam];
      if (o !== undefined && this.layout.verdict(fam, o) === 'ok') this.parked[fam].push(o);
    }
  }

  reshape(shape: Shape): void {
    this.shape = shape;
    for (const fam of FAMS)
      this.parked[fam] = this.parked[fam].filter((o) => this.layout.verdict(fam, o) === 'ok');
  }

  /** Held addresses the current shape does not allow, as "owner ip code". */
  conflicts(): string[] {
    const out: string[] = [];
    for (const [owner, h] of this.held) {
      for (const fam of FAMS) {
        const o = h[fam];
        const v = o === undefined ? 'ok' : this.layout.verdict(fam, o);
        if (v !== 'ok') out.push(`${owner} ${text[fam](o!)} ${v}`);
      }
    }
    return out.sort();
  }
}

const ranges = (fam: Fam, offsets: number[]): string => {
  const sorted = [...offsets].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? text[fam](sorted[i]!) : `${text[fam](sorted[i]!)}-${text[fam](sorted[j]!)}`);
    i = j + 1;
  }
  return out.join(',');
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (e instanceof IpamError) return e.code;
    throw e;
  }
}

function checkInvariants(ipam: Ipam, model: Model): void {
  const all = ipam.allocations('s');
  const seen = { v4: new Set<string>(), v6: new Set<string>(), mac: new Set<string>([GATEWAY_MAC]) };
  for (const a of all) {
    for (const [key, value] of [
      ['v4', a.ipv4],
      ['v6', a.ipv6],
      ['mac', a.mac],
    ] as const) {
      if (value === undefined) continue;
      expect(seen[key].has(value), `${value} has two owners`).toBe(false);
      seen[key].add(value);
    }
    const h = model.held.get(a.owner);
    expect(h, `unexpected owner ${a.owner}`).toBeDefined();
    expect([a.ipv4, a.ipv6, a.mac]).toEqual([
      h!.v4 === undefined ? undefined : text.v4(h!.v4),
      h!.v6 === undefined ? undefined : text.v6(h!.v6),
      h!.mac,
    ]);
    if (a.ipv4) expect(ipam.ownerOfIp('s', a.ipv4)).toBe(a.owner);
    if (a.ipv6) expect(ipam.ownerOfIp('s', a.ipv6)).toBe(a.owner);
    expect(ipam.ownerOfMac(a.mac)).toBe(a.owner);
  }
  expect(all.length).toBe(model.held.size);
  const status = ipam.status('s') as unknown as Record<string, unknown>;
  const { size, verdict } = model.layout;
  for (const fam of FAMS) {
    const taken = [...model.heldSet(fam)];
    const free: number[] = [];
    for (let o = 0; o < size; o++) if (verdict(fam, o) === 'ok' && !taken.includes(o)) free.push(o);
    expect(status[`${fam}usingIPs`]).toBe(taken.length);
    expect(status[`${fam}availableIPs`]).toBe(free.length);
    expect(status[`${fam}usingIPrange`]).toBe(ranges(fam, taken));
    expect(status[`${fam}availableIPrange`]).toBe(ranges(fam, free));
  }
}

type Cmd =
  | { kind: 'alloc'; owner: string }
  | { kind: 'static'; owner: string; v4?: number; v6?: number; mac?: string }
  | { kind: 'release'; owner: string }
  | { kind: 'reshape'; shape: Shape }
  | { kind: 'restore'; bogus: number };

const shapeArb: fc.Arbitrary<Shape> = fc.record({
  big: fc.boolean(),
  gw4: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
  excl: fc.array(fc.boolean(), { minLength: EXCLUDES.length, maxLength: EXCLUDES.length }),
});
const owner = fc.constantFrom(...OWNERS);
const offset = fc.integer({ min: 0, max: 33 });
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('alloc' as const), owner }) },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        kind: fc.constant('static' as const),
        owner,
        v4: offset,
        v6: offset,
        mac: fc.constantFrom(...STATIC_MACS),
      },
      { requiredKeys: ['kind', 'owner'] },
    ),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), owner }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reshape' as const), shape: shapeArb }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('restore' as const), bogus: fc.integer({ min: 0, max: 3 }) }),
  },
);

function runStatic(ipam: Ipam, model: Model, cmd: Extract<Cmd, { kind: 'static' }>): void {
  const ips = [
    cmd.v4 === undefined ? '' : text.v4(cmd.v4),
    cmd.v6 === undefined ? '' : text.v6(cmd.v6),
  ].filter((x) => x !== '');
  const req = { subnet: 's', owner: cmd.owner, ips, ...(cmd.mac ? { mac: cmd.mac } : {}) };
  const held = model.held.get(cmd.owner);
  if (held !== undefined) {
    const differs =
      (cmd.v4 !== undefined && cmd.v4 !== held.v4) ||
      (cmd.v6 !== undefined && cmd.v6 !== held.v6) ||
      (cmd.mac !== undefined && cmd.mac !== held.mac);
    if (differs) expect(codeOf(() => ipam.allocate(req))).toBe('IPAM_OWNER_MISMATCH');
    else expect(ipam.allocate(req).ipv4).toBe(text.v4(held.v4!));
    return;
  }
  // Predict in the implementation's order: IPv4 then IPv6 (static checks or a pick), then the MAC.
  let expected: string | undefined;
  const picks: Partial<Record<Fam, number>> = {};
  for (const fam of FAMS) {
    const o = cmd[fam];
    if (o === undefined) {
      const p = model.pick(fam);
      if (p === undefined) expected ??= 'IPAM_SUBNET_EXHAUSTED';
      else picks[fam] = p;
      continue;
    }
    const v = model.layout.verdict(fam, o);
    if (v !== 'ok') expected ??= v;
    else if (model.holderOf(fam, o) !== undefined) expected ??= 'IPAM_IP_CONFLICT';
    else picks[fam] = o;
  }
  if (expected === undefined && cmd.mac !== undefined) {
    if (cmd.mac === GATEWAY_MAC) expected = 'IPAM_MAC_IS_GATEWAY';
    else if ([...model.held.values()].some((h) => h.mac === cmd.mac)) expected = 'IPAM_MAC_CONFLICT';
  }
  if (expected !== undefined) {
    expect(codeOf(() => ipam.allocate(req))).toBe(expected);
    return;
  }
  const got = ipam.allocate(req);
  expect([got.ipv4, got.ipv6]).toEqual([text.v4(picks.v4!), text.v6(picks.v6!)]);
  if (cmd.mac !== undefined) expect(got.mac).toBe(cmd.mac);
  for (const fam of FAMS) model.take(fam, picks[fam]!);
  model.held.set(cmd.owner, { v4: picks.v4, v6: picks.v6, mac: got.mac });
}

function runAlloc(ipam: Ipam, model: Model, who: string): void {
  const held = model.held.get(who);
  if (held !== undefined) {
    const again = ipam.allocate({ subnet: 's', owner: who });
    expect([again.ipv4, again.ipv6, again.mac]).toEqual([text.v4(held.v4!), text.v6(held.v6!), held.mac]);
    return;
  }
  const p4 = model.pick('v4');
  const p6 = model.pick('v6');
  if (p4 === undefined || p6 === undefined) {
    expect(codeOf(() => ipam.allocate({ subnet: 's', owner: who }))).toBe('IPAM_SUBNET_EXHAUSTED');
    return;
  }
  const got = ipam.allocate({ subnet: 's', owner: who });
  expect([got.ipv4, got.ipv6]).toEqual([text.v4(p4), text.v6(p6)]);
  model.take('v4', p4);
  model.take('v6', p6);
  model.held.set(who, { v4: p4, v6: p6, mac: got.mac });
}

function runRestore(ipam: Ipam, model: Model, bogus: number): Ipam {
  const records = ipam
    .allocations('s')
    .map((a) => ({ subnet: 's', owner: a.owner, ips: a.ipAddress, mac: a.mac }));
  // bogus records: another owner claiming an address already claimed, or a held MAC
  for (let i = 0; i < bogus && i < records.length; i++) {
    const r = records[i]!;
    records.push(
      i % 2
        ? { ...r, owner: `bogus-${i}` }
        : { subnet: 's', owner: `bogus-${i}`, ips: '10.0.0.13', mac: r.mac },
    );
  }
  const fresh = new Ipam();
  fresh.setSubnet(specOf(model.shape));
  const report = fresh.restore(records);
  const real = model.held.size;
  expect(report.restored).toBe(real);
  expect(report.rejected.map((r) => r.index)).toEqual(records.slice(real).map((_, i) => real + i));
  const keptOwners = new Set(model.conflicts().map((c) => c.split(' ')[0]));
  expect(report.kept.map((k) => k.record.owner).sort()).toEqual([...keptOwners].sort());
  model.parked = { v4: [], v6: [] };
  return fresh;
}

describe('IPAM against a model', () => {
  test('random interleavings keep addresses and MACs single-owner and counts true', () => {
    fc.assert(
      fc.property(shapeArb, fc.array(cmdArb, { minLength: 1, maxLength: 60 }), (shape0, cmds) => {
        let ipam = new Ipam();
        ipam.setSubnet(specOf(shape0));
        const model = new Model(shape0);
        for (const cmd of cmds) {
          switch (cmd.kind) {
            case 'alloc':
              runAlloc(ipam, model, cmd.owner);
              break;
            case 'static':
              runStatic(ipam, model, cmd);
              break;
            case 'release':
              expect(ipam.release('s', cmd.owner)).toBe(model.held.has(cmd.owner));
              model.release(cmd.owner);
              break;
            case 'reshape': {
              const change = ipam.setSubnet(specOf(cmd.shape));
              model.reshape(cmd.shape);
              expect(change.conflicts.map((c) => `${c.owner} ${c.ip} ${c.error.code}`).sort()).toEqual(
                model.conflicts(),
              );
              break;
            }
            case 'restore':
              ipam = runRestore(ipam, model, cmd.bogus);
              break;
          }
          checkInvariants(ipam, model);
        }
      }),
      { numRuns: 200 },
    );
  });
});
