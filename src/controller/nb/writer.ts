// Applies owners' desired northbound state in one transaction per batch, against the live replica. The
// replica is current when a transaction's reply arrives (the server sends our own update first), so the
// next plan always starts from what northbound really holds.
import type { Tables } from '../../ovsdb/generated/ovn-nb.ts';
import type { AnyTables, OvsdbClient, Replica } from '../../ovsdb/index.ts';
import { ownerOf } from './ownership.ts';
import { type DesiredRow, PlanError, Planner, prepareReplica, TxnPlan } from './plan.ts';

/** The northbound tables the controller owns rows in. */
export const MANAGED_TABLES = [
  'Logical_Router',
  'Logical_Router_Port',
  'Logical_Router_Static_Route',
  'Logical_Router_Policy',
  'Logical_Switch',
  'Logical_Switch_Port',
  'ACL',
  'Port_Group',
  'Address_Set',
  'Load_Balancer',
] as const;

export interface OwnerState {
  owner: string;
  desired: readonly DesiredRow[];
}

export interface ApplyResult {
  /** Operations in the transaction sent (0 when northbound already matched; shared by a group commit). */
  ops: number;
  /** Owners that could not be planned (e.g. a parent row not there yet), with why; retry them later. */
  failed: { owner: string; error: PlanError }[];
}

interface PendingApply {
  states: readonly OwnerState[];
  comment?: string;
  resolve: (r: ApplyResult) => void;
  reject: (e: unknown) => void;
}

/** At most this many apply() calls share one transaction. */
const MAX_BATCH = 64;

export class NbWriter {
  private readonly planner: Planner;

  private constructor(
    private readonly client: OvsdbClient<Tables>,
    readonly replica: Replica<Tables>,
  ) {
    const r = replica as unknown as Replica<AnyTables>;
    prepareReplica(r, MANAGED_TABLES);
    this.planner = new Planner(r, { tables: MANAGED_TABLES });
  }

  /**
   * Starts the monitor and returns a writer on it. Every northbound table is monitored, not only the
   * managed ones, so the same replica also serves the ovn-nbctl views of the debug endpoint.
   */
  static async create(
    client: OvsdbClient<Tables>,
    opts: { onTransaction?: (ms: number) => void } = {},
  ): Promise<NbWriter> {
    const spec = Object.fromEntries([...client.schema.tables.keys()].map((t) => [t, {}]));
    const replica = await client.monitor(spec as Parameters<typeof client.monitor>[0]);
    const w = new NbWriter(client, replica);
    w.onTransaction = opts.onTransaction;
    return w;
  }

  private onTransaction: ((ms: number) => void) | undefined;

  /**
   * Makes northbound hold exactly what each owner wants, in one transaction. Calls that arrive while a
   * transaction is in flight are planned together into the next one (group commit): under load many
   * objects' changes cost one transaction, and each plan is made against a replica that already holds the
   * previous transaction's result (the server sends monitor updates before the reply).
   */
  apply(states: readonly OwnerState[], comment?: string): Promise<ApplyResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ states, comment, resolve, reject });
      void this.flush();
    });
  }

  private readonly pending: PendingApply[] = [];
  private inFlight = false;

  private async flush(): Promise<void> {
    if (this.inFlight || this.pending.length === 0) return;
    this.inFlight = true;
    const batch = this.pending.splice(0, MAX_BATCH);
    try {
      await this.commit(batch);
    } catch (e) {
      if (batch.length === 1) batch[0]!.reject(e);
      // one caller's rows broke the shared transaction: give every caller its own, so only it fails
      else for (const call of batch) await this.commit([call]).catch((err: unknown) => call.reject(err));
    } finally {
      this.inFlight = false;
      void this.flush();
    }
  }

  private async commit(batch: readonly PendingApply[]): Promise<void> {
    const txn = new TxnPlan();
    const failed = batch.map(() => [] as ApplyResult['failed']);
    batch.forEach((call, i) => {
      for (const s of call.states) {
        try {
          this.planner.plan(txn, s.owner, s.desired);
        } catch (e) {
          if (!(e instanceof PlanError)) throw e;
          failed[i]!.push({ owner: s.owner, error: e });
        }
      }
    });
    const comment = batch.length === 1 ? batch[0]!.comment : undefined;
    const ops = txn.build(comment);
    if (ops.length > 0) {
      const t0 = performance.now();
      await this.client.transact(ops);
      this.onTransaction?.(performance.now() - t0);
    }
    for (const [i, call] of batch.entries()) call.resolve({ ops: ops.length, failed: failed[i]! });
  }

  /** Owners that hold rows in northbound (for garbage collection of owners Kubernetes no longer has). */
  owners(): Set<string> {
    const out = new Set<string>();
    for (const t of MANAGED_TABLES) {
      for (const row of this.replica.rows(t)) {
        const o = ownerOf(row);
        if (o) out.add(o);
      }
    }
    return out;
  }
}
