// An in-memory copy of the monitored part of a database, fed by monitor_cond / monitor_cond_since
// updates ("update2"/"update3" table-updates). It knows nothing of the network: the client hands it
// updates. Rows are replaced on change, never mutated, so callers may keep references; they are typed
// Readonly rather than frozen at run time (freezing cost a quarter of a 100k-row initial load).
// Indexes map a key (a column's value, an external_ids entry) to rows; listeners hear every change.
import { type Atom, applyColumnDiff, applySetDiff, type Row, rowDecoder, sameDatum } from './datum.ts';
import type { AnyTables, TableMap } from './ops.ts';
import { type DatabaseSchema, type TableSchema, tableOf } from './schema.ts';

export type ChangeKind = 'insert' | 'update' | 'delete';

export interface Change<R = Row> {
  table: string;
  kind: ChangeKind;
  uuid: string;
  /** The row after the change (absent for delete). */
  row?: Readonly<R>;
  /** The row before the change (absent for insert). */
  old?: Readonly<R>;
}

export type ChangeListener = (c: Change) => void;

/** table -> uuid -> {"initial"|"insert"|"modify": row-or-diff} | {"delete": null} */
export type TableUpdates2 = Record<string, Record<string, Record<string, Record<string, unknown> | null>>>;

interface Index {
  key: (row: Row) => string | readonly string[] | undefined;
  /** key -> the uuid of the one row with that key, or a set when several share it (most keys are unique). */
  map: Map<string, string | Set<string>>;
  /** The columns the key reads, when known: a modify that changes none of them leaves the index alone. */
  columns?: readonly string[];
  /**
   * The keys are the elements of this set column: a modify moves only the elements its diff names. A
   * router's policies column can hold 10k references; re-indexing it whole per change was quadratic.
   */
  setColumn?: string;
}

/** What a modify changed, for the indexes. */
interface Modification {
  columns: ReadonlySet<string>;
  /** Per set column, the elements that came and went. */
  sets: ReadonlyMap<string, { added: readonly unknown[]; removed: readonly unknown[] }>;
}

interface TableState {
  schema: TableSchema;
  rows: Map<string, Row>;
  decode: (uuid: string, wire: Record<string, unknown>) => Row;
  indexes: Map<string, Index>;
}

export class Replica<T extends TableMap = AnyTables> {
  private readonly tables = new Map<string, TableState>();
  private readonly listeners = new Set<ChangeListener>();

  /**
   * @param schema the database schema
   * @param columns the monitored tables, each with its monitored columns (undefined: all)
   */
  constructor(
    readonly schema: DatabaseSchema,
    columns: Record<string, readonly string[] | undefined>,
  ) {
    for (const [table, cols] of Object.entries(columns)) {
      const ts = tableOf(schema, table);
      const state: TableState = {
        schema: ts,
        rows: new Map(),
        decode: rowDecoder(ts, cols),
        indexes: new Map(),
      };
      this.tables.set(table, state);
      if (ts.columns.has('name') && (!cols || cols.includes('name'))) {
        this.addIndexTo(state, 'name', (r) => r.name as string, { columns: ['name'] });
      }
    }
  }

  // ---- reading ------------------------------------------------------------------------------------

  get<K extends keyof T & string>(table: K, uuid: string): Readonly<T[K]['row']> | undefined {
    return this.state(table).rows.get(uuid) as T[K]['row'] | undefined;
  }

  /** All rows of a table (a live view: do not hold it across awaits while others write). */
  rows<K extends keyof T & string>(table: K): IterableIterator<Readonly<T[K]['row']>> {
    return this.state(table).rows.values() as IterableIterator<T[K]['row']>;
  }

  list<K extends keyof T & string>(
    table: K,
    pred?: (r: Readonly<T[K]['row']>) => boolean,
  ): Readonly<T[K]['row']>[] {
    const out: T[K]['row'][] = [];
    for (const r of this.rows(table)) if (!pred || pred(r)) out.push(r);
    return out;
  }

  size(table: keyof T & string): number {
    return this.state(table).rows.size;
  }

  get tableNames(): string[] {
    return [...this.tables.keys()];
  }

  /** Rows whose name column equals name (tables with a name column are indexed by it). */
  byName<K extends keyof T & string>(table: K, name: string): Readonly<T[K]['row']>[] {
    return this.lookup(table, 'name', name);
  }

  /** Rows whose external_ids has key=value; the index on that key is built on first use. */
  byExternalId<K extends keyof T & string>(table: K, key: string, value: string): Readonly<T[K]['row']>[] {
    const idx = `external_ids:${key}`;
    const state = this.state(table);
    if (!state.indexes.has(idx)) {
      this.addIndexTo(state, idx, (r) => (r.external_ids as Record<string, string> | undefined)?.[key], {
        columns: ['external_ids'],
      });
    }
    return this.lookup(table, idx, value);
  }

  /** Adds a named index; key returns the key(s) of a row, or undefined to leave it out. */
  addIndex<K extends keyof T & string>(
    table: K,
    name: string,
    key: (row: Readonly<T[K]['row']>) => string | readonly string[] | undefined,
  ): void {
    this.addIndexTo(this.state(table), name, key as (r: Row) => string | undefined);
  }

  /** Adds an index of a set column's elements (which rows reference a uuid), kept up from diffs. */
  addSetIndex<K extends keyof T & string>(table: K, name: string, column: string): void {
    this.addIndexTo(this.state(table), name, (r) => r[column] as string[], {
      columns: [column],
      setColumn: column,
    });
  }

  lookup<K extends keyof T & string>(table: K, index: string, key: string): Readonly<T[K]['row']>[] {
    const state = this.state(table);
    const idx = state.indexes.get(index);
    if (!idx) throw new Error(`no index ${index} on ${table}`);
    const uuids = idx.map.get(key);
    if (uuids === undefined) return [];
    if (typeof uuids === 'string') return [state.rows.get(uuids) as T[K]['row']];
    return [...uuids].map((u) => state.rows.get(u) as T[K]['row']);
  }

  /** Listens to every change; returns a function that removes the listener. Keep listeners fast. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Listens to the changes of one table, with its row type. */
  onTableChange<K extends keyof T & string>(
    table: K,
    listener: (c: Change<T[K]['row']>) => void,
  ): () => void {
    this.state(table);
    return this.onChange((c) => {
      if (c.table === table) listener(c as Change<T[K]['row']>);
    });
  }

  // ---- feeding ------------------------------------------------------------------------------------

  /** Applies incremental table-updates (update2/update3 params, or a found=true monitor_cond_since reply). */
  apply(updates: TableUpdates2): void {
    for (const table in updates) {
      const state = this.tables.get(table);
      if (!state) continue;
      const rowsUpdate = updates[table]!;
      for (const uuid in rowsUpdate) {
        const u = rowsUpdate[uuid]!;
        if ('delete' in u) this.remove(state, uuid);
        else if (u.modify) this.modify(state, uuid, u.modify);
        else {
          const fresh = u.insert ?? u.initial;
          if (fresh) this.put(state, uuid, state.decode(uuid, fresh));
        }
      }
    }
  }

  /**
   * Replaces the whole content with a full initial dump (after a reconnect without history), emitting
   * only the real differences: rows gone are deleted, new rows inserted, changed rows updated.
   */
  reset(initial: TableUpdates2): void {
    for (const [table, state] of this.tables) {
      const incoming = initial[table] ?? {};
      if (state.rows.size === 0) {
        // the first load (the common case): nothing to compare with
        this.apply({ [table]: incoming });
        continue;
      }
      const seen = new Set<string>();
      for (const uuid in incoming) {
        const u = incoming[uuid]!;
        const fresh = u.initial ?? u.insert;
        if (!fresh) continue;
        seen.add(uuid);
        const row = state.decode(uuid, fresh);
        const old = state.rows.get(uuid);
        if (!old || !sameRow(old, row)) this.put(state, uuid, row);
      }
      for (const uuid of [...state.rows.keys()]) if (!seen.has(uuid)) this.remove(state, uuid);
    }
  }

  // ---- internals ----------------------------------------------------------------------------------

  private state(table: string): TableState {
    const s = this.tables.get(table);
    if (!s) throw new Error(`table ${table} is not monitored`);
    return s;
  }

  private modify(state: TableState, uuid: string, diff: Record<string, unknown>): void {
    const old = state.rows.get(uuid);
    if (!old) return; // a modify for a row we do not hold: the next full dump will bring it
    const row: Record<string, unknown> = { ...old };
    const columns = new Set<string>();
    const sets = new Map<string, { added: unknown[]; removed: unknown[] }>();
    for (const col in diff) {
      const c = state.schema.columns.get(col);
      if (!c || !(col in row)) continue;
      columns.add(col);
      if (c.shape === 'set') {
        const d = applySetDiff(row[col] as Atom[], diff[col]);
        row[col] = d.value;
        sets.set(col, d);
      } else row[col] = applyColumnDiff(c, row[col], diff[col]);
    }
    this.put(state, uuid, row as Row, { columns, sets });
  }

  private put(state: TableState, uuid: string, row: Row, change?: Modification): void {
    const old = state.rows.get(uuid);
    state.rows.set(uuid, row);
    for (const idx of state.indexes.values()) {
      if (!old) {
        indexAdd(idx, row);
        continue;
      }
      if (change && idx.columns && !idx.columns.some((c) => change.columns.has(c))) continue;
      const moved = change && idx.setColumn !== undefined ? change.sets.get(idx.setColumn) : undefined;
      if (moved) {
        for (const k of moved.removed) indexRemoveKey(idx, String(k), uuid);
        for (const k of moved.added) indexAddKey(idx, String(k), uuid);
        continue;
      }
      indexRemove(idx, old);
      indexAdd(idx, row);
    }
    if (this.listeners.size)
      this.emit({ table: state.schema.name, kind: old ? 'update' : 'insert', uuid, row, old });
  }

  private remove(state: TableState, uuid: string): void {
    const old = state.rows.get(uuid);
    if (!old) return;
    state.rows.delete(uuid);
    for (const idx of state.indexes.values()) indexRemove(idx, old);
    if (this.listeners.size) this.emit({ table: state.schema.name, kind: 'delete', uuid, old });
  }

  private emit(change: Change): void {
    for (const l of this.listeners) l(change);
  }

  private addIndexTo(
    state: TableState,
    name: string,
    key: Index['key'],
    opts: Pick<Index, 'columns' | 'setColumn'> = {},
  ): void {
    const idx: Index = { key, map: new Map(), ...opts };
    for (const row of state.rows.values()) indexAdd(idx, row);
    state.indexes.set(name, idx);
  }
}

function keysOf(idx: Index, row: Row): readonly string[] {
  const k = idx.key(row);
  if (typeof k === 'string') return [k];
  // an optional column without a value (ACL.name) has no key
  return Array.isArray(k) ? k : [];
}

function indexAdd(idx: Index, row: Row): void {
  for (const k of keysOf(idx, row)) indexAddKey(idx, k, row._uuid);
}

function indexRemove(idx: Index, row: Row): void {
  for (const k of keysOf(idx, row)) indexRemoveKey(idx, k, row._uuid);
}

function indexAddKey(idx: Index, k: string, uuid: string): void {
  const cur = idx.map.get(k);
  if (cur === undefined) idx.map.set(k, uuid);
  else if (typeof cur === 'string') {
    if (cur !== uuid) idx.map.set(k, new Set([cur, uuid]));
  } else cur.add(uuid);
}

function indexRemoveKey(idx: Index, k: string, uuid: string): void {
  const cur = idx.map.get(k);
  if (cur === undefined) return;
  if (typeof cur === 'string') {
    if (cur === uuid) idx.map.delete(k);
    return;
  }
  cur.delete(uuid);
  if (cur.size === 1) idx.map.set(k, cur.values().next().value!);
}

function sameRow(a: Row, b: Row): boolean {
  for (const k in b) if (!sameDatum(a[k], b[k])) return false;
  return true;
}
