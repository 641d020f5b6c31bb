// Where the views read rows from: a Replica (src/ovsdb/replica.ts) fits, as does anything else that can
// return rows by uuid and list a table. References are followed the way the C IDL does: in the datum's
// order (sorted uuids), silently skipping rows that are not there.

import type { Tables as OvsTables } from '../ovsdb/generated/open-vswitch.ts';
import type { Tables as NbTables } from '../ovsdb/generated/ovn-nb.ts';
import type { AnyTables, TableMap } from '../ovsdb/ops.ts';
import type { DatabaseSchema } from '../ovsdb/schema.ts';
import { compareText } from './c-text.ts';
import { ViewError } from './errors.ts';

export interface RowSource<T extends TableMap = AnyTables> {
  readonly schema: DatabaseSchema;
  get<K extends keyof T & string>(table: K, uuid: string): Readonly<T[K]['row']> | undefined;
  rows<K extends keyof T & string>(table: K): Iterable<Readonly<T[K]['row']>>;
}

export type NbSource = RowSource<NbTables>;
export type OvsSource = RowSource<OvsTables>;

export type RowOf<T extends TableMap, K extends keyof T> = Readonly<T[K]['row']>;

/** A Replica's error for a read of a table it does not monitor, as a typed error (others: undefined). */
export function unmonitoredTable(e: unknown): ViewError | undefined {
  const m = e instanceof Error ? /^table (\S+) is not monitored$/.exec(e.message) : null;
  return m ? new ViewError('UNAVAILABLE', `table ${m[1]} is not in the replica`) : undefined;
}

/** uuids in datum order: the text order of the lowercase uuids (ASCII, so JavaScript's order is C's). */
export function sortedUuids(uuids: readonly string[]): string[] {
  return uuids.length > 1 ? [...uuids].sort() : [...uuids];
}

/** The rows a reference column points at, as ovsdb-idlc's generated arrays hold them. */
export function deref<T extends TableMap, K extends keyof T & string>(
  src: RowSource<T>,
  table: K,
  uuids: readonly string[] | string | null,
): RowOf<T, K>[] {
  if (uuids === null) return [];
  const list = typeof uuids === 'string' ? [uuids] : sortedUuids(uuids);
  const out: RowOf<T, K>[] = [];
  for (const u of list) {
    const row = src.get(table, u);
    if (row) out.push(row);
  }
  return out;
}

/** Strings of a set column in datum order. */
export function sortedStrings(values: readonly string[]): string[] {
  return values.length > 1 ? [...values].sort(compareText) : [...values];
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** uuid_from_string(): the canonical lowercase form, or undefined if s is not a uuid. */
export function asUuid(s: string): string | undefined {
  return UUID_RE.test(s) ? s.toLowerCase() : undefined;
}
