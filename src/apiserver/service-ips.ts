// Cluster IPs and node ports for Services: lowest free first, released when the Service goes.
import { badRequest } from './errors.ts';

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export class ServiceIPs {
  private readonly base: number;
  private readonly size: number;
  private readonly used = new Set<number>();
  private readonly usedPorts = new Set<number>();
  private next = 1;

  /** cidr: an IPv4 service CIDR such as 10.96.0.0/12. */
  constructor(cidr: string) {
    const [ip, bits] = cidr.split('/');
    this.size = 2 ** (32 - Number(bits));
    this.base = ipToInt(ip ?? '0.0.0.0') & ~(this.size - 1);
  }

  reserve(ip: string): void {
    if (!ip.includes(':')) this.used.add(ipToInt(ip) - this.base);
  }

  allocate(): string {
    for (let i = 0; i < this.size - 2; i++) {
      const off = ((this.next - 1 + i) % (this.size - 2)) + 1;
      if (!this.used.has(off)) {
        this.used.add(off);
        this.next = off + 1;
        return intToIp((this.base + off) >>> 0);
      }
    }
    throw badRequest('Internal error occurred: failed to allocate a serviceIP: range is full');
  }

  release(ip: string): void {
    if (!ip.includes(':')) this.used.delete(ipToInt(ip) - this.base);
  }

  allocateNodePort(): number {
    for (let p = 30000; p <= 32767; p++) {
      if (!this.usedPorts.has(p)) {
        this.usedPorts.add(p);
        return p;
      }
    }
    throw badRequest('Internal error occurred: failed to allocate a nodePort: range is full');
  }

  reserveNodePort(port: number): void {
    this.usedPorts.add(port);
  }

  releaseNodePort(port: number): void {
    this.usedPorts.delete(port);
  }
}

/** Marks a stored Service's cluster IP and node ports as used (after a restore). */
export function reserveServiceAddresses(ips: ServiceIPs, svc: { [field: string]: unknown }): void {
  const spec = svc.spec as { clusterIP?: unknown; ports?: { nodePort?: unknown }[] } | undefined;
  if (typeof spec?.clusterIP === 'string' && spec.clusterIP !== 'None') ips.reserve(spec.clusterIP);
  for (const p of spec?.ports ?? []) if (typeof p.nodePort === 'number') ips.reserveNodePort(p.nodePort);
}
