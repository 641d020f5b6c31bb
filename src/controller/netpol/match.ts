// Pieces of OVN ACL match expressions for NetworkPolicy rules: address families, ipBlocks with their
// exceptions, and port clauses (one port, a port range, all ports of a protocol). OVN rejects a masked
// value with host bits set, so CIDRs are written normalised.
import type { V1IPBlock } from '@kubernetes/client-node';
import { formatIp, parseCidr } from '../../ipam/address.ts';
import type { Family } from './names.ts';

export const familyOf = (addressOrCidr: string): Family => (addressOrCidr.includes(':') ? 'ip6' : 'ip4');

/** "10.1.2.3/8" -> "10.0.0.0/8"; a host prefix gives the bare address; undefined when not a CIDR. */
export function normalCidr(text: string): string | undefined {
  try {
    const c = parseCidr(text, 'cidr');
    const net = formatIp(c.family, c.network);
    return c.prefix === (c.family === 4 ? 32 : 128) ? net : `${net}/${c.prefix}`;
  } catch {
    return undefined;
  }
}

/**
 * An ipBlock as a match on the source or destination address: the CIDR, minus its exceptions (those of
 * the CIDR's family). Undefined for a CIDR that does not parse (the API server validates them).
 */
export function ipBlockMatch(side: 'src' | 'dst', block: V1IPBlock): string | undefined {
  const cidr = normalCidr(block.cidr);
  if (!cidr) return undefined;
  const family = familyOf(cidr);
  const field = `${family}.${side}`;
  const except = (block.except ?? [])
    .map(normalCidr)
    .filter((e): e is string => e !== undefined && familyOf(e) === family);
  if (except.length === 0) return `${field} == ${cidr}`;
  return `(${field} == ${cidr} && ${field} != {${except.join(', ')}})`;
}

export type Protocol = 'tcp' | 'udp' | 'sctp';

/** A NetworkPolicyPort's protocol ("TCP" when not given); undefined for one OVN cannot match. */
export function protocolOf(p: string | undefined): Protocol | undefined {
  const x = (p ?? 'TCP').toLowerCase();
  return x === 'tcp' || x === 'udp' || x === 'sctp' ? x : undefined;
}

/** Destination port clause: every port of the protocol, one port, or the range port..endPort. */
export function portClause(protocol: Protocol, port?: number, endPort?: number): string {
  if (port === undefined) return protocol;
  if (endPort === undefined || endPort === port) return `${protocol}.dst == ${port}`;
  return `${protocol}.dst >= ${port} && ${protocol}.dst <= ${endPort}`;
}

/** A disjunction, parenthesised when it has more than one term. */
export function anyOf(terms: readonly string[]): string {
  return terms.length === 1 ? terms[0]! : `(${terms.join(' || ')})`;
}

/** Address-set references for one side, one per family: "(ip4.src == $a || ip6.src == $b)". */
export function setRefs(side: 'src' | 'dst', sets: readonly { family: Family; name: string }[]): string[] {
  return sets.map((s) => `${s.family}.${side} == $${s.name}`);
}
