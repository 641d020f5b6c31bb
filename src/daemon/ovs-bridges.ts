// The OVS side of an underlay network on a node, through the native client: the bridge br-<provider> with
// the physical NIC as a trunk port, marked as ours (vendor=kube-ovn, ovnk.io/provider-network, the NIC's
// name for the way back), and the Open_vSwitch row's ovn-bridge-mappings and ovn-chassis-mac-mappings
// entries that tell ovn-controller which bridge a localnet port's network_name is on.
import type { Tables } from '../ovsdb/generated/open-vswitch.ts';
import { named, type Operation, Ops } from '../ovsdb/index.ts';
import type { OvsPorts } from './ovs-ports.ts';

const ops = new Ops<Tables>();

export const PN_KEY = 'ovnk.io/provider-network';
export const NIC_KEY = 'ovnk.io/nic';
/**
 * The NIC's addresses and routes the bridge carries for it, kept on the bridge row: an ovs-vswitchd restart
 * makes the bridge's device anew without them, and the way back to the NIC needs them.
 */
export const ADDRS_KEY = 'ovnk.io/addresses';
export const ROUTES_KEY = 'ovnk.io/routes';
const VENDOR = { vendor: 'kube-ovn' };

export interface ProviderBridge {
  provider: string;
  bridge: string;
  nic: string;
  /** The NIC's MAC: the bridge's too, so addresses moved onto it keep their MAC. */
  mac: string;
  mtu: number;
  /** VLANs the NIC carries: 0 (untagged) and the provider's Vlan ids. */
  trunks: number[];
  /** The NIC's addresses ("192.168.100.1/24") and routes ("<dst> via <gw>") the bridge holds for it. */
  addresses: string[];
  routes: string[];
}

/** Bridges this daemon made for provider networks: provider -> bridge row. */
export function providerBridges(ovs: OvsPorts) {
  return new Map(
    ovs.replica
      .list('Bridge', (b) => PN_KEY in b.external_ids)
      .map((b) => [b.external_ids[PN_KEY]!, b] as const),
  );
}

/** The bridge with its internal port and the NIC as a trunk port; brought to the spec if it exists. */
export async function ensureProviderBridge(ovs: OvsPorts, b: ProviderBridge): Promise<void> {
  const r = ovs.replica;
  // the same datapath as br-int's: a patch port cannot join bridges of different datapaths
  const datapath = r.byName('Bridge', ovs.bridge)[0]?.datapath_type ?? '';
  const externalIds = {
    ...VENDOR,
    [PN_KEY]: b.provider,
    [NIC_KEY]: b.nic,
    [ADDRS_KEY]: b.addresses.join(','),
    [ROUTES_KEY]: JSON.stringify(b.routes),
  };
  const otherConfig = { hwaddr: b.mac };
  const existing = r.byName('Bridge', b.bridge)[0];
  const trunks = [...new Set(b.trunks)].sort((x, y) => x - y);
  // a NIC is on one bridge at most: one that another bridge holds is not taken from it
  const holder = nicHolder(ovs, b.nic);
  if (holder && holder !== b.bridge) throw new Error(`nic ${b.nic} is already a port of bridge ${holder}`);
  if (!existing) {
    const root = r.list('Open_vSwitch')[0];
    if (!root) throw new Error('the Open_vSwitch database has no Open_vSwitch row');
    await ovs.transact([
      ops.insert('Interface', { name: b.bridge, type: 'internal', mtu_request: b.mtu }, { uuidName: 'bi' }),
      ops.insert('Port', { name: b.bridge, interfaces: [named('bi')] }, { uuidName: 'bp' }),
      ops.insert('Interface', { name: b.nic, external_ids: VENDOR }, { uuidName: 'ni' }),
      ops.insert(
        'Port',
        { name: b.nic, interfaces: [named('ni')], trunks, external_ids: VENDOR },
        { uuidName: 'np' },
      ),
      ops.insert(
        'Bridge',
        {
          name: b.bridge,
          ports: [named('bp'), named('np')],
          datapath_type: datapath,
          other_config: otherConfig,
          external_ids: externalIds,
        },
        { uuidName: 'br' },
      ),
      ops.mutate('Open_vSwitch', [['_uuid', '==', root._uuid]], [['bridges', 'insert', [named('br')]]]),
    ]);
  } else {
    const nicPort = r.byName('Port', b.nic)[0];
    const attached = !!nicPort && existing.ports.includes(nicPort._uuid);
    const txn: Operation[] = [
      ops.update('Bridge', [['_uuid', '==', existing._uuid]], {
        datapath_type: datapath,
        other_config: { ...existing.other_config, ...otherConfig },
        external_ids: externalIds,
      }),
    ];
    const internal = r.byName('Interface', b.bridge)[0];
    if (internal)
      txn.push(ops.update('Interface', [['_uuid', '==', internal._uuid]], { mtu_request: b.mtu }));
    if (attached) txn.push(ops.update('Port', [['_uuid', '==', nicPort._uuid]], { trunks }));
    else {
      // the NIC was taken out of the bridge: it goes back
      txn.push(
        ops.insert('Interface', { name: b.nic, external_ids: VENDOR }, { uuidName: 'ni' }),
        ops.insert(
          'Port',
          { name: b.nic, interfaces: [named('ni')], trunks, external_ids: VENDOR },
          { uuidName: 'np' },
        ),
        ops.mutate('Bridge', [['_uuid', '==', existing._uuid]], [['ports', 'insert', [named('np')]]]),
      );
    }
    await ovs.transact(txn);
  }
  await ovs.whenReplicaShows(() => {
    const br = r.byName('Bridge', b.bridge)[0];
    const port = r.byName('Port', b.nic)[0];
    return !!br && !!port && br.ports.includes(port._uuid);
  });
}

/** The bridge that has a port of this name, if any. */
function nicHolder(ovs: OvsPorts, nic: string): string | undefined {
  const port = ovs.replica.byName('Port', nic)[0];
  if (!port) return undefined;
  return ovs.replica.list('Bridge', (x) => x.ports.includes(port._uuid))[0]?.name;
}

/** Deletes a provider bridge (its ports and interfaces go with it). */
export async function removeProviderBridge(ovs: OvsPorts, bridge: string): Promise<void> {
  const br = ovs.replica.byName('Bridge', bridge)[0];
  const root = ovs.replica.list('Open_vSwitch')[0];
  if (!br || !root) return;
  await ovs.transact([
    ops.mutate('Open_vSwitch', [['_uuid', '==', root._uuid]], [['bridges', 'delete', [br._uuid]]]),
  ]);
  await ovs.whenReplicaShows(() => ovs.replica.byName('Bridge', bridge).length === 0);
}

/** "a:x,b:y" to a map, and back (OVN's mapping syntax, sorted for a stable value). */
export function parseMappings(text: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (text ?? '').split(',')) {
    const i = part.indexOf(':');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

export function formatMappings(m: ReadonlyMap<string, string>): string {
  return [...m]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}:${v}`)
    .join(',');
}

/**
 * Sets the entries of `set` and removes those of `remove` in the Open_vSwitch row's ovn-bridge-mappings
 * (provider -> bridge) and ovn-chassis-mac-mappings (provider -> this chassis's MAC on it), leaving other
 * entries (someone else's bridges) alone. No write when nothing changes.
 */
export async function setOvnMappings(
  ovs: OvsPorts,
  set: readonly { provider: string; bridge: string; chassisMac: string }[],
  remove: readonly string[],
): Promise<void> {
  const root = ovs.replica.list('Open_vSwitch')[0];
  if (!root) throw new Error('the Open_vSwitch database has no Open_vSwitch row');
  const bridges = parseMappings(root.external_ids['ovn-bridge-mappings']);
  const macs = parseMappings(root.external_ids['ovn-chassis-mac-mappings']);
  for (const p of remove) {
    bridges.delete(p);
    macs.delete(p);
  }
  for (const s of set) {
    bridges.set(s.provider, s.bridge);
    macs.set(s.provider, s.chassisMac);
  }
  const want: Record<string, string> = {
    'ovn-bridge-mappings': formatMappings(bridges),
    'ovn-chassis-mac-mappings': formatMappings(macs),
  };
  const ids = { ...root.external_ids };
  let changed = false;
  for (const [k, v] of Object.entries(want)) {
    if ((ids[k] ?? '') === v) continue;
    changed = true;
    if (v === '') delete ids[k];
    else ids[k] = v;
  }
  if (!changed) return;
  await ovs.transact([ops.update('Open_vSwitch', [['_uuid', '==', root._uuid]], { external_ids: ids })]);
  await ovs.whenReplicaShows(() =>
    Object.entries(want).every(
      ([k, v]) => (ovs.replica.list('Open_vSwitch')[0]?.external_ids[k] ?? '') === v,
    ),
  );
}
