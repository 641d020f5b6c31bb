// Pod reconcile: a pod gets addresses from IPAM (honouring its ip_address / mac_address / ip_pool /
// logical_switch annotations), an IP CR (the durable record, written first), its logical switch port with
// port security, and then Kube-OVN's annotations. A pod that is gone releases all of it. The order makes a
// crash at any point safe: an allocation is recorded before anything depends on it, and a restart rebuilds
// IPAM from the records before it hands out anything new.
import { isIP } from 'node:net';
import type { V1Pod } from '@kubernetes/client-node';
import { IpamError } from '../ipam/index.ts';
import { addressAnnotations, addressesOf, annotationChanges, ipRecord } from './allocation.ts';
import {
  type AttachmentRequest,
  AttachmentSyntaxError,
  attachmentKey,
  attachmentOwner,
  NETWORKS_ANNOTATION,
  parseNetworks,
  providerOf,
} from './attachments.ts';
import type { Deps } from './deps.ts';
import { poolsOfNamespace } from './ippools.ts';
import { Ann } from './k8s/annotations.ts';
import type { DesiredRow } from './nb/plan.ts';
import { owners, podRows } from './nb/topology.ts';
import { releaseOwner } from './release.ts';
import { stsKeepsAddress } from './statefulsets.ts';
import { type Outcome, routerOf } from './subnets.ts';
import { vmPortOptions } from './vm-migration.ts';
import { type AddressOwner, addressOwner } from './workload.ts';

/** The IPAM owner key and IP CR name of a pod: "<pod>.<namespace>", as Kube-OVN names them. */
export function podOwnerKey(namespace: string, name: string): string {
  return `${name}.${namespace}`;
}

function isDone(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return !!pod.metadata?.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed';
}

export class PodAddressError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'PodAddressError';
  }
}

/** Where a pod's addresses come from: a subnet, and within it maybe a pool or a list of wanted addresses. */
export interface AddressSource {
  subnet: string;
  pool?: string;
  /** From an ip_pool annotation that lists addresses: the first one free is taken (StatefulSets use this). */
  candidates?: string[];
}

function validSubnet(d: Deps, name: string): string {
  if (!d.valid.has(name))
    throw new PodAddressError('SubnetNotFound', `subnet ${name} does not exist or is not valid`);
  return name;
}

/**
 * Kube-OVN's order: the pod's logical_switch annotation; then its ip_pool annotation (an IPPool's name gives
 * the pool's subnet; a list of addresses is tried in order); then an IPPool or a Subnet bound to its
 * namespace; then the default subnet.
 */
export function chooseAddressSource(d: Deps, pod: V1Pod): AddressSource {
  const ann = pod.metadata?.annotations ?? {};
  const ns = pod.metadata?.namespace ?? '';
  const wanted = ann[Ann.logicalSwitch];
  const poolAnn = ann[Ann.ipPool]?.trim();
  if (poolAnn && !/[,;]/.test(poolAnn) && isIP(poolAnn) === 0) {
    if (!d.ippools.get(poolAnn))
      throw new PodAddressError('IPPoolNotFound', `ippool ${poolAnn} does not exist`);
    const subnet = d.poolSubnet.get(poolAnn);
    if (!subnet) throw new PodAddressError('IPPoolNotReady', `ippool ${poolAnn} is not ready`);
    if (wanted && wanted !== subnet)
      throw new PodAddressError(
        'IPPoolSubnetMismatch',
        `ippool ${poolAnn} is in subnet ${subnet}, not ${wanted}`,
      );
    return { subnet: validSubnet(d, subnet), pool: poolAnn };
  }
  const candidates = poolAnn
    ? poolAnn
        .split(/[,;]/)
        .map((x) => x.trim())
        .filter(Boolean)
    : undefined;
  if (wanted) return { subnet: validSubnet(d, wanted), candidates };
  if (!candidates) {
    const pool = poolsOfNamespace(d, ns)[0];
    if (pool) return { subnet: validSubnet(d, d.poolSubnet.get(pool)!), pool };
  }
  for (const name of [...d.valid.keys()].sort()) {
    const spec = d.subnets.get(name)?.spec;
    // subnets of attachment networks (provider "<nad>.<ns>.ovn") never serve a pod's first interface
    if (spec?.namespaces?.includes(ns) && (spec.provider ?? 'ovn') === 'ovn')
      return { subnet: name, candidates };
  }
  // a VPC bound to the namespace: its default subnet
  for (const v of d.vpcs.list()) {
    const def = v.spec?.defaultSubnet;
    if (def && v.spec?.namespaces?.includes(ns)) return { subnet: validSubnet(d, def), candidates };
  }
  return { subnet: d.config.defaultSubnet.name, candidates };
}

/** Allocates from the source; with candidates, the first address that is free (or already the owner's). */
function allocateFrom(d: Deps, src: AddressSource, owner: string, mac: string | undefined) {
  if (!src.candidates) return d.ipam.allocate({ subnet: src.subnet, owner, mac, pool: src.pool });
  const held = d.ipam.get(src.subnet, owner);
  if (held) return held;
  let last: unknown;
  for (const ip of src.candidates) {
    try {
      return d.ipam.allocate({ subnet: src.subnet, owner, ips: ip, mac });
    } catch (e) {
      if (!(e instanceof IpamError)) throw e;
      last = e;
    }
  }
  throw last ?? new PodAddressError('IPPoolEmpty', 'the ip_pool annotation lists no address');
}

/**
 * @param touched called with each subnet whose address counts this reconcile changed (its status is due)
 */
export async function reconcilePod(
  d: Deps,
  key: string,
  touched: (subnet: string) => void,
): Promise<Outcome> {
  const [namespace = '', name = ''] = key.split('/');
  const pod = d.pods.get(key);
  if (!pod || isDone(pod)) {
    d.podSeen.delete(key);
    await releasePod(d, namespace, name, touched);
    return undefined;
  }
  if (pod.spec?.hostNetwork) return undefined;
  if (pod.metadata?.annotations?.[Ann.routed] !== 'true' && !d.podSeen.has(key))
    d.podSeen.set(key, performance.now());
  const who = addressOwner(pod, d.kubevirt);
  // a VM's launcher pods share one address and one port: one of them at a time
  return who.kind === 'vm'
    ? d.locks.run(who.key, () => addressPod(d, pod, who, touched))
    : addressPod(d, pod, who, touched);
}

async function addressPod(
  d: Deps,
  pod: V1Pod,
  who: AddressOwner,
  touched: (subnet: string) => void,
): Promise<Outcome> {
  const namespace = pod.metadata!.namespace!;
  const name = pod.metadata!.name!;
  const owner = who.key;
  const ann = pod.metadata?.annotations ?? {};
  let subnet: string;
  let alloc: ReturnType<Deps['ipam']['allocate']>;
  try {
    if (!d.valid.has(d.config.defaultSubnet.name)) return { requeueAfterMs: 1_000 }; // not reconciled yet
    const src = chooseAddressSource(d, pod);
    subnet = src.subnet;
    const held = d.ipam.get(subnet, owner);
    const mac = ann[Ann.macAddress] || undefined;
    alloc = ann[Ann.ipAddress]
      ? d.ipam.allocate({ subnet, owner, ips: ann[Ann.ipAddress], mac, pool: src.pool })
      : allocateFrom(d, src, owner, mac);
    if (!held) touched(subnet);
  } catch (e) {
    if (!(e instanceof IpamError) && !(e instanceof PodAddressError)) throw e;
    const reason = e instanceof PodAddressError ? e.reason : e.code;
    await d.kube.event(pod, 'Warning', 'AcquireAddressFailed', `${reason}: ${e.message}`);
    d.log.warn({ pod: `${namespace}/${name}`, reason, err: e.message }, 'no address for pod');
    return undefined; // bad input: retrying would not help; a change of the pod brings it back
  }

  const f = d.valid.get(subnet)!;
  const ips = addressesOf(alloc);
  const record = ipRecord(owner, alloc, {
    podName: who.vm ?? name,
    namespace,
    nodeName: pod.spec?.nodeName ?? '',
  });
  record.spec.podType = who.podType;
  await d.kube.upsertIp(record, d.ips.get(owner));

  const portSecurity =
    ann[Ann.portSecurity] === undefined ? d.config.portSecurityByDefault : ann[Ann.portSecurity] === 'true';
  const options =
    who.kind === 'vm'
      ? vmPortOptions(d.vmims.list(), namespace, who.vm!, vmNode(d, namespace, who.vm!, pod))
      : {};
  const extra =
    who.kind !== 'vm' && hasAttachments(ann)
      ? await addressAttachments(d, pod, portSecurity, touched)
      : undefined;
  const r = await d.nb.apply([
    {
      owner: who.nbOwner,
      desired: [
        ...podRows({
          namespace,
          pod: who.vm ?? name,
          subnet,
          mac: alloc.mac,
          ips,
          portSecurity,
          portName: who.lsp,
          options,
        }),
        ...(extra?.rows ?? []),
      ],
    },
  ]);
  if (r.failed.length > 0) throw r.failed[0]!.error;
  const seen = d.podSeen.get(`${namespace}/${name}`);
  const portWritten = performance.now();
  if (seen !== undefined)
    d.metrics.podAddress.observe({ stage: 'port_written' }, (portWritten - seen) / 1000);
  // attachments no longer listed: their ports went with the transaction above, their addresses go now
  for (const old of extra?.stale ?? []) await releaseOwner(d, old, undefined, touched);

  const changes = annotationChanges(ann, {
    ...addressAnnotations(alloc, f),
    // an underlay subnet whose gateway is physical hangs off no router
    [Ann.logicalRouter]: !f.underlay || f.underlay.routed ? routerOf(d, f) : null,
    ...(who.vm ? { [Ann.virtualMachine]: who.vm } : {}),
    ...extra?.annotations,
    [Ann.routed]: 'true',
  });
  if (changes) await d.kube.patchPodAnnotations(namespace, name, changes);
  if (seen !== undefined) {
    const total = performance.now() - seen;
    d.metrics.podAddress.observe({ stage: 'annotated' }, total / 1000);
    d.podSeen.delete(`${namespace}/${name}`);
    // one line per pod addressed, with where its time went
    d.log.info(
      {
        pod: `${namespace}/${name}`,
        ip: alloc.ipAddress,
        subnet,
        port_ms: Math.round(portWritten - seen),
        annotate_ms: Math.round(performance.now() - portWritten),
        total_ms: Math.round(total),
      },
      'pod addressed',
    );
  }
  return undefined;
}

/** The node of a VM's newest live launcher pod (the one its port should be bound on). */
function vmNode(d: Deps, namespace: string, vm: string, fallback: V1Pod): string | undefined {
  const live = d.pods
    .list(namespace)
    .filter((p) => !isDone(p) && addressOwner(p, d.kubevirt).vm === vm && p.spec?.nodeName)
    .sort((a, b) =>
      String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')),
    );
  return live[live.length - 1]?.spec?.nodeName ?? fallback.spec?.nodeName;
}

/**
 * Releases whatever a pod held: its port, its IP CR, its addresses. Safe to repeat. A StatefulSet pod whose
 * ordinal is still wanted keeps them for the pod that replaces it; a VM's launcher pod never held them (the
 * VM does: see vms.ts).
 */
export async function releasePod(
  d: Deps,
  namespace: string,
  name: string,
  touched: (subnet: string) => void,
): Promise<void> {
  const owner = podOwnerKey(namespace, name);
  const ip = d.ips.get(owner);
  // a VM's record (named "<vm>.<ns>") is the VM's to give back, never a pod's of the same name
  if (ip?.spec.podType === 'VirtualMachine' || stsKeepsAddress(d, ip)) return;
  await releaseOwner(d, owner, owners.pod(namespace, name), touched);
  for (const a of attachmentRecords(d, namespace, name))
    await releaseOwner(d, a, owners.pod(namespace, name), touched);
}

/** Whether the pod asks for secondary networks now, or was given one before (its annotations say so). */
function hasAttachments(ann: Record<string, string>): boolean {
  if (ann[NETWORKS_ANNOTATION]) return true;
  for (const k in ann) if (k.endsWith('.kubernetes.io/allocated') && k !== Ann.allocated) return true;
  return false;
}

/** The IP CRs of a pod's attachments ("<pod>.<ns>.<provider>"). */
function attachmentRecords(d: Deps, namespace: string, pod: string): string[] {
  // looked up by name for each attachment provider (few), never by scanning every IP CR (many)
  const out: string[] = [];
  for (const provider of attachmentProviders(d)) {
    const name = attachmentOwner(pod, namespace, provider);
    if (d.ips.get(name)?.spec.podName === pod) out.push(name);
  }
  return out;
}

/** The providers of attachment networks: the subnets' providers other than "ovn". */
function attachmentProviders(d: Deps): Set<string> {
  const out = new Set<string>();
  for (const s of d.subnets.list()) {
    const p = s.spec?.provider;
    if (p && p !== 'ovn') out.add(p);
  }
  return out;
}

/**
 * Addresses, IP CRs and ports of a pod's secondary networks, with their annotations; attachments the pod
 * no longer lists are given back. A network no subnet serves, or a bad request, is an Event and is skipped:
 * the pod's other interfaces are not held up by it.
 */
async function addressAttachments(
  d: Deps,
  pod: V1Pod,
  portSecurity: boolean,
  touched: (subnet: string) => void,
): Promise<{ rows: DesiredRow[]; annotations: Record<string, string | null>; stale: string[] }> {
  const namespace = pod.metadata!.namespace!;
  const name = pod.metadata!.name!;
  const ann = pod.metadata?.annotations ?? {};
  const rows: DesiredRow[] = [];
  const annotations: Record<string, string | null> = {};
  const keep = new Set<string>();
  let wanted: AttachmentRequest[] = [];
  try {
    wanted = parseNetworks(ann[NETWORKS_ANNOTATION], namespace);
  } catch (e) {
    if (!(e instanceof AttachmentSyntaxError)) throw e;
    await d.kube.event(pod, 'Warning', 'AttachmentInvalid', e.message);
  }
  for (const a of wanted) {
    const provider = providerOf(a);
    const key = (k: string) => attachmentKey(provider, k);
    const owner = attachmentOwner(name, namespace, provider);
    const named = ann[key('logical_switch')];
    const subnet =
      named ?? [...d.valid.keys()].sort().find((s) => d.subnets.get(s)?.spec.provider === provider);
    if (!subnet || !d.valid.has(subnet) || d.subnets.get(subnet)?.spec.provider !== provider) {
      await d.kube.event(
        pod,
        'Warning',
        'AttachmentNetworkNotFound',
        `no subnet serves network ${a.namespace}/${a.name} (provider ${provider})`,
      );
      continue;
    }
    let alloc: ReturnType<Deps['ipam']['allocate']>;
    try {
      const held = d.ipam.get(subnet, owner);
      alloc = d.ipam.allocate({
        subnet,
        owner,
        ips: ann[key('ip_address')] || undefined,
        mac: ann[key('mac_address')] || undefined,
      });
      if (!held) touched(subnet);
    } catch (e) {
      if (!(e instanceof IpamError)) throw e;
      await d.kube.event(pod, 'Warning', 'AcquireAddressFailed', `${provider}: ${e.code}: ${e.message}`);
      continue;
    }
    keep.add(owner);
    const record = ipRecord(owner, alloc, { podName: name, namespace, nodeName: pod.spec?.nodeName ?? '' });
    await d.kube.upsertIp(record, d.ips.get(owner));
    rows.push(
      ...podRows({
        namespace,
        pod: name,
        subnet,
        mac: alloc.mac,
        ips: addressesOf(alloc),
        portSecurity,
        portName: owner,
      }),
    );
    const f = d.valid.get(subnet)!;
    for (const [k, v] of Object.entries(addressAnnotations(alloc, f)))
      annotations[key(k.replace(/^ovn\.kubernetes\.io\//, ''))] = v;
    annotations[key('routed')] = 'true';
  }
  const stale = attachmentRecords(d, namespace, name).filter((x) => !keep.has(x));
  // a dropped attachment's annotations go with it
  const prefix = `${name}.${namespace}.`;
  for (const owner of stale)
    for (const k of ['allocated', 'ip_address', 'mac_address', 'cidr', 'gateway', 'logical_switch', 'routed'])
      annotations[attachmentKey(owner.slice(prefix.length), k)] = null;
  return { rows, annotations, stale };
}
