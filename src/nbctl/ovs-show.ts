// `ovs-vsctl show` from a replica of a node's Open_vSwitch database (cmd_show in lib/db-ctl-base.c with
// ovs-vsctl's cmd_show_tables): each Open_vSwitch row, then its managers, bridges, their controllers,
// ports and interfaces, each level four spaces deeper; a column is printed unless it holds its default.
// Referenced rows come in uuid order, as in ovs-vsctl; several Open_vSwitch rows (there is one) by uuid.
import type { ColumnSchema, TableSchema } from '../ovsdb/schema.ts';
import { compareText } from './c-text.ts';
import { atomToString, datumOf, datumToString, isDefaultDatum } from './datum-text.ts';
import { ViewError } from './errors.ts';
import type { OvsSource } from './source.ts';

interface ShowTable {
  table: string;
  nameColumn?: string;
  columns: string[];
}

const SHOW_TABLES: ShowTable[] = [
  { table: 'Open_vSwitch', columns: ['manager_options', 'bridges', 'ovs_version'] },
  { table: 'Bridge', nameColumn: 'name', columns: ['controller', 'fail_mode', 'datapath_type', 'ports'] },
  { table: 'Port', nameColumn: 'name', columns: ['tag', 'trunks', 'interfaces'] },
  { table: 'Interface', nameColumn: 'name', columns: ['type', 'options', 'error', 'bfd_status'] },
  { table: 'Controller', nameColumn: 'target', columns: ['is_connected'] },
  { table: 'Manager', nameColumn: 'target', columns: ['is_connected'] },
];

type AnyRow = Readonly<Record<string, unknown> & { _uuid: string }>;

function tableSchema(src: OvsSource, name: string): TableSchema {
  const t = src.schema.tables.get(name);
  if (!t) throw new ViewError('UNAVAILABLE', `table ${name} is not in the schema`, 'ovs-vsctl');
  return t;
}

function showRow(src: OvsSource, table: string, row: AnyRow, level: number, shown: Set<string>): string {
  const show = SHOW_TABLES.find((s) => s.table === table);
  const indent = ' '.repeat(level * 4);
  let s = indent;
  if (show?.nameColumn) {
    const c = tableSchema(src, table).columns.get(show.nameColumn)!;
    s += `${table} ${datumToString(c, datumOf(c, row[show.nameColumn]))}`;
  } else s += row._uuid;
  s += '\n';
  // a table already being shown higher up is not expanded again
  if (!show || shown.has(table)) return s;
  shown.add(table);
  const t = tableSchema(src, table);
  for (const name of show.columns) {
    const c = t.columns.get(name);
    if (c) s += showColumn(src, c, row[name], level, shown);
  }
  shown.delete(table);
  return s;
}

function showColumn(
  src: OvsSource,
  c: ColumnSchema,
  value: unknown,
  level: number,
  shown: Set<string>,
): string {
  const d = datumOf(c, value);
  const keyRef = c.key.type === 'uuid' ? c.key.refTable : undefined;
  const keyShow = keyRef ? SHOW_TABLES.find((x) => x.table === keyRef) : undefined;
  if (keyShow) {
    let s = '';
    for (const uuid of d.keys) {
      const ref = src.get(keyShow.table as 'Bridge', uuid as string) as AnyRow | undefined;
      if (ref) s += showRow(src, keyShow.table, ref, level + 1, shown);
    }
    return s;
  }
  const valueRef = c.value?.type === 'uuid' ? c.value.refTable : undefined;
  const valueShow = valueRef ? SHOW_TABLES.find((x) => x.table === valueRef) : undefined;
  if (valueShow?.nameColumn) {
    const nameCol = tableSchema(src, valueShow.table).columns.get(valueShow.nameColumn)!;
    let s = `${' '.repeat((level + 1) * 4)}${c.name}:\n`;
    d.keys.forEach((k, i) => {
      const ref = src.get(valueShow.table as 'Bridge', d.values![i] as string) as AnyRow | undefined;
      const name = ref ? datumToString(nameCol, datumOf(nameCol, ref[nameCol.name])) : '"<null>"';
      s += `${' '.repeat((level + 2) * 4)}${atomToString(c.key.type, k)}=${name}\n`;
    });
    return s;
  }
  if (isDefaultDatum(c, d)) return '';
  return `${' '.repeat((level + 1) * 4)}${c.name}: ${datumToString(c, d)}\n`;
}

export function ovsShow(src: OvsSource): string {
  const roots = [...src.rows('Open_vSwitch')].sort((a, b) => compareText(a._uuid, b._uuid));
  return roots.map((r) => showRow(src, 'Open_vSwitch', r as AnyRow, 0, new Set())).join('');
}

/** The same tree as JSON: each shown row with its name, its non-default columns and its children. */
export function ovsShowJson(src: OvsSource): Record<string, unknown>[] {
  const rowJson = (table: string, row: AnyRow, shown: Set<string>): Record<string, unknown> => {
    const show = SHOW_TABLES.find((s) => s.table === table)!;
    const t = tableSchema(src, table);
    const out: Record<string, unknown> = { _uuid: row._uuid };
    if (show.nameColumn) out[show.nameColumn] = row[show.nameColumn];
    if (shown.has(table)) return out;
    shown.add(table);
    for (const name of show.columns) {
      const c = t.columns.get(name);
      if (!c) continue;
      const d = datumOf(c, row[name]);
      const ref = c.key.type === 'uuid' ? SHOW_TABLES.find((x) => x.table === c.key.refTable) : undefined;
      if (ref) {
        out[name] = d.keys
          .map((u) => src.get(ref.table as 'Bridge', u as string) as AnyRow | undefined)
          .filter((r): r is AnyRow => r !== undefined)
          .map((r) => rowJson(ref.table, r, shown));
      } else if (!isDefaultDatum(c, d)) out[name] = row[name];
    }
    shown.delete(table);
    return out;
  };
  const roots = [...src.rows('Open_vSwitch')].sort((a, b) => compareText(a._uuid, b._uuid));
  return roots.map((r) => rowJson('Open_vSwitch', r as AnyRow, new Set()));
}
