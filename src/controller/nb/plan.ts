// The heart of level-triggered reconciliation: given what an owner (a Kubernetes object) wants in northbound
// and the live replica, produce the operations that make northbound equal to it — inserts for rows that are
// missing, updates of only the columns that differ, and removal of rows the owner no longer wants. Several
// owners can be planned into one transaction (batching under load). Nothing here does I/O.

import { sameDatum } from '../../ovsdb/datum.ts';
import {
  type AnyTables,
  type NamedUuid,
  named,
  type Operation,
  Ops,
  type Replica,
  type Row,
} from '../../ovsdb/index.ts';
import type { DatabaseSchema } from '../../ovsdb/schema.ts';
import { ID_KEY, idOf, OWNER_KEY, ownerOf, ownershipIds } from './ownership.ts';

/** A row an owner wants. Columns not given are left as they are; external_ids gets the ownership keys. */
export interface DesiredRow {
  table: string;
  /** Unique per table, stable across restarts (it is how the row is found again). */
  id: string;
  columns: Record<string, unknown>;
  /** For rows of non-root tables: the row (by id) whose column references this one. */
  parent?: { table: string; id: string; column: string };
  /**
   * Rows of another table (by id, usually other owners' rows) whose weak-reference set column must hold
   * this row, e.g. a load balancer on switches: added where missing, taken out of every other row of that
   * table. A listed row that does not exist yet is skipped; the owner is planned again once it does.
   */
  attachedTo?: { table: string; column: string; ids: readonly string[] };
}

export class PlanError extends Error {
  constructor(
    readonly code: 'NB_PARENT_MISSING' | 'NB_NAME_TAKEN',
    message: string,
  ) {
    super(message);
    this.name = 'PlanError';
  }
}

type Ref = string | NamedUuid;

/** One transaction under construction; parent-set mutations are merged per parent row and column. */
export class TxnPlan {
  private readonly ops: Operation[] = [];
  private seq = 0;
  /** `${table}|${id}` -> uuid-name of rows inserted in this transaction. */
  private readonly inserted = new Map<string, NamedUuid>();
  private readonly parentAdds = new Map<
    string,
    { table: string; parent: Ref; column: string; refs: Ref[] }
  >();
  private readonly parentRemoves = new Map<
    string,
    { table: string; parent: string; column: string; refs: string[] }
  >();
  private readonly deletes: Operation[] = [];
  /** Undo steps, so that one owner's failed plan can be taken back out of a shared transaction. */
  private readonly undo: (() => void)[] = [];

  constructor(private readonly ops_ = new Ops<AnyTables>()) {}

  get empty(): boolean {
    return this.ops.length + this.parentAdds.size + this.parentRemoves.size + this.deletes.length === 0;
  }

  insertedRef(table: string, id: string): NamedUuid | undefined {
    return this.inserted.get(`${table}|${id}`);
  }

  /** A point to roll back to. */
  mark(): number {
    return this.undo.length;
  }

  rollback(mark: number): void {
    while (this.undo.length > mark) this.undo.pop()!();
  }

  private pushOp(list: Operation[], op: Operation): void {
    list.push(op);
    this.undo.push(() => list.pop());
  }

  insert(table: string, id: string, row: Record<string, unknown>): NamedUuid {
    const name = `r${++this.seq}`;
    this.pushOp(this.ops, this.ops_.insert(table, row, { uuidName: name }));
    const ref = named(name);
    const key = `${table}|${id}`;
    this.inserted.set(key, ref);
    this.undo.push(() => this.inserted.delete(key));
    return ref;
  }

  private addRef<E extends { refs: R[] }, R>(map: Map<string, E>, key: string, fresh: () => E, ref: R): void {
    let entry = map.get(key);
    if (!entry) {
      entry = fresh();
      map.set(key, entry);
      this.undo.push(() => map.delete(key));
    }
    const refs = entry.refs;
    refs.push(ref);
    this.undo.push(() => refs.pop());
  }

  addToParent(table: string, parent: Ref, column: string, ref: Ref): void {
    const key = `${table}|${typeof parent === 'string' ? parent : parent.name}|${column}`;
    this.addRef(this.parentAdds, key, () => ({ table, parent, column, refs: [] as Ref[] }), ref);
  }

  removeFromParent(table: string, parent: string, column: string, uuid: string): void {
    const key = `${table}|${parent}|${column}`;
    this.addRef(this.parentRemoves, key, () => ({ table, parent, column, refs: [] as string[] }), uuid);
  }

  update(table: string, uuid: string, changed: Record<string, unknown>): void {
    this.pushOp(this.ops, this.ops_.update(table, [['_uuid', '==', uuid]], changed));
  }

  delete(table: string, uuid: string): void {
    this.pushOp(this.deletes, this.ops_.delete(table, [['_uuid', '==', uuid]]));
  }

  /** The operations in a valid order: inserts and updates, then parent references, then deletions. */
  build(comment?: string): Operation[] {
    const out = [...this.ops];
    for (const a of this.parentAdds.values()) {
      // a parent inserted in this same transaction is matched by its uuid-name
      out.push(this.ops_.mutate(a.table, [['_uuid', '==', a.parent]], [[a.column, 'insert', a.refs]]));
    }
    for (const r of this.parentRemoves.values()) {
      out.push(this.ops_.mutate(r.table, [['_uuid', '==', r.parent]], [[r.column, 'delete', r.refs]]));
    }
    out.push(...this.deletes);
    if (comment && out.length) out.push(this.ops_.comment(comment));
    return out;
  }
}

/**
 * Where rows of each table are referenced from, from the schema: strong references (a child's parents), or
 * weak ones too (a load balancer's switches).
 */
export function parentColumns(
  schema: DatabaseSchema,
  tables: readonly string[],
  opts: { weak?: boolean } = {},
): Map<string, [string, string][]> {
  const out = new Map<string, [string, string][]>();
  for (const t of tables) {
    const ts = schema.tables.get(t);
    if (!ts) continue;
    for (const c of ts.columns.values()) {
      const ref = c.key.refTable;
      if (c.key.type !== 'uuid' || !ref || !tables.includes(ref)) continue;
      if (c.key.refType === 'weak' && !opts.weak) continue;
      const list = out.get(ref) ?? [];
      list.push([t, c.name]);
      out.set(ref, list);
    }
  }
  return out;
}

/** Registers the indexes the planner uses on a replica (call once, before planning). */
export function prepareReplica(replica: Replica<AnyTables>, tables: readonly string[]): void {
  for (const [, parents] of parentColumns(replica.schema, tables, { weak: true })) {
    for (const [table, column] of parents) {
      replica.addSetIndex(table, `ref:${column}`, column);
    }
  }
}

/** Whether an existing column value already is what a desired row asks (write forms allowed). */
function sameValue(want: unknown, have: unknown): boolean {
  if (want === undefined) return true;
  // a one-element set may be written as its bare element, an empty optional as null
  if (Array.isArray(want) && !Array.isArray(have)) return want.length === 1 && want[0] === have;
  if (want === null) return have === null || (Array.isArray(have) && have.length === 0);
  return sameDatum(want, have);
}

export interface PlannerOptions {
  /** The tables the controller manages (all monitored, all columns). */
  tables: readonly string[];
}

/**
 * Plans owners' desired rows against a replica. The replica must monitor every managed table with all
 * columns and have been prepared with prepareReplica().
 */
export class Planner {
  private readonly parents: Map<string, [string, string][]>;

  constructor(
    private readonly replica: Replica<AnyTables>,
    private readonly opts: PlannerOptions,
  ) {
    this.parents = parentColumns(replica.schema, opts.tables);
  }

  private find(table: string, id: string): Row | undefined {
    return this.replica.byExternalId(table, ID_KEY, id)[0] as Row | undefined;
  }

  /** Rows owned by `owner` in every managed table. */
  owned(owner: string): { table: string; row: Row }[] {
    const out: { table: string; row: Row }[] = [];
    for (const table of this.opts.tables) {
      for (const row of this.replica.byExternalId(table, OWNER_KEY, owner))
        out.push({ table, row: row as Row });
    }
    return out;
  }

  /**
   * Appends to `txn` what makes northbound hold exactly `desired` for `owner`. On PlanError nothing of this
   * owner stays in the transaction.
   */
  plan(txn: TxnPlan, owner: string, desired: readonly DesiredRow[]): void {
    const mark = txn.mark();
    try {
      this.planOwner(txn, owner, desired);
    } catch (e) {
      txn.rollback(mark);
      throw e;
    }
  }

  private planOwner(txn: TxnPlan, owner: string, desired: readonly DesiredRow[]): void {
    const wanted = new Set(desired.map((d) => `${d.table}|${d.id}`));
    // rows a desired row took over this plan (by id or by name): kept even when their old id is not wanted
    const claimed = new Set<string>();
    for (const d of desired) {
      const uuid = this.planRow(txn, owner, d, wanted);
      if (uuid) claimed.add(uuid);
    }
    for (const { table, row } of this.owned(owner)) {
      const id = idOf(row);
      if (claimed.has(row._uuid) || (id !== undefined && wanted.has(`${table}|${id}`))) continue;
      this.planRemoval(txn, table, row);
    }
  }

  /** Plans one desired row; returns the uuid of the existing row it became, if any. */
  private planRow(
    txn: TxnPlan,
    owner: string,
    d: DesiredRow,
    wanted: ReadonlySet<string>,
  ): string | undefined {
    const externalIds = {
      ...((d.columns.external_ids as Record<string, string> | undefined) ?? {}),
      ...ownershipIds(owner, d.id),
    };
    const columns: Record<string, unknown> = { ...d.columns, external_ids: externalIds };
    let existing = this.find(d.table, d.id);
    const holder = existing && ownerOf(existing);
    if (holder !== undefined && holder !== owner) {
      throw new PlanError('NB_NAME_TAKEN', `${d.table} ${d.id} is owned by ${holder}`);
    }
    if (!existing && typeof columns.name === 'string') {
      existing = this.adoptable(d.table, columns.name, owner, wanted);
    }
    let ref: Ref;
    if (existing) {
      const changed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(columns)) {
        if (!sameValue(v, (existing as Record<string, unknown>)[k])) changed[k] = v;
      }
      if (Object.keys(changed).length > 0) {
        txn.update(d.table, existing._uuid, changed);
      }
      ref = existing._uuid;
    } else {
      ref = txn.insert(d.table, d.id, columns);
    }
    if (d.parent) this.planParent(txn, d, ref, existing);
    if (d.attachedTo) this.planAttachments(txn, d.attachedTo, ref, existing);
    return existing?._uuid;
  }

  private planAttachments(
    txn: TxnPlan,
    a: NonNullable<DesiredRow['attachedTo']>,
    ref: Ref,
    existing: Row | undefined,
  ): void {
    // the rows that hold it now, from the reference index (prepareReplica) rather than a scan of the table
    const current = new Set(
      existing
        ? (this.replica.lookup(a.table, `ref:${a.column}`, existing._uuid) as Row[]).map((r) => r._uuid)
        : [],
    );
    const holders = new Set<string>();
    for (const id of a.ids) {
      const holder = this.find(a.table, id);
      const holderRef = holder?._uuid ?? txn.insertedRef(a.table, id);
      if (holderRef === undefined) continue;
      if (holder) holders.add(holder._uuid);
      if (!holder || !current.has(holder._uuid)) txn.addToParent(a.table, holderRef, a.column, ref);
    }
    for (const uuid of current)
      if (!holders.has(uuid)) txn.removeFromParent(a.table, uuid, a.column, existing!._uuid);
  }

  /**
   * A row with the wanted name that nobody owns (made by Kube-OVN, by hand, or by a crashed run before it
   * was tagged) is taken over instead of colliding with it; one owned by another owner is a conflict. Only
   * where a name names one row: a root table's or one indexed by name. An ACL's name is a label many rows
   * share; adopting by it once turned a policy's new ACL into its old one, which the same plan then removed.
   * A row of this owner is adopted only when no desired row wants it under its own id.
   */
  private adoptable(
    table: string,
    name: string,
    owner: string,
    wanted: ReadonlySet<string>,
  ): Row | undefined {
    const ts = this.replica.schema.tables.get(table);
    if (!ts?.columns.has('name')) return undefined;
    if (!ts.isRoot && !ts.indexes.some((ix) => ix.length === 1 && ix[0] === 'name')) return undefined;
    const [row] = this.replica.byName(table, name) as Row[];
    if (!row) return undefined;
    const other = ownerOf(row);
    if (other !== undefined && other !== owner) {
      throw new PlanError('NB_NAME_TAKEN', `${table} ${name} is owned by ${other}`);
    }
    const id = idOf(row);
    if (other === owner && id !== undefined && wanted.has(`${table}|${id}`)) return undefined;
    return row;
  }

  private planParent(txn: TxnPlan, d: DesiredRow, ref: Ref, existing: Row | undefined): void {
    const p = d.parent!;
    const parentRow = this.find(p.table, p.id);
    const parentRef: Ref | undefined = parentRow?._uuid ?? txn.insertedRef(p.table, p.id);
    if (parentRef === undefined) {
      throw new PlanError(
        'NB_PARENT_MISSING',
        `${d.table} ${d.id}: parent ${p.table} ${p.id} does not exist`,
      );
    }
    // who references the row comes from the replica's reference indexes: a parent's column can hold
    // thousands of rows (a router's policies), and scanning it per child made planning quadratic
    let holds = false;
    if (existing) {
      for (const [table, column] of this.parents.get(d.table) ?? []) {
        for (const other of this.replica.lookup(table, `ref:${column}`, existing._uuid) as Row[]) {
          if (other._uuid === parentRow?._uuid && table === p.table && column === p.column) holds = true;
          // a row of a non-root table referenced from a second parent (moved) is detached from the old one
          else txn.removeFromParent(table, other._uuid, column, existing._uuid);
        }
      }
    }
    if (!holds) txn.addToParent(p.table, parentRef, p.column, ref);
  }

  private planRemoval(txn: TxnPlan, table: string, row: Row): void {
    const isRoot = this.replica.schema.tables.get(table)?.isRoot;
    if (isRoot) {
      txn.delete(table, row._uuid);
      return;
    }
    // a non-root row disappears (garbage-collected) once nothing references it
    for (const [parentTable, column] of this.parents.get(table) ?? []) {
      for (const parent of this.replica.lookup(parentTable, `ref:${column}`, row._uuid) as Row[]) {
        txn.removeFromParent(parentTable, parent._uuid, column, row._uuid);
      }
    }
  }
}
