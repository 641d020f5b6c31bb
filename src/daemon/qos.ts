// Kube-OVN's pod rate limits: ovn.kubernetes.io/ingress_rate (into the pod) and egress_rate (out of the
// pod), in Mbit/s, applied on the node at ADD and whenever the annotations change.
//
// What works on this userspace datapath (measured with iperf3 between pods on two nodes):
// - ingress: a linux-htb QoS row with other_config:max-rate on the pod's Port. OVS sends to the veth
//   through an AF_PACKET socket, which goes through the kernel qdisc OVS installs: 10 Mbit/s held at 9.5.
// - egress: Interface ingress_policing_rate does nothing here. OVS installs it as a tc police action, which
//   this kernel lacks (no act_police, cls_basic, cls_matchall), and even with one, OVS's AF_PACKET socket
//   sees a veth's packets before tc ingress does. egress-policer QoS is DPDK only. So the limit is a tbf
//   qdisc on the pod's own end of the veth (in its netns, where it shapes before OVS sees anything); a pod
//   without NET_ADMIN cannot change it. The rate applied is recorded in the Interface's external_ids, so
//   nothing spawns unless it changes, and a restarted daemon knows what is there.
import type { Logger } from '../controller/deps.ts';
import { KeyedLock } from '../controller/keyed-lock.ts';
import { VENDOR, VENDOR_KEY } from '../controller/nb/ownership.ts';
import { CommandFailedError } from './netdev-errors.ts';
import { runInNetns } from './netns-exec.ts';
import type { OvsPorts } from './ovs-ports.ts';

/** A limit, no limit (absent, empty or 0, as in Kube-OVN), or a value we cannot read. */
export type Rate = { kind: 'limit'; mbps: number } | { kind: 'none' } | { kind: 'invalid'; value: string };

export interface QosWant {
  /** Traffic into the pod. */
  ingress: Rate;
  /** Traffic out of the pod. */
  egress: Rate;
}

/** external_ids of the QoS row we make for a port (the port's name ties it to the pod). */
export const QOS_PORT_KEY = 'ovnk.io/qos-port';
/** Interface external_ids key holding the egress limit (Mbit/s) on the pod's side of the veth. */
export const EGRESS_APPLIED_KEY = 'ovnk.io/egress-rate';

const DECIMAL = /^\d+(\.\d+)?$/;

/** The annotation keys: `ovn.kubernetes.io/...`, or `<provider>.kubernetes.io/...` for an attachment. */
export function rateKeys(provider?: string): { ingress: string; egress: string } {
  const p = provider ? `${provider}.kubernetes.io/` : 'ovn.kubernetes.io/';
  return { ingress: `${p}ingress_rate`, egress: `${p}egress_rate` };
}

export function parseRate(value: string | undefined): Rate {
  const v = value?.trim() ?? '';
  if (v === '') return { kind: 'none' };
  if (!DECIMAL.test(v)) return { kind: 'invalid', value: value! };
  const mbps = Number(v);
  if (mbps === 0) return { kind: 'none' };
  // below 1 kbit/s neither tc nor OVS can express it
  if (!Number.isFinite(mbps) || Math.round(mbps * 1000) < 1) return { kind: 'invalid', value: value! };
  return { kind: 'limit', mbps };
}

export function desiredQos(annotations: Record<string, string> | undefined, provider?: string): QosWant {
  const keys = rateKeys(provider);
  return { ingress: parseRate(annotations?.[keys.ingress]), egress: parseRate(annotations?.[keys.egress]) };
}

/** OVS's max-rate (bit/s) for a limit. */
export function maxRateBps(mbps: number): number {
  return Math.round(mbps * 1_000_000);
}

/**
 * `tc` arguments for the pod-side shaper. The bucket holds 20 ms at the rate (at least 32 KiB, so the
 * timer tick and 64 KiB GSO packets, which tbf splits, never starve it); packets wait at most 50 ms.
 */
export function egressShaperArgs(dev: string, mbps: number): string[] {
  const kbit = Math.round(mbps * 1000);
  const burst = Math.max(32 * 1024, Math.round((kbit * 1000) / 8 / 50));
  const bucket = ['burst', String(burst), 'latency', '50ms'];
  return ['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${kbit}kbit`, ...bucket];
}

export function egressShaperRemoveArgs(dev: string): string[] {
  return ['qdisc', 'del', 'dev', dev, 'root'];
}

/** tc's answers when there is nothing to delete (no root qdisc, the device or the netns already gone). */
const ALREADY_GONE = /Cannot delete qdisc with handle of zero|No such file or directory|Cannot find device/;

export class PodQos {
  /** One change at a time per port. */
  private readonly locks = new KeyedLock();
  /** The last unreadable value warned about per port and direction, so a pod's updates do not repeat it. */
  private readonly warned = new Map<string, string>();

  constructor(private readonly o: { ovs: OvsPorts; log: Logger }) {}

  /**
   * Brings one pod port's limits to `want`: unchanged directions cost nothing, an unreadable value leaves
   * its direction as it is (with a log line). The port has to be on the bridge.
   */
  apply(port: string, want: QosWant, pod: string): Promise<void> {
    return this.locks.run(port, async () => {
      const iface = this.o.ovs.iface(port);
      if (!iface) return;
      await this.applyIngress(port, want.ingress, pod);
      await this.applyEgress(port, want.egress, pod, iface.external_ids);
    });
  }

  /**
   * Brings every CNI attachment of the pod on this node to the pod's annotations: the pod watch calls this
   * on each change of the pod (cheap when the rates did not change).
   */
  async syncPod(
    namespace: string,
    name: string,
    annotations: Record<string, string> | undefined,
  ): Promise<void> {
    const ports = this.o.ovs.interfacesWith({
      [VENDOR_KEY]: VENDOR,
      pod_namespace: namespace,
      pod_name: name,
    });
    for (const i of ports) {
      if (!i.external_ids.cni_container_id) continue; // not a pod attachment
      const provider = providerOfPort(i.external_ids['iface-id'] ?? '', namespace, name);
      await this.apply(i.name, desiredQos(annotations, provider), `${namespace}/${name}`);
    }
  }

  /** Deletes the port's QoS row (DEL): OVS does not garbage-collect QoS rows. The tbf goes with the pod. */
  release(port: string): Promise<void> {
    return this.locks.run(port, async () => {
      this.warned.delete(`${port}/ingress`);
      this.warned.delete(`${port}/egress`);
      await this.o.ovs.deleteQos(qosIds(port));
    });
  }

  private async applyIngress(port: string, rate: Rate, pod: string): Promise<void> {
    if (!this.readable(port, 'ingress', rate, pod)) return;
    const ids = qosIds(port);
    const current = this.o.ovs.portQos(port);
    const ours = current && Object.entries(ids).every(([k, v]) => current.external_ids[k] === v);
    if (rate.kind === 'none') {
      if (!(await this.o.ovs.deleteQos(ids))) return; // there was none
      this.o.log.info({ pod, port }, 'ingress rate limit removed');
      return;
    }
    const bps = String(maxRateBps(rate.mbps));
    if (ours && current.type === 'linux-htb' && current.other_config['max-rate'] === bps) return;
    await this.o.ovs.setPortQos(port, {
      type: 'linux-htb',
      otherConfig: { 'max-rate': bps },
      externalIds: ids,
    });
    this.o.log.info({ pod, port, mbps: rate.mbps }, 'ingress rate limit set');
  }

  private async applyEgress(
    port: string,
    rate: Rate,
    pod: string,
    ids: Record<string, string>,
  ): Promise<void> {
    if (!this.readable(port, 'egress', rate, pod)) return;
    const applied = ids[EGRESS_APPLIED_KEY];
    const want = rate.kind === 'limit' ? String(rate.mbps) : undefined;
    if (applied === want) return;
    const netns = ids.pod_netns;
    const dev = ids.cni_ifname;
    if (!netns || !dev) {
      this.o.log.warn({ pod, port }, 'egress rate limit not applied: the port does not say where the pod is');
      return;
    }
    if (rate.kind === 'limit') {
      await runInNetns(netns, 'tc', egressShaperArgs(dev, rate.mbps));
    } else {
      try {
        await runInNetns(netns, 'tc', egressShaperRemoveArgs(dev));
      } catch (e) {
        if (!(e instanceof CommandFailedError && ALREADY_GONE.test(e.stderr))) throw e;
      }
    }
    await this.o.ovs.setInterfaceId(port, EGRESS_APPLIED_KEY, want);
    this.o.log.info(
      { pod, port, mbps: want ?? 'none' },
      want ? 'egress rate limit set' : 'egress rate limit removed',
    );
  }

  /** False (and one log line per new value) when the rate cannot be read: that direction stays as it is. */
  private readable(
    port: string,
    direction: 'ingress' | 'egress',
    rate: Rate,
    pod: string,
  ): rate is Exclude<Rate, { kind: 'invalid' }> {
    const key = `${port}/${direction}`;
    if (rate.kind !== 'invalid') {
      this.warned.delete(key);
      return true;
    }
    if (this.warned.get(key) !== rate.value) {
      this.warned.set(key, rate.value);
      this.o.log.warn(
        { pod, port, value: rate.value },
        `${direction}_rate is not a non-negative number of Mbit/s; the limit is left as it is`,
      );
    }
    return false;
  }
}

function qosIds(port: string): Record<string, string> {
  return { [VENDOR_KEY]: VENDOR, [QOS_PORT_KEY]: port };
}

/** An attachment's provider from its port's iface-id ("<pod>.<ns>.<provider>"); undefined for eth0's. */
export function providerOfPort(ifaceId: string, namespace: string, name: string): string | undefined {
  const prefix = `${name}.${namespace}.`;
  return ifaceId.startsWith(prefix) && ifaceId.length > prefix.length
    ? ifaceId.slice(prefix.length)
    : undefined;
}
