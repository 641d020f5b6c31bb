// Transaction operations (RFC 7047 section 5.2). Builders return plain descriptions; the client encodes
// them against the server's schema when it sends them, so an unknown table or column, or a value of the
// wrong type, fails before anything reaches the server.
import { encodeRow, encodeValue, isUuid, NamedUuid } from './datum.ts';
import { SchemaError } from './errors.ts';
import { type ColumnSchema, columnOf, type DatabaseSchema, type TableSchema, tableOf } from './schema.ts';

/** Per table: the row as read (decoded) and as written (uuid references may be named). */
export type TableMap = Record<string, { row: object; write: object }>;
// biome-ignore lint/suspicious/noExplicitAny: column values of a database without generated types
type Untyped = any;
export type AnyTables = Record<
  string,
  { row: Record<string, Untyped> & { _uuid: string }; write: Record<string, Untyped> }
>;

export type Fn = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'includes' | 'excludes';
export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';

export type Condition<R> = readonly [column: (keyof R & string) | '_uuid', fn: Fn, value: unknown];
export type Mutation<W> = readonly [column: keyof W & string, mutator: Mutator, value: unknown];
/** Conditions and mutations once the table's type is no longer known. */
type AnyCondition = readonly [column: string, fn: Fn, value: unknown];
type AnyMutation = readonly [column: string, mutator: Mutator, value: unknown];

export type Operation =
  | { op: 'insert'; table: string; row: object; uuidName?: string; uuid?: string }
  | { op: 'select'; table: string; where: readonly AnyCondition[]; columns?: readonly string[] }
  | { op: 'update'; table: string; where: readonly AnyCondition[]; row: object }
  | { op: 'mutate'; table: string; where: readonly AnyCondition[]; mutations: readonly AnyMutation[] }
  | { op: 'delete'; table: string; where: readonly AnyCondition[] }
  | {
      op: 'wait';
      table: string;
      where: readonly AnyCondition[];
      columns: readonly string[];
      until: '==' | '!=';
      rows: readonly object[];
      timeout: number;
    }
  | { op: 'commit'; durable: boolean }
  | { op: 'abort' }
  | { op: 'comment'; comment: string }
  | { op: 'assert'; lock: string };

/** Typed operation builders for one database's tables. */
export class Ops<T extends TableMap> {
  insert<K extends keyof T & string>(
    table: K,
    row: T[K]['write'],
    opts: { uuidName?: string; uuid?: string } = {},
  ): Operation {
    return { op: 'insert', table, row, ...opts };
  }
  select<K extends keyof T & string>(
    table: K,
    where: readonly Condition<T[K]['row']>[] = [],
    columns?: readonly (keyof T[K]['row'] & string)[],
  ): Operation {
    return { op: 'select', table, where, columns };
  }
  update<K extends keyof T & string>(
    table: K,
    where: readonly Condition<T[K]['row']>[],
    row: T[K]['write'],
  ): Operation {
    return { op: 'update', table, where, row };
  }
  mutate<K extends keyof T & string>(
    table: K,
    where: readonly Condition<T[K]['row']>[],
    mutations: readonly Mutation<T[K]['write']>[],
  ): Operation {
    return { op: 'mutate', table, where, mutations };
  }
  delete<K extends keyof T & string>(table: K, where: readonly Condition<T[K]['row']>[]): Operation {
    return { op: 'delete', table, where };
  }
  /**
   * Blocks the transaction (or, with timeout 0, fails it with "timed out") unless the rows matching
   * `where`, projected to `columns`, are (`==`) or are not (`!=`) exactly `rows`.
   */
  wait<K extends keyof T & string>(
    table: K,
    where: readonly Condition<T[K]['row']>[],
    columns: readonly (keyof T[K]['row'] & string)[],
    until: '==' | '!=',
    rows: readonly T[K]['write'][],
    timeout = 0,
  ): Operation {
    return { op: 'wait', table, where, columns, until, rows, timeout };
  }
  /** A guard for idempotent creates: the transaction fails ("timed out") if any row matches `where`. */
  waitAbsent<K extends keyof T & string>(table: K, where: readonly Condition<T[K]['row']>[]): Operation {
    return { op: 'wait', table, where, columns: ['_uuid'], until: '==', rows: [], timeout: 0 };
  }
  comment(comment: string): Operation {
    return { op: 'comment', comment };
  }
  assert(lock: string): Operation {
    return { op: 'assert', lock };
  }
  commit(durable: boolean): Operation {
    return { op: 'commit', durable };
  }
  abort(): Operation {
    return { op: 'abort' };
  }
}

function encodeWhere(t: TableSchema, where: readonly AnyCondition[]): unknown[] {
  return where.map(([col, fn, value]) => {
    const c = columnOf(t, col);
    return [col, fn, encodeConditionValue(t, c, fn, value)];
  });
}

function encodeConditionValue(t: TableSchema, c: ColumnSchema, fn: Fn, value: unknown): unknown {
  // includes/excludes on a set column take a set (a bare atom is a one-element set)
  if ((fn === 'includes' || fn === 'excludes') && c.shape === 'optional' && Array.isArray(value)) {
    return encodeValue(t, { ...c, shape: 'set', max: Number.POSITIVE_INFINITY }, value);
  }
  return encodeValue(t, c, value);
}

function encodeMutation(t: TableSchema, [col, mutator, value]: AnyMutation): unknown[] {
  const c = columnOf(t, col);
  if (c.shape === 'map' && mutator === 'delete' && (Array.isArray(value) || value instanceof Set)) {
    // deleting map keys by a set of keys
    const keys = { ...c, value: undefined, shape: 'set' as const, max: Number.POSITIVE_INFINITY };
    return [col, mutator, encodeValue(t, keys, [...(value as Iterable<unknown>)])];
  }
  if ((c.shape === 'set' || c.shape === 'optional') && (mutator === 'insert' || mutator === 'delete')) {
    const set = { ...c, shape: 'set' as const, max: Number.POSITIVE_INFINITY };
    return [col, mutator, encodeValue(t, set, value)];
  }
  if (mutator === 'insert' || mutator === 'delete') return [col, mutator, encodeValue(t, c, value)];
  // arithmetic mutators take one atom of the column's key type
  return [col, mutator, encodeValue(t, { ...c, shape: 'scalar', value: undefined }, value)];
}

/** Turns an operation into its wire form, checked against the schema. */
export function encodeOperation(schema: DatabaseSchema, op: Operation): Record<string, unknown> {
  switch (op.op) {
    case 'commit':
    case 'abort':
    case 'comment':
    case 'assert':
      return { ...op };
  }
  const t = tableOf(schema, op.table);
  switch (op.op) {
    case 'insert': {
      const out: Record<string, unknown> = {
        op: 'insert',
        table: op.table,
        row: encodeRow(t, op.row as never),
      };
      if (op.uuidName !== undefined) {
        if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(op.uuidName))
          throw new SchemaError(`invalid uuid-name ${op.uuidName}`);
        out['uuid-name'] = op.uuidName;
      }
      if (op.uuid !== undefined) {
        if (!isUuid(op.uuid)) throw new SchemaError(`invalid explicit uuid ${op.uuid}`);
        out.uuid = op.uuid; // OVS 2.13+: a bare string, unlike uuid atoms
      }
      return out;
    }
    case 'select':
      return {
        op: 'select',
        table: op.table,
        where: encodeWhere(t, op.where),
        ...(op.columns ? { columns: op.columns.map((c) => columnOf(t, c).name) } : {}),
      };
    case 'update':
      return {
        op: 'update',
        table: op.table,
        where: encodeWhere(t, op.where),
        row: encodeRow(t, op.row as never),
      };
    case 'mutate':
      return {
        op: 'mutate',
        table: op.table,
        where: encodeWhere(t, op.where),
        mutations: op.mutations.map((m) => encodeMutation(t, m)),
      };
    case 'delete':
      return { op: 'delete', table: op.table, where: encodeWhere(t, op.where) };
    case 'wait':
      return {
        op: 'wait',
        table: op.table,
        where: encodeWhere(t, op.where),
        columns: op.columns.map((c) => columnOf(t, c).name),
        until: op.until,
        rows: op.rows.map((r) => encodeRow(t, r as never)),
        timeout: op.timeout,
      };
  }
}

export { NamedUuid };
