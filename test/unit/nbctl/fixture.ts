// An in-memory northbound replica for the views' unit tests: rows given in the client's JavaScript form,
// fed to a Replica of the real OVN_Northbound schema as a monitor's initial dump.
import { readFileSync } from 'node:fs';
import { encodeRow } from '../../../src/ovsdb/datum.ts';
import type { Tables } from '../../../src/ovsdb/generated/ovn-nb.ts';
import { Replica } from '../../../src/ovsdb/replica.ts';
import { parseSchema } from '../../../src/ovsdb/schema.ts';

export const nbSchema = parseSchema(JSON.parse(readFileSync('/usr/share/ovn/ovn-nb.ovsschema', 'utf8')));

type Rows = { [K in keyof Tables]?: Record<string, Tables[K]['write']> };

/** A replica of every NB table (or of these tables) holding these rows (keyed by their uuids). */
export function nbReplica(rows: Rows, only?: readonly string[]): Replica<Tables> {
  const tables = Object.fromEntries((only ?? [...nbSchema.tables.keys()]).map((t) => [t, undefined]));
  const replica = new Replica<Tables>(nbSchema, tables);
  const dump: Record<string, Record<string, { initial: Record<string, unknown> }>> = {};
  for (const [table, byUuid] of Object.entries(rows)) {
    const t = nbSchema.tables.get(table)!;
    dump[table] = Object.fromEntries(
      Object.entries(byUuid as Record<string, Record<string, unknown>>).map(([uuid, row]) => [
        uuid,
        { initial: encodeRow(t, row) },
      ]),
    );
  }
  replica.reset(dump);
  return replica;
}

/** A uuid whose text order follows n (uuids order several ovn-nbctl lists). */
export const uuid = (n: number) => `${n.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`;
