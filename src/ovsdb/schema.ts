// OVSDB schemas (RFC 7047 section 3.2) and their column types in one normalised shape.
import { printable, SchemaError } from './errors.ts';

export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';

export interface BaseType {
  type: AtomicType;
  enum?: unknown;
  minInteger?: number;
  maxInteger?: number;
  minReal?: number;
  maxReal?: number;
  minLength?: number;
  maxLength?: number;
  refTable?: string;
  refType?: 'strong' | 'weak';
}

/** A column type as the schema file writes it: an atomic type name, or the full object form. */
export type RawColumnType =
  | AtomicType
  | {
      key: AtomicType | BaseType;
      value?: AtomicType | BaseType;
      min?: number;
      max?: number | 'unlimited';
    };

export interface RawTableSchema {
  columns: Record<string, { type: RawColumnType; ephemeral?: boolean; mutable?: boolean }>;
  maxRows?: number;
  isRoot?: boolean;
  indexes?: string[][];
}

export interface RawDatabaseSchema {
  name: string;
  version: string;
  cksum?: string;
  tables: Record<string, RawTableSchema>;
}

/** How a column's values look in JavaScript. */
export type ColumnShape =
  | 'scalar' // exactly one atom: min 1, max 1
  | 'optional' // zero or one atom: a value or null
  | 'set' // any number of atoms: an array
  | 'map'; // key/value pairs: an object keyed by the key's text

export interface ColumnSchema {
  name: string;
  key: BaseType;
  value?: BaseType;
  min: number;
  max: number; // Infinity for unlimited
  shape: ColumnShape;
  mutable: boolean;
}

export interface TableSchema {
  name: string;
  columns: Map<string, ColumnSchema>;
  isRoot: boolean;
  indexes: string[][];
}

export interface DatabaseSchema {
  name: string;
  version: string;
  tables: Map<string, TableSchema>;
  raw: RawDatabaseSchema;
}

const ATOMIC_TYPES: ReadonlySet<unknown> = new Set<AtomicType>([
  'integer',
  'real',
  'boolean',
  'string',
  'uuid',
]);

// The schema comes from the server: a type the rest of the client cannot handle is refused here, rather
// than failing later in whatever code first reads the column.
function base(column: string, t: AtomicType | BaseType): BaseType {
  const b = typeof t === 'string' ? { type: t } : t;
  if (!b || typeof b !== 'object' || !ATOMIC_TYPES.has(b.type)) {
    throw new SchemaError(`column ${column}: not an atomic type: ${printable(t, 80)}`);
  }
  return b;
}

export function normaliseColumn(name: string, raw: RawColumnType, mutable = true): ColumnSchema {
  if (typeof raw === 'string') {
    return { name, key: base(name, raw), min: 1, max: 1, shape: 'scalar', mutable };
  }
  if (!raw || typeof raw !== 'object') throw new SchemaError(`column ${name}: no type`);
  const min = raw.min ?? 1;
  const max = raw.max === 'unlimited' ? Number.POSITIVE_INFINITY : (raw.max ?? 1);
  const key = base(name, raw.key);
  const value = raw.value === undefined ? undefined : base(name, raw.value);
  let shape: ColumnShape;
  if (value) shape = 'map';
  else if (max === 1) shape = min === 1 ? 'scalar' : 'optional';
  else shape = 'set';
  return { name, key, value, min, max, shape, mutable };
}

const IMPLICIT_COLUMNS: [string, RawColumnType][] = [
  ['_uuid', 'uuid'],
  ['_version', 'uuid'],
];

export function parseSchema(raw: RawDatabaseSchema): DatabaseSchema {
  if (!raw || typeof raw.name !== 'string' || typeof raw.tables !== 'object' || raw.tables === null) {
    throw new SchemaError('not an OVSDB schema: it needs "name" and "tables"');
  }
  const tables = new Map<string, TableSchema>();
  for (const [tname, t] of Object.entries(raw.tables)) {
    if (!t || typeof t.columns !== 'object' || t.columns === null) {
      throw new SchemaError(`not an OVSDB schema: table ${tname} has no "columns"`);
    }
    const columns = new Map<string, ColumnSchema>();
    for (const [cname, type] of IMPLICIT_COLUMNS) columns.set(cname, normaliseColumn(cname, type, false));
    for (const [cname, c] of Object.entries(t.columns)) {
      columns.set(cname, normaliseColumn(cname, c?.type, c?.mutable !== false));
    }
    tables.set(tname, { name: tname, columns, isRoot: t.isRoot === true, indexes: t.indexes ?? [] });
  }
  return { name: raw.name, version: raw.version, tables, raw };
}

export function tableOf(schema: DatabaseSchema, table: string): TableSchema {
  const t = schema.tables.get(table);
  if (!t) throw new SchemaError(`unknown table ${table} in database ${schema.name}`);
  return t;
}

export function columnOf(t: TableSchema, column: string): ColumnSchema {
  const c = t.columns.get(column);
  if (!c) throw new SchemaError(`unknown column ${t.name}.${column}`);
  return c;
}

/** Compares "major.minor.patch" versions; a client built for `expected` works with a server at `actual`
 * when the major numbers are equal and the server is not older. */
export function versionCompatible(expected: string, actual: string): boolean {
  const [ea = 0, eb = 0, ec = 0] = expected.split('.').map(Number);
  const [aa = 0, ab = 0, ac = 0] = actual.split('.').map(Number);
  if (ea !== aa) return false;
  return ab > eb || (ab === eb && ac >= ec);
}
