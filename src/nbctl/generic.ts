// `list TABLE [RECORD...]` and `find TABLE CONDITION...` over any table, as ovn-nbctl and ovs-vsctl do
// them (lib/db-ctl-base.c): partial table and column names, records by uuid, uuid prefix or the
// tool's name columns, conditions with the full set of relational operators. Row order, which the
// tools take from their IDL's hash table, is by uuid here.
import type { Atom } from '../ovsdb/datum.ts';
import type { ColumnSchema, DatabaseSchema, TableSchema } from '../ovsdb/schema.ts';
import { compareText, padEnd } from './c-text.ts';
import { DatumParseError, parseAtom, parseDatum, parseToken } from './datum-parse.ts';
import { compareAtoms, type Datum, type DatumType, datumOf, datumToString } from './datum-text.ts';
import { ViewError } from './errors.ts';
import { asUuid, type RowSource } from './source.ts';

type AnyRow = Readonly<Record<string, unknown> & { _uuid: string }>;
type AnySource = RowSource<Record<string, { row: AnyRow; write: object }>>;

/** A way to name a record (struct ctl_row_id): a name column, maybe through a map key or a reference. */
export interface RowId {
  /** The table holding the name column. */
  table: string;
  column: string;
  /** The name is the value of this key of a map column. */
  key?: string;
  /** The record is the one this column of the named row points at. */
  uuidColumn?: string;
}

/** ovn-nbctl's row ids (the tables[] array in utilities/ovn-nbctl.c). */
export const NB_ROW_IDS: Record<string, RowId[]> = {
  DHCP_Options: [
    { table: 'Logical_Switch_Port', column: 'name', uuidColumn: 'dhcpv4_options' },
    {
      table: 'Logical_Switch_Port',
      column: 'external_ids',
      key: 'neutron:port_name',
      uuidColumn: 'dhcpv4_options',
    },
    { table: 'Logical_Switch_Port', column: 'name', uuidColumn: 'dhcpv6_options' },
    {
      table: 'Logical_Switch_Port',
      column: 'external_ids',
      key: 'neutron:port_name',
      uuidColumn: 'dhcpv6_options',
    },
  ],
  Logical_Switch: [
    { table: 'Logical_Switch', column: 'name' },
    { table: 'Logical_Switch', column: 'external_ids', key: 'neutron:network_name' },
  ],
  Logical_Switch_Port: [
    { table: 'Logical_Switch_Port', column: 'name' },
    { table: 'Logical_Switch_Port', column: 'external_ids', key: 'neutron:port_name' },
  ],
  Logical_Router: [
    { table: 'Logical_Router', column: 'name' },
    { table: 'Logical_Router', column: 'external_ids', key: 'neutron:router_name' },
  ],
  Logical_Router_Port: [{ table: 'Logical_Router_Port', column: 'name' }],
  Address_Set: [{ table: 'Address_Set', column: 'name' }],
  Port_Group: [{ table: 'Port_Group', column: 'name' }],
  ACL: [{ table: 'ACL', column: 'name' }],
  HA_Chassis: [{ table: 'HA_Chassis', column: 'chassis_name' }],
  HA_Chassis_Group: [{ table: 'HA_Chassis_Group', column: 'name' }],
  Load_Balancer: [{ table: 'Load_Balancer', column: 'name' }],
  Load_Balancer_Group: [{ table: 'Load_Balancer_Group', column: 'name' }],
  Load_Balancer_Health_Check: [{ table: 'Load_Balancer_Health_Check', column: 'vip' }],
  Forwarding_Group: [{ table: 'Forwarding_Group', column: 'name' }],
  Meter: [{ table: 'Meter', column: 'name' }],
  NAT: [{ table: 'NAT', column: 'external_ip' }],
  Chassis_Template_Var: [{ table: 'Chassis_Template_Var', column: 'chassis' }],
  Connection: [{ table: 'Connection', column: 'target' }],
};

/** ovs-vsctl's row ids (utilities/ovs-vsctl.c). */
export const OVS_ROW_IDS: Record<string, RowId[]> = {
  Bridge: [{ table: 'Bridge', column: 'name' }],
  Controller: [{ table: 'Bridge', column: 'name', uuidColumn: 'controller' }],
  Interface: [{ table: 'Interface', column: 'name' }],
  Mirror: [{ table: 'Mirror', column: 'name' }],
  Manager: [{ table: 'Manager', column: 'target' }],
  NetFlow: [{ table: 'Bridge', column: 'name', uuidColumn: 'netflow' }],
  Port: [{ table: 'Port', column: 'name' }],
  QoS: [{ table: 'Port', column: 'name', uuidColumn: 'qos' }],
  sFlow: [{ table: 'Bridge', column: 'name', uuidColumn: 'sflow' }],
  Flow_Table: [{ table: 'Flow_Table', column: 'name' }],
  IPFIX: [{ table: 'Bridge', column: 'name', uuidColumn: 'ipfix' }],
  AutoAttach: [{ table: 'Bridge', column: 'name', uuidColumn: 'auto_attach' }],
  Flow_Sample_Collector_Set: [{ table: 'Flow_Sample_Collector_Set', column: 'id' }],
};

/** The result of list or find: the table's columns (as the tool prints them) and the matching rows. */
export interface RecordList {
  table: string;
  columns: string[];
  /** Each row with _uuid first and every column in the replica's decoded form, sets sorted. */
  rows: Record<string, unknown>[];
}

const lowerUnderscore = (c: string) => (c === '-' ? '_' : c.toLowerCase());

/** score_partial_match(): how well user input s names name (0: not at all). */
function partialScore(name: string, s: string): number {
  if (name === s) return Number.MAX_SAFE_INTEGER;
  let i = 0;
  for (; ; i++) {
    const [a, b] = [name[i] ?? '', s[i] ?? ''];
    if (lowerUnderscore(a) !== lowerUnderscore(b)) break;
    if (a === '') return Number.MAX_SAFE_INTEGER - 1;
  }
  return i === s.length ? i : 0;
}

function bestMatch(names: string[], s: string): string[] {
  let best = 0;
  let matches: string[] = [];
  for (const n of names) {
    const score = partialScore(n, s);
    if (score && score >= best) {
      if (score > best) matches = [];
      matches.push(n);
      best = score;
    }
  }
  return matches.sort(compareText);
}

export function resolveTable(schema: DatabaseSchema, name: string): TableSchema {
  const matches = bestMatch([...schema.tables.keys()], name);
  if (matches.length === 0) throw new ViewError('NOT_FOUND', `unknown table "${name}"`);
  if (matches.length > 1)
    throw new ViewError('AMBIGUOUS', `"${name}" matches multiple table names: ${matches.join(', ')}`);
  return schema.tables.get(matches[0]!)!;
}

/** The columns the tools know for a table, in their (sorted) order, without _uuid and _version. */
export function columnsOf(t: TableSchema): ColumnSchema[] {
  return [...t.columns.values()]
    .filter((c) => c.name !== '_uuid' && c.name !== '_version')
    .sort((a, b) => compareText(a.name, b.name));
}

function resolveColumn(t: TableSchema, name: string): ColumnSchema {
  const matches = bestMatch(
    columnsOf(t).map((c) => c.name),
    name,
  );
  if (matches.length === 0)
    throw new ViewError('BAD_ARGS', `${t.name} does not contain a column whose name matches "${name}"`);
  if (matches.length > 1)
    throw new ViewError(
      'AMBIGUOUS',
      `${t.name} contains more than one column whose name matches "${name}": ${matches.join(', ')}`,
    );
  return t.columns.get(matches[0]!)!;
}

function rowsOf(src: AnySource, table: string): AnyRow[] {
  return [...src.rows(table)].sort((a, b) => compareText(a._uuid, b._uuid));
}

/** get_row_by_id(): the one row a name picks through one row id. */
function rowById(src: AnySource, schema: DatabaseSchema, id: RowId, record: string, target: string) {
  const column = schema.tables.get(id.table)?.columns.get(id.column);
  if (!column) return undefined;
  const nameType = id.key ? column.value?.type : column.key.type;
  if (nameType === 'integer' && !/^\d+$/.test(record)) return undefined;
  let found: AnyRow | undefined;
  for (const row of rowsOf(src, id.table)) {
    const v = row[id.column];
    const name = id.key
      ? (v as Record<string, Atom>)[id.key]
      : Array.isArray(v)
        ? v.length === 1
          ? v[0]
          : undefined
        : v;
    if (name === undefined || name === null) continue;
    if (nameType === 'integer' ? name !== Number(record) : name !== record) continue;
    if (found) throw new ViewError('AMBIGUOUS', `multiple rows in ${id.table} match "${record}"`);
    found = row;
  }
  if (!found || !id.uuidColumn) return found;
  const ref = found[id.uuidColumn];
  const uuid = Array.isArray(ref) ? ref[0] : ref;
  return typeof uuid === 'string' ? src.get(target, uuid) : undefined;
}

/** ctl_get_row(): by uuid, "." for a one-row table, the tool's row ids, then a unique uuid prefix. */
function getRecord(src: AnySource, rowIds: Record<string, RowId[]>, t: TableSchema, record: string): AnyRow {
  const uuid = asUuid(record);
  let row = uuid ? src.get(t.name, uuid) : undefined;
  if (!row && record === '.') {
    const all = rowsOf(src, t.name);
    if (all.length === 1) row = all[0];
  }
  for (const id of rowIds[t.name] ?? []) {
    if (row) break;
    row = rowById(src, src.schema, id, record, t.name);
  }
  if (!row && partialUuidLength(record) >= 4) {
    for (const r of rowsOf(src, t.name)) {
      if (!r._uuid.startsWith(record)) continue;
      if (row)
        throw new ViewError(
          'AMBIGUOUS',
          `${t.name} contains 2 or more rows whose UUIDs begin with ${record}: at least ${row._uuid} and ${r._uuid}`,
        );
      row = r;
    }
  }
  if (!row) throw new ViewError('NOT_FOUND', `no row "${record}" in table ${t.name}`);
  return row;
}

/** uuid_is_partial_string(): how many characters of s fit the uuid template (0 if any does not). */
function partialUuidLength(s: string): number {
  const tmpl = 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx';
  if (s.length > tmpl.length) return 0;
  for (let i = 0; i < s.length; i++) {
    const ok = tmpl[i] === 'x' ? /[0-9a-fA-F]/.test(s[i]!) : s[i] === '-';
    if (!ok) return 0;
  }
  return s.length;
}

/** A column value as JSON: the replica's form, sets and map keys in the database's order. */
function jsonValue(c: ColumnSchema, v: unknown): unknown {
  const d = datumOf(c, v);
  if (c.value) return Object.fromEntries(d.keys.map((k, i) => [String(k), d.values![i]]));
  if (c.shape === 'set') return d.keys;
  return c.shape === 'optional' ? (d.keys[0] ?? null) : d.keys[0];
}

export interface ListOptions {
  /** --columns=a,b: these columns ("_uuid" among them if wanted), in this order. */
  columns?: string;
  /** --if-exists: a record that is not there is skipped instead of an error. */
  ifExists?: boolean;
}

/** parse_column_names(): all columns, or the --columns selection (partial names allowed). */
function selectColumns(t: TableSchema, spec?: string): (ColumnSchema | '_uuid')[] {
  if (spec === undefined) return ['_uuid', ...columnsOf(t)];
  const names = spec.split(/[, ]+/).filter((n) => n !== '');
  if (names.length === 0) throw new ViewError('BAD_ARGS', 'must specify at least one column name');
  return names.map((n) => (n.toLowerCase() === '_uuid' ? '_uuid' : resolveColumn(t, n)));
}

function recordList(t: TableSchema, rows: AnyRow[], columns?: string): RecordList {
  const cols = selectColumns(t, columns);
  return {
    table: t.name,
    columns: cols.map((c) => (c === '_uuid' ? c : c.name)),
    rows: rows.map((r) => {
      const out: Record<string, unknown> = {};
      for (const c of cols)
        out[c === '_uuid' ? c : c.name] = c === '_uuid' ? r._uuid : jsonValue(c, r[c.name]);
      return out;
    }),
  };
}

/** list TABLE [RECORD...]: the named records in the given order, or every row. */
export function listRecords(
  src: AnySource,
  rowIds: Record<string, RowId[]>,
  table: string,
  records: string[] = [],
  opts: ListOptions = {},
): RecordList {
  const t = resolveTable(src.schema, table);
  // the columns are checked before the records, as in cmd_list
  selectColumns(t, opts.columns);
  let rows: AnyRow[];
  if (records.length === 0) rows = rowsOf(src, t.name);
  else {
    rows = [];
    for (const r of records) {
      try {
        rows.push(getRecord(src, rowIds, t, r));
      } catch (e) {
        if (!(opts.ifExists && e instanceof ViewError && e.code === 'NOT_FOUND')) throw e;
      }
    }
  }
  return recordList(t, rows, opts.columns);
}

const RELOPS = [
  '=',
  '!=',
  '<',
  '>',
  '<=',
  '>=',
  '{=}',
  '{!=}',
  '{<}',
  '{>}',
  '{<=}',
  '{>=}',
  '{in}',
  '{not-in}',
];
const SET_OPS = new Set(['{=}', '{!=}', '{<}', '{>}', '{<=}', '{>=}', '{in}', '{not-in}']);

interface Condition {
  column: ColumnSchema;
  key?: Atom;
  op: string;
  want: Datum;
  /** The type the values are compared as (the map's value type when a key is given). */
  type: DatumType;
}

function missingOperator(arg: string): ViewError {
  const quoted = RELOPS.map((o) => `"${o}"`);
  const list = `${quoted.slice(0, -1).join(', ')}, or ${quoted.at(-1)}`;
  return new ViewError('BAD_ARGS', `${arg}: argument does not end in ${list} followed by a value.`);
}

/** parse_column_key_value() + the parsing half of check_condition(). */
export function parseCondition(t: TableSchema, arg: string): Condition {
  try {
    const col = parseToken(arg, 0);
    if (col.token === '') throw new ViewError('BAD_ARGS', `${arg}: missing column name`);
    const column = resolveColumn(t, col.token);
    let p = col.end;
    let keyText: string | undefined;
    if (arg[p] === ':') {
      const k = parseToken(arg, p + 1);
      keyText = k.token;
      p = k.end;
    }
    const rest = arg.slice(p);
    const op = RELOPS.filter((o) => rest.startsWith(o) && rest.length > o.length).sort(
      (a, b) => b.length - a.length,
    )[0];
    if (!op) throw missingOperator(arg);
    const valueText = rest.slice(op.length);
    if (keyText === undefined) {
      return { column, op, want: parseDatum(column, valueText), type: column };
    }
    if (!column.value)
      throw new ViewError('BAD_ARGS', `cannot specify key to check for non-map column ${column.name}`);
    const type: DatumType = { key: column.value, min: column.min, max: Number.POSITIVE_INFINITY };
    const key = parseAtom(column.key, keyText).atom;
    return { column, key, op, want: parseDatum(type, valueText), type };
  } catch (e) {
    if (e instanceof DatumParseError) throw new ViewError('BAD_ARGS', e.message);
    throw e;
  }
}

function compareDatums(t: DatumType, a: Datum, b: Datum): number {
  if (a.keys.length !== b.keys.length) return a.keys.length < b.keys.length ? -1 : 1;
  for (let i = 0; i < a.keys.length; i++) {
    const c = compareAtoms(t.key.type, a.keys[i]!, b.keys[i]!);
    if (c) return c;
  }
  if (t.value) {
    for (let i = 0; i < a.keys.length; i++) {
      const c = compareAtoms(t.value.type, a.values![i]!, b.values![i]!);
      if (c) return c;
    }
  }
  return 0;
}

/** Whether element i of a is in b (key, and value for a map). */
function contains(t: DatumType, b: Datum, key: Atom, value: Atom | undefined): boolean {
  return b.keys.some(
    (k, j) =>
      compareAtoms(t.key.type, k, key) === 0 &&
      (!t.value || compareAtoms(t.value.type, b.values![j]!, value!) === 0),
  );
}

const includesAll = (t: DatumType, a: Datum, b: Datum) =>
  a.keys.length <= b.keys.length && a.keys.every((k, i) => contains(t, b, k, a.values?.[i]));

function evaluate(t: DatumType, a: Datum, b: Datum, op: string): boolean {
  switch (op) {
    case '=':
    case '{=}':
      return compareDatums(t, a, b) === 0;
    case '!=':
    case '{!=}':
      return compareDatums(t, a, b) !== 0;
    case '<':
      return compareDatums(t, a, b) < 0;
    case '>':
      return compareDatums(t, a, b) > 0;
    case '<=':
      return compareDatums(t, a, b) <= 0;
    case '>=':
      return compareDatums(t, a, b) >= 0;
    case '{<}':
      return b.keys.length > a.keys.length && includesAll(t, a, b);
    case '{>}':
      return a.keys.length > b.keys.length && includesAll(t, b, a);
    case '{<=}':
    case '{in}':
      return includesAll(t, a, b);
    case '{>=}':
      return includesAll(t, b, a);
    default:
      // {not-in}
      return a.keys.every((k, i) => !contains(t, b, k, a.values?.[i]));
  }
}

export function matches(row: AnyRow, cond: Condition): boolean {
  const have = datumOf(cond.column, row[cond.column.name]);
  if (cond.key === undefined) return evaluate(cond.type, have, cond.want, cond.op);
  const i = have.keys.findIndex((k) => compareAtoms(cond.column.key.type, k, cond.key!) === 0);
  if (i < 0 && !SET_OPS.has(cond.op)) return false;
  const a: Datum = { keys: i < 0 ? [] : [have.values![i]!] };
  return evaluate(cond.type, a, cond.want, cond.op);
}

/** find TABLE CONDITION...: the rows that satisfy every condition. */
export function findRecords(
  src: AnySource,
  table: string,
  conditions: string[],
  opts: Pick<ListOptions, 'columns'> = {},
): RecordList {
  const t = resolveTable(src.schema, table);
  // the columns are checked before the conditions, as in cmd_find
  selectColumns(t, opts.columns);
  const conds = conditions.map((c) => parseCondition(t, c));
  const rows = rowsOf(src, t.name).filter((r) => conds.every((c) => matches(r, c)));
  return recordList(t, rows, opts.columns);
}

/** The tools' default "list" format: "column<pad to 20>: value" lines, records apart by a blank line. */
export function renderRecordList(src: { schema: DatabaseSchema }, m: RecordList): string {
  const t = src.schema.tables.get(m.table)!;
  return m.rows
    .map((r) => {
      let s = '';
      for (const name of m.columns) {
        const c = t.columns.get(name)!;
        const text = name === '_uuid' ? String(r._uuid) : datumToString(c, datumOf(c, r[name]));
        s += `${padEnd(name, 20)}: ${text}\n`;
      }
      return s;
    })
    .join('\n');
}
