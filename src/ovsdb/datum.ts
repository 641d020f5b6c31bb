// Converting OVSDB data (RFC 7047 section 5.1) to and from JavaScript, column by column:
//   scalar  -> the atom            optional -> the atom or null
//   set     -> an array of atoms   map      -> an object keyed by the key atom's text
//   uuid    -> its string form; a row inserted in the same transaction is referred to by named('x')
import { SchemaError } from './errors.ts';
import type { AtomicType, BaseType, ColumnSchema, TableSchema } from './schema.ts';

/** A reference to a row inserted earlier in the same transaction under this uuid-name. */
export class NamedUuid {
  constructor(readonly name: string) {}
}
export const named = (name: string): NamedUuid => new NamedUuid(name);

export type Atom = string | number | boolean;
export type Value = Atom | null | Atom[] | Record<string, Atom>;
export type Row = Record<string, unknown> & { _uuid: string };

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UUID_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isUuid(s: unknown): s is string {
  return typeof s === 'string' && UUID_RE.test(s);
}

// ---- wire -> JavaScript -------------------------------------------------------------------------

function decodeAtom(w: unknown): Atom {
  // uuids arrive as ["uuid", "..."]; every other atom is a bare JSON scalar
  return Array.isArray(w) ? (w[1] as string) : (w as Atom);
}

function elements(w: unknown): unknown[] {
  return Array.isArray(w) && w[0] === 'set' ? (w[1] as unknown[]) : [w];
}

type Decoder = (w: unknown) => unknown;

function columnDecoder(c: ColumnSchema): Decoder {
  switch (c.shape) {
    case 'scalar':
      return decodeAtom;
    case 'optional':
      return (w) => {
        const els = elements(w);
        return els.length === 0 ? null : decodeAtom(els[0]);
      };
    case 'set':
      return (w) => elements(w).map(decodeAtom);
    case 'map':
      return (w) => {
        const out: Record<string, Atom> = {};
        for (const [k, v] of (w as [string, [unknown, unknown][]])[1])
          out[String(decodeAtom(k))] = decodeAtom(v);
        return out;
      };
  }
}

/** The value a column has in a row where it is absent (initial value by type). */
export function defaultValue(c: ColumnSchema): unknown {
  switch (c.shape) {
    case 'scalar':
      return initialAtom(c.key.type);
    case 'optional':
      return null;
    case 'set':
      return [];
    case 'map':
      return {};
  }
}

function initialAtom(t: AtomicType): Atom {
  switch (t) {
    case 'integer':
    case 'real':
      return 0;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return '00000000-0000-0000-0000-000000000000';
  }
}

const decoders = new WeakMap<TableSchema, Map<string, Decoder>>();

function decodersOf(t: TableSchema): Map<string, Decoder> {
  let m = decoders.get(t);
  if (!m) {
    m = new Map();
    for (const [name, c] of t.columns) m.set(name, columnDecoder(c));
    decoders.set(t, m);
  }
  return m;
}

/** Decodes the columns present in a wire row; unknown columns (a newer server) are skipped. */
export function decodeColumns(
  t: TableSchema,
  wire: Record<string, unknown>,
  into: Record<string, unknown>,
): void {
  const ds = decodersOf(t);
  for (const k in wire) {
    const d = ds.get(k);
    if (d) into[k] = d(wire[k]);
  }
}

/**
 * A decoder of whole rows for the given columns (all when undefined). Every row it makes has the same
 * columns in the same order, absent ones at their defaults, which keeps the objects' shapes uniform
 * (fast property access, little garbage) when a monitor loads 100k rows at once.
 */
export function rowDecoder(
  t: TableSchema,
  columns?: readonly string[],
): (uuid: string, wire: Record<string, unknown>) => Row {
  const cols = [...t.columns.values()].filter(
    (c) => c.name !== '_uuid' && c.name !== '_version' && (!columns || columns.includes(c.name)),
  );
  const names = cols.map((c) => c.name);
  const decode = cols.map(columnDecoder);
  const defaults = cols.map((c) => Object.freeze(defaultValue(c)));
  return (uuid, wire) => {
    const row: Record<string, unknown> = { _uuid: uuid };
    for (let i = 0; i < names.length; i++) {
      const w = wire[names[i]!];
      row[names[i]!] = w === undefined ? defaults[i] : decode[i]!(w);
    }
    // the row version is kept when the server sends it (it does for monitors of all columns)
    if (wire._version !== undefined) row._version = decodeAtom(wire._version);
    return row as Row;
  };
}

/**
 * Applies an update2 "modify" diff to a set column: the diff is the symmetric difference between the old
 * and the new set. Also returns which elements came and went (what an index of the set's elements needs).
 */
export function applySetDiff(
  old: readonly Atom[],
  diffWire: unknown,
): { value: Atom[]; added: Atom[]; removed: Atom[] } {
  const diff = elements(diffWire).map(decodeAtom);
  if (diff.length > SMALL_DIFF) {
    const result = new Set<Atom>(old);
    const added: Atom[] = [];
    const removed: Atom[] = [];
    for (const a of diff) {
      if (result.delete(a)) removed.push(a);
      else {
        result.add(a);
        added.push(a);
      }
    }
    return { value: [...result], added, removed };
  }
  // a few elements against a large set (one more policy on a router of 10k): no Set of the whole column
  const toggled = new Set<Atom>();
  for (const a of diff) if (!toggled.delete(a)) toggled.add(a);
  const removed = old.filter((a) => toggled.has(a));
  const added = [...toggled].filter((a) => !removed.includes(a));
  const value = removed.length > 0 ? old.filter((a) => !toggled.has(a)) : old.slice();
  value.push(...added);
  return { value, added, removed };
}

/** Up to this many elements, a set diff is applied without building a Set of the old value. */
const SMALL_DIFF = 16;

/** Applies an update2 "modify" diff to one column's old value and returns the new value. */
export function applyColumnDiff(c: ColumnSchema, old: unknown, diffWire: unknown): unknown {
  switch (c.shape) {
    case 'scalar':
      return decodeAtom(diffWire);
    case 'optional': {
      // columns of at most one element carry the new value itself, not a difference
      const els = elements(diffWire);
      return els.length === 0 ? null : decodeAtom(els[0]);
    }
    case 'set':
      return applySetDiff(old as Atom[], diffWire).value;
    case 'map': {
      // a key absent before is added; present with another value is changed; present with the same value is removed
      const out = { ...(old as Record<string, Atom>) };
      for (const [kw, vw] of (diffWire as [string, [unknown, unknown][]])[1]) {
        const k = String(decodeAtom(kw));
        const v = decodeAtom(vw);
        if (k in out && out[k] === v) delete out[k];
        else out[k] = v;
      }
      return out;
    }
  }
}

/** Equality of two decoded column values: sets compare as sets, maps by their entries. */
export function sameDatum(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    const set = new Set(a);
    return b.every((x) => set.has(x));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k]);
  }
  return false;
}

// ---- JavaScript -> wire -------------------------------------------------------------------------

function fail(t: TableSchema, c: ColumnSchema, why: string, v: unknown): never {
  throw new SchemaError(`${t.name}.${c.name}: ${why} (got ${short(v)})`);
}

function short(v: unknown): string {
  let s: string;
  try {
    s = v instanceof NamedUuid ? `named(${v.name})` : JSON.stringify(v);
  } catch {
    s = String(v);
  }
  return s === undefined ? 'undefined' : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function encodeAtom(t: TableSchema, c: ColumnSchema, b: BaseType, v: unknown): unknown {
  switch (b.type) {
    case 'uuid':
      if (v instanceof NamedUuid) {
        if (!UUID_NAME_RE.test(v.name)) fail(t, c, 'invalid uuid-name', v.name);
        return ['named-uuid', v.name];
      }
      if (!isUuid(v)) fail(t, c, 'expected a uuid', v);
      return ['uuid', v];
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) fail(t, c, 'expected an integer', v);
      return v;
    case 'real':
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(t, c, 'expected a number', v);
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') fail(t, c, 'expected a boolean', v);
      return v;
    case 'string':
      if (typeof v !== 'string') fail(t, c, 'expected a string', v);
      return v;
  }
}

/** Map keys arrive as object keys (text); turn them back into the key type's atoms. */
function mapKey(b: BaseType, k: string): unknown {
  if (b.type === 'integer' || b.type === 'real') return Number(k);
  if (b.type === 'boolean') return k === 'true';
  return k;
}

export function encodeValue(t: TableSchema, c: ColumnSchema, v: unknown): unknown {
  switch (c.shape) {
    case 'scalar':
      return encodeAtom(t, c, c.key, v);
    case 'optional':
      if (v === null || v === undefined) return ['set', []];
      if (Array.isArray(v)) return encodeSet(t, c, v);
      return encodeAtom(t, c, c.key, v);
    case 'set':
      if (Array.isArray(v)) return encodeSet(t, c, v);
      if (v instanceof Set) return encodeSet(t, c, [...v]);
      return encodeAtom(t, c, c.key, v); // a one-element set may be sent bare
    case 'map': {
      const entries =
        v instanceof Map
          ? [...v.entries()]
          : v && typeof v === 'object' && !Array.isArray(v)
            ? Object.entries(v)
            : null;
      if (!entries) fail(t, c, 'expected an object (map)', v);
      const value = c.value!;
      return [
        'map',
        entries.map(([k, val]) => [
          encodeAtom(t, c, c.key, typeof k === 'string' ? mapKey(c.key, k) : k),
          encodeAtom(t, c, value, val),
        ]),
      ];
    }
  }
}

function encodeSet(t: TableSchema, c: ColumnSchema, arr: unknown[]): unknown {
  if (arr.length > c.max) fail(t, c, `at most ${c.max} element(s) allowed`, arr);
  return ['set', arr.map((a) => encodeAtom(t, c, c.key, a))];
}

/** Encodes a partial row for insert/update; unknown columns are rejected before anything is sent. */
export function encodeRow(t: TableSchema, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v === undefined) continue;
    const c = t.columns.get(k);
    if (!c) throw new SchemaError(`unknown column ${t.name}.${k}`);
    if (k === '_uuid' || k === '_version') throw new SchemaError(`${t.name}.${k} cannot be written`);
    out[k] = encodeValue(t, c, v);
  }
  return out;
}
