// Every difference between what Kubernetes, IPAM and northbound say about pod addresses: two ports with one
// address on a switch, ports of pods that do not exist, addressed pods without a port, pod annotations
// that disagree with the port, and addresses IPAM holds for someone else. Pure: snapshots in, findings out.

export interface PodView {
  namespace: string;
  name: string;
  /** The controller's annotations (allocated, ip_address, mac_address, logical_switch). */
  annotations: Record<string, string>;
}

export interface PortView {
  name: string;
  switch: string;
  /** The "pod/<ns>/<name>" or "vm/<ns>/<vm>" owner tag, if the controller made it. */
  owner?: string;
  mac?: string;
  ips: string[];
}

export interface Finding {
  kind:
    | 'duplicate-address'
    | 'port-without-pod'
    | 'pod-without-port'
    | 'annotation-mismatch'
    | 'ipam-mismatch';
  message: string;
}

export interface ConsistencyInput {
  pods: PodView[];
  ports: PortView[];
  /** The IPAM owner of an address in a subnet, if any. */
  ipamOwner: (subnet: string, ip: string) => string | undefined;
  /** Owners whose address outlives their pods (StatefulSet ordinals still wanted, VMs that still exist). */
  kept: ReadonlySet<string>;
}

const ALLOCATED = 'ovn.kubernetes.io/allocated';
const IP = 'ovn.kubernetes.io/ip_address';
const MAC = 'ovn.kubernetes.io/mac_address';
const SWITCH = 'ovn.kubernetes.io/logical_switch';
const VM = 'ovn.kubernetes.io/virtualmachine';

export function checkConsistency(input: ConsistencyInput): Finding[] {
  const out: Finding[] = [];
  const byAddress = new Map<string, string[]>();
  for (const p of input.ports)
    for (const ip of p.ips) {
      const k = `${p.switch} ${ip}`;
      byAddress.set(k, [...(byAddress.get(k) ?? []), p.name]);
    }
  for (const [k, names] of byAddress) {
    if (names.length < 2) continue;
    const [sw, ip] = k.split(' ');
    out.push({
      kind: 'duplicate-address',
      message: `${ip} is on ${names.length} ports of switch ${sw}: ${names.sort().join(', ')}`,
    });
  }

  const podKeys = new Set(input.pods.map((p) => `${p.namespace}/${p.name}`));
  const vmKeys = new Set(
    input.pods.filter((p) => p.annotations[VM]).map((p) => `${p.namespace}/${p.annotations[VM]}`),
  );
  const portByName = new Map(input.ports.map((p) => [p.name, p]));
  for (const p of input.ports) {
    const m = /^(pod|vm)\/([^/]+)\/(.+)$/.exec(p.owner ?? '');
    if (!m) continue;
    const key = `${m[2]}/${m[3]}`;
    const live = m[1] === 'pod' ? podKeys.has(key) : vmKeys.has(key);
    if (!live && !input.kept.has(p.name))
      out.push({
        kind: 'port-without-pod',
        message: `port ${p.name} belongs to ${m[1]} ${key}, which does not exist`,
      });
  }

  for (const pod of input.pods) {
    const a = pod.annotations;
    if (a[ALLOCATED] !== 'true') continue;
    const vm = a[VM];
    const portName = vm ? `${vm}.${pod.namespace}` : `${pod.name}.${pod.namespace}`;
    const port = portByName.get(portName);
    const who = `pod ${pod.namespace}/${pod.name}`;
    if (!port) {
      out.push({
        kind: 'pod-without-port',
        message: `${who} is addressed (${a[IP]}) but port ${portName} does not exist`,
      });
      continue;
    }
    const ips = (a[IP] ?? '').split(',').filter(Boolean);
    const same = ips.length === port.ips.length && ips.every((ip) => port.ips.includes(ip));
    if (!same || (a[MAC] && port.mac && a[MAC].toLowerCase() !== port.mac))
      out.push({
        kind: 'annotation-mismatch',
        message:
          `${who} says ${a[IP]} ${a[MAC] ?? ''} but port ${portName} has ${port.ips.join(',')} ${port.mac ?? ''}`.trim(),
      });
    for (const ip of ips) {
      const owner = input.ipamOwner(a[SWITCH] ?? port.switch, ip);
      if (owner !== portName)
        out.push({
          kind: 'ipam-mismatch',
          message: `${who} has ${ip}, which IPAM holds for ${owner ?? 'nobody'}`,
        });
    }
  }
  return out;
}

/** A port's MAC and IPs from its addresses column ("<mac> <ip> [<ip>]"). */
export function parseAddresses(addresses: readonly string[]): { mac?: string; ips: string[] } {
  const first = addresses[0]?.split(/\s+/).filter(Boolean) ?? [];
  if (first.length === 0 || first[0] === 'router' || first[0] === 'unknown' || first[0] === 'dynamic')
    return { ips: [] };
  return { mac: first[0]!.toLowerCase(), ips: first.slice(1) };
}
