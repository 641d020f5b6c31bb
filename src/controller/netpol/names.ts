// Northbound names for a NetworkPolicy's rows. A port group or address set is named in ACL matches
// (@name, $name), so its name must be an OVN identifier ([a-zA-Z_.][a-zA-Z_.0-9]*); it is kept to 63
// characters. Kube-OVN names the port group "<policy>.<ns>" with every "-" turned into "."; that makes
// "a-b" in "c" and "a" in "b-c" the same group, so here "-" becomes "_" (never part of a Kubernetes name)
// and the namespace, which has no ".", comes last: "np.<policy>.<ns>" is one name per policy.
import { createHash } from 'node:crypto';

export const MAX_NAME = 63;

/** An OVN identifier from any text: "-" and other characters become "_"; long names end in a hash. */
export function ovnName(raw: string): string {
  let s = raw.replace(/[^a-zA-Z0-9_.]/g, '_');
  if (!/^[a-zA-Z_.]/.test(s)) s = `_${s}`;
  if (s.length <= MAX_NAME) return s;
  const hash = createHash('sha256').update(raw).digest('hex').slice(0, 8);
  return `${s.slice(0, MAX_NAME - hash.length - 1)}.${hash}`;
}

/** The northbound owner of everything a policy makes. */
export const npOwner = (namespace: string, name: string) => `np/${namespace}/${name}`;

export type Direction = 'ingress' | 'egress';
export type Family = 'ip4' | 'ip6';

/** Names and row ids of one policy's rows. */
export class PolicyNames {
  readonly base: string;
  readonly owner: string;

  constructor(
    readonly namespace: string,
    readonly name: string,
  ) {
    this.base = `np.${name}.${namespace}`;
    this.owner = npOwner(namespace, name);
  }

  get portGroup(): string {
    return ovnName(this.base);
  }

  /** The pod peers of rule `rule`, one set per family. */
  peerSet(dir: Direction, rule: number, family: Family): string {
    return ovnName(`${this.base}.${dir}.${rule}.${family}`);
  }

  /**
   * The pods a named port (entry `port` of rule `rule`) resolves to `number` on: the policy's own pods for
   * ingress, the rule's peers for egress.
   */
  namedPortSet(dir: Direction, rule: number, port: number, number: number, family: Family): string {
    return ovnName(`${this.base}.${dir}.${rule}.p${port}.${number}.${family}`);
  }

  /** Row ids (ovnk.io/id), unique per table. */
  id(kind: 'pg' | 'as' | 'acl', ...parts: (string | number)[]): string {
    return [kind, 'np', this.namespace, this.name, ...parts].join('/');
  }
}
