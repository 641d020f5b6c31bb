// The node's Open_vSwitch database through the native client: pod and gateway ports on br-int, found by
// name or by their external_ids, and ovn-controller's ovn-installed mark awaited through the monitor (no
// ovs-vsctl process per pod, no polling).
import type { Tables } from '../ovsdb/generated/open-vswitch.ts';
import { named, Ops, OvsdbClient, type Replica } from '../ovsdb/index.ts';

const ops = new Ops<Tables>();

/** Columns that change all the time without meaning anything to us (traffic counters, link resets). */
const VOLATILE = new Set(['statistics', 'link_resets']);

export interface PortSpec {
  name: string;
  /** "" for a system device (a veth end), "internal" for a port OVS creates (ovn0). */
  type?: '' | 'internal';
  externalIds: Record<string, string>;
  mtuRequest?: number;
}

export class OvsPorts {
  private constructor(
    private readonly client: OvsdbClient<Tables>,
    readonly replica: Replica<Tables>,
    readonly bridge: string,
  ) {}

  static async connect(opts: { remote: string; bridge?: string }): Promise<OvsPorts> {
    const client = await OvsdbClient.connect<Tables>({
      remotes: opts.remote,
      database: 'Open_vSwitch',
      probeIntervalMs: 5_000,
    });
    try {
      // the whole (small) node database, so the same replica serves the ovs-vsctl views of the debug
      // endpoint; but not the counters ovs-vswitchd rewrites every few seconds for every interface
      const spec = Object.fromEntries(
        [...client.schema.tables.entries()].map(([name, t]) => [
          name,
          { columns: [...t.columns.keys()].filter((c) => !VOLATILE.has(c)) },
        ]),
      );
      const replica = await client.monitor(spec as Parameters<typeof client.monitor>[0]);
      return new OvsPorts(client, replica, opts.bridge ?? 'br-int');
    } catch (e) {
      client.close();
      throw e;
    }
  }

  /** One transaction on the node's database (for the other tables' owners, e.g. ovs-bridges.ts). */
  transact(operations: Parameters<OvsdbClient<Tables>['transact']>[0]) {
    return this.client.transact(operations);
  }

  get connected(): boolean {
    return this.client.connected;
  }

  hasBridge(): boolean {
    return this.replica.byName('Bridge', this.bridge).length > 0;
  }

  iface(name: string) {
    return this.replica.byName('Interface', name)[0];
  }

  /** Interfaces whose external_ids hold every given key=value. */
  interfacesWith(ids: Record<string, string>) {
    const entries = Object.entries(ids);
    return this.replica.list('Interface', (i) => entries.every(([k, v]) => i.external_ids[k] === v));
  }

  /**
   * Adds the port to the bridge, or brings an existing one's interface to the spec. One transaction; a
   * retry after a crash finds the port and only updates it.
   */
  async ensurePort(spec: PortSpec): Promise<void> {
    const existing = this.iface(spec.name);
    const columns = {
      type: spec.type ?? '',
      external_ids: spec.externalIds,
      ...(spec.mtuRequest ? { mtu_request: spec.mtuRequest } : {}),
    };
    if (existing && this.replica.byName('Port', spec.name).length > 0) {
      await this.client.transact([ops.update('Interface', [['_uuid', '==', existing._uuid]], columns)]);
      return;
    }
    const bridge = this.replica.byName('Bridge', this.bridge)[0];
    if (!bridge) throw new Error(`bridge ${this.bridge} does not exist`);
    await this.client.transact([
      ops.insert('Interface', { name: spec.name, ...columns }, { uuidName: 'iface' }),
      ops.insert('Port', { name: spec.name, interfaces: [named('iface')] }, { uuidName: 'port' }),
      ops.mutate('Bridge', [['_uuid', '==', bridge._uuid]], [['ports', 'insert', [named('port')]]]),
    ]);
  }

  /** Removes the port from whatever bridge holds it; nothing to do when it is gone. */
  async removePort(name: string): Promise<boolean> {
    const port = this.replica.byName('Port', name)[0];
    if (!port) return false;
    const bridges = this.replica.list('Bridge', (b) => b.ports.includes(port._uuid));
    if (bridges.length === 0) return false;
    await this.client.transact(
      bridges.map((b) =>
        ops.mutate('Bridge', [['_uuid', '==', b._uuid]], [['ports', 'delete', [port._uuid]]]),
      ),
    );
    return true;
  }

  /** The QoS row a port points to, if any. */
  portQos(port: string) {
    const qos = this.replica.byName('Port', port)[0]?.qos;
    return qos ? this.replica.get('QoS', qos) : undefined;
  }

  /**
   * Gives the port a QoS row of this type and other_config. The row it has is updated when its external_ids
   * are exactly `externalIds` (ours); otherwise a new row is made and pointed to, in one transaction.
   */
  async setPortQos(
    port: string,
    qos: { type: string; otherConfig: Record<string, string>; externalIds: Record<string, string> },
  ): Promise<void> {
    const p = this.replica.byName('Port', port)[0];
    if (!p) throw new Error(`port ${port} is not in the Open_vSwitch database`);
    const columns = { type: qos.type, other_config: qos.otherConfig, external_ids: qos.externalIds };
    const current = this.portQos(port);
    if (current && sameMap(current.external_ids, qos.externalIds)) {
      await this.client.transact([ops.update('QoS', [['_uuid', '==', current._uuid]], columns)]);
    } else {
      await this.client.transact([
        ops.insert('QoS', columns, { uuidName: 'qos' }),
        ops.update('Port', [['_uuid', '==', p._uuid]], { qos: named('qos') }),
      ]);
    }
    await this.whenReplicaShows(() => {
      const now = this.portQos(port);
      return !!now && now.type === qos.type && sameMap(now.other_config, qos.otherConfig);
    });
  }

  /**
   * Deletes the QoS rows whose external_ids hold every given key=value, unpointing any port first. QoS is a
   * root table: OVS keeps a row nobody points to, so whoever made it has to delete it. True if any went.
   */
  async deleteQos(ids: Record<string, string>): Promise<boolean> {
    const entries = Object.entries(ids);
    const rows = this.replica.list('QoS', (q) => entries.every(([k, v]) => q.external_ids[k] === v));
    if (rows.length === 0) return false;
    const uuids = new Set(rows.map((r) => r._uuid));
    const users = this.replica.list('Port', (p) => !!p.qos && uuids.has(p.qos));
    await this.client.transact([
      ...users.map((p) => ops.update('Port', [['_uuid', '==', p._uuid]], { qos: null })),
      ...rows.map((r) => ops.delete('QoS', [['_uuid', '==', r._uuid]])),
    ]);
    await this.whenReplicaShows(() => rows.every((r) => !this.replica.get('QoS', r._uuid)));
    return true;
  }

  /** Sets (or, with undefined, removes) one external_ids key of an interface, leaving the others. */
  async setInterfaceId(name: string, key: string, value: string | undefined): Promise<void> {
    const i = this.iface(name);
    if (!i) throw new Error(`interface ${name} is not in the Open_vSwitch database`);
    await this.client.transact([
      ops.mutate(
        'Interface',
        [['_uuid', '==', i._uuid]],
        [
          ['external_ids', 'delete', [key]],
          ...(value === undefined ? [] : [['external_ids', 'insert', { [key]: value }] as const]),
        ],
      ),
    ]);
    await this.whenReplicaShows(() => this.iface(name)?.external_ids[key] === value);
  }

  /**
   * Resolves once the monitor has brought our own write into the replica, so the next decision made from
   * the replica sees it (the server does not promise to send the update before the transaction's reply).
   */
  whenReplicaShows(done: () => boolean, timeoutMs = 5_000): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`the Open_vSwitch monitor did not show a committed change within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.replica.onChange(() => {
        if (!done()) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  /** Resolves once an interface of that name is in the database (e.g. ovn-controller's patch ports). */
  waitInterface(name: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let off = () => {};
      const timer = setTimeout(() => {
        off();
        reject(new Error(`interface ${name} did not appear within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = () => {
        if (!this.iface(name)) return;
        clearTimeout(timer);
        off();
        resolve();
      };
      off = this.replica.onTableChange('Interface', check);
      check();
    });
  }

  /**
   * Resolves when ovn-controller has installed the port's flows (external_ids ovn-installed=true), rejects
   * when OVS reports an error for the interface or after timeoutMs.
   */
  waitInstalled(name: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let off = () => {};
      const timer = setTimeout(() => {
        off();
        const i = this.iface(name);
        reject(
          new Error(
            i
              ? `ovn-controller did not install port ${name} within ${timeoutMs} ms`
              : `port ${name} is not in the Open_vSwitch database`,
          ),
        );
      }, timeoutMs);
      const check = () => {
        const i = this.iface(name);
        if (i?.external_ids['ovn-installed'] === 'true') {
          clearTimeout(timer);
          off();
          resolve();
        }
      };
      off = this.replica.onTableChange('Interface', check);
      check();
    });
  }

  close(): void {
    this.client.close();
  }
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
