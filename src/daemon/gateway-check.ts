// Before an underlay pod's ADD returns, its gateway must answer from inside the pod: ARP for a physical
// gateway (a router on the VLAN may drop pings), ping for the VPC router (logicalGateway). It is what tells
// the runtime the pod's network really works, the VLAN and the physical switch included. Kube-OVN tries
// 200 times and leaves the pod in ContainerCreating meanwhile; here the wait is bounded and ends with an
// error saying what did not answer, so the runtime retries and the pod's Events say why.
import { runInNetns } from './netns-exec.ts';

export class GatewayUnreachable extends Error {
  constructor(gateway: string, how: 'arp' | 'ping', ms: number) {
    super(
      `gateway ${gateway} did not answer ${how === 'arp' ? 'ARP' : 'ping'} from the pod within ${ms} ms ` +
        '(is the physical gateway on the VLAN? disableGatewayCheck on the Subnet skips this check)',
    );
    this.name = 'GatewayUnreachable';
  }
}

/** Resolves once every IPv4 gateway answered from `podIf` in `podNetns`; rejects after timeoutMs. */
export async function checkGateways(
  podNetns: string,
  podIf: string,
  gateways: readonly string[],
  how: 'arp' | 'ping',
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // arping speaks IPv4 only; an IPv6 gateway is reached by ping in either mode
  for (const gw of gateways) {
    const arp = how === 'arp' && !gw.includes(':');
    const [cmd, args] = arp
      ? ['arping', ['-q', '-c', '1', '-w', '1', '-I', podIf, gw]]
      : ['ping', ['-q', '-c', '1', '-W', '1', gw]];
    for (;;) {
      const ok = await runInNetns(podNetns, cmd as string, args as string[], { timeoutMs: 3_000 }).then(
        () => true,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new GatewayUnreachable(gw, arp ? 'arp' : 'ping', timeoutMs);
    }
  }
}
