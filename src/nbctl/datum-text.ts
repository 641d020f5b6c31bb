// OVSDB data in the text form the ovs/ovn *ctl tools print (lib/ovsdb-data.c ovsdb_datum_to_string):
// atoms bare unless they need quotes, sets in [..], maps in {k=v, ..}, elements in the database's own
// sorted order. Values come in the replica's decoded form (see src/ovsdb/datum.ts).
import type { Atom } from '../ovsdb/datum.ts';
import type { AtomicType, BaseType } from '../ovsdb/schema.ts';
import { compareText, formatReal } from './c-text.ts';

/** What is needed of a column's type: ColumnSchema fits. */
export interface DatumType {
  key: BaseType;
  value?: BaseType;
  min: number;
  max: number;
}

/** A datum as OVSDB holds it: keys sorted, values (for a map) alongside. */
export interface Datum {
  keys: Atom[];
  values?: Atom[];
}

export function compareAtoms(type: AtomicType, a: Atom, b: Atom): number {
  switch (type) {
    case 'integer':
    case 'real':
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 'boolean':
      return Number(a) - Number(b);
    default:
      // uuids compare as their 32-bit parts, which is the order of their lowercase text
      return compareText(a as string, b as string);
  }
}

/** A map key as the replica holds it (object keys are text) back to its atom. */
function keyAtom(type: AtomicType, k: string): Atom {
  if (type === 'integer' || type === 'real') return Number(k);
  if (type === 'boolean') return k === 'true';
  return k;
}

/** The replica's decoded value of a column as a sorted datum. */
export function datumOf(t: DatumType, v: unknown): Datum {
  if (t.value) {
    const entries = Object.entries((v ?? {}) as Record<string, Atom>).map(
      ([k, x]) => [keyAtom(t.key.type, k), x] as [Atom, Atom],
    );
    entries.sort((a, b) => compareAtoms(t.key.type, a[0], b[0]));
    return { keys: entries.map((e) => e[0]), values: entries.map((e) => e[1]) };
  }
  if (v === null || v === undefined) return { keys: [] };
  if (!Array.isArray(v)) return { keys: [v as Atom] };
  const keys = [...(v as Atom[])];
  if (keys.length > 1) keys.sort((a, b) => compareAtoms(t.key.type, a, b));
  return { keys };
}

/** json_serialize_string(): the escapes OVS's JSON writer uses (others bytes pass through). */
export function jsonString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(start, i) + escapeChar(c);
    start = i + 1;
  }
  return `${out}${s.slice(start)}"`;
}

function escapeChar(c: number): string {
  switch (c) {
    case 0x22:
      return '\\"';
    case 0x5c:
      return '\\\\';
    case 0x08:
      return '\\b';
    case 0x09:
      return '\\t';
    case 0x0a:
      return '\\n';
    case 0x0c:
      return '\\f';
    case 0x0d:
      return '\\r';
    default:
      return `\\u${c.toString(16).padStart(4, '0')}`;
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BARE_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** string_needs_quotes(): anything but an identifier-like word, and words that would read back as other types. */
export function stringNeedsQuotes(s: string): boolean {
  return !BARE_RE.test(s) || s === 'true' || s === 'false' || UUID_RE.test(s);
}

export function atomToString(type: AtomicType, a: Atom): string {
  switch (type) {
    case 'integer':
      return String(a);
    case 'real':
      return formatReal(a as number);
    case 'boolean':
      return a ? 'true' : 'false';
    case 'string':
      return stringNeedsQuotes(a as string) ? jsonString(a as string) : (a as string);
    case 'uuid':
      return a as string;
  }
}

export function datumToString(t: DatumType, d: Datum): string {
  const brackets = t.max > 1 || d.keys.length === 0;
  const map = t.value !== undefined;
  const parts = d.keys.map((k, i) => {
    const key = atomToString(t.key.type, k);
    return map ? `${key}=${atomToString(t.value!.type, d.values![i]!)}` : key;
  });
  const body = parts.join(', ');
  if (!brackets) return body;
  return map ? `{${body}}` : `[${body}]`;
}

/** The text of a decoded column value. */
export function valueToString(t: DatumType, v: unknown): string {
  return datumToString(t, datumOf(t, v));
}

function atomIsDefault(type: AtomicType, a: Atom): boolean {
  switch (type) {
    case 'integer':
    case 'real':
      return a === 0;
    case 'boolean':
      return a === false;
    case 'string':
      return a === '';
    case 'uuid':
      return a === '00000000-0000-0000-0000-000000000000';
  }
}

/** ovsdb_datum_is_default(): as many elements as the minimum, each at its type's default. */
export function isDefaultDatum(t: DatumType, d: Datum): boolean {
  if (d.keys.length !== t.min) return false;
  return d.keys.every(
    (k, i) => atomIsDefault(t.key.type, k) && (!t.value || atomIsDefault(t.value.type, d.values![i]!)),
  );
}
