// A small evaluator of the OVN ACLs the NetworkPolicy planner writes, for IPv4 packets between pods: it
// parses the subset of OVN's match language the planner uses (&&, ||, !, parentheses, ==, !=, <=, >=,
// sets in braces, $address_set, @port_group, CIDRs, ip/ip4/ip6/tcp/udp/sctp/nd predicates) and applies
// the ACLs as OVN does: in each stage (from-lport on the sender's port, to-lport on the receiver's) the
// highest-priority ACL that matches decides; no match lets the packet through. Connection tracking is not
// modelled: a packet here is the first of a connection.
import type { DesiredRow } from '../../../src/controller/nb/plan.ts';

export interface Packet {
  /** Logical port names (the LSP uuids the planner was given). */
  inport: string;
  outport: string;
  src: string;
  dst: string;
  proto: 'tcp' | 'udp' | 'sctp' | 'icmp';
  dport?: number;
}

type Token = { kind: 'op' | 'word' | 'lit' | 'set' | 'pg'; text: string };

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ') {
      i++;
      continue;
    }
    const two = s.slice(i, i + 2);
    if (['&&', '||', '==', '!=', '<=', '>='].includes(two)) {
      out.push({ kind: 'op', text: two });
      i += 2;
      continue;
    }
    if ('(){},!'.includes(c)) {
      out.push({ kind: 'op', text: c });
      i++;
      continue;
    }
    const m = /^[$@]?[A-Za-z0-9_.:/]+/.exec(s.slice(i));
    if (!m) throw new Error(`cannot tokenize at ${s.slice(i)}`);
    const t = m[0];
    i += t.length;
    if (t.startsWith('$')) out.push({ kind: 'set', text: t.slice(1) });
    else if (t.startsWith('@')) out.push({ kind: 'pg', text: t.slice(1) });
    else if (/^[0-9]/.test(t)) out.push({ kind: 'lit', text: t });
    else out.push({ kind: 'word', text: t });
  }
  return out;
}

function ip4ToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`bad ip ${ip}`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** Whether an IPv4 address is in a CIDR or equals an address; throws on host bits set (as OVN rejects). */
function inCidr(ip: string, cidr: string): boolean {
  if (cidr.includes(':')) return false;
  const [net, len] = cidr.split('/');
  const bits = len === undefined ? 32 : Number(len);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const n = ip4ToInt(net!);
  if ((n & mask) >>> 0 !== n) throw new Error(`unmasked 1-bits in ${cidr}`);
  return (ip4ToInt(ip) & mask) >>> 0 === n;
}

export class AclWorld {
  readonly sets = new Map<string, string[]>();
  readonly groups = new Map<string, string[]>();
  readonly acls: { direction: string; priority: number; match: string; action: string }[] = [];

  constructor(rows: readonly DesiredRow[]) {
    for (const r of rows) {
      const c = r.columns as Record<string, unknown>;
      if (r.table === 'Address_Set') this.sets.set(c.name as string, c.addresses as string[]);
      else if (r.table === 'Port_Group') this.groups.set(c.name as string, c.ports as string[]);
      else if (r.table === 'ACL')
        this.acls.push({
          direction: c.direction as string,
          priority: c.priority as number,
          match: c.match as string,
          action: c.action as string,
        });
    }
  }

  /** Whether the match holds for the packet (throws on anything the planner should not write). */
  matches(match: string, p: Packet): boolean {
    const toks = tokenize(match);
    let i = 0;
    const peek = () => toks[i];
    const take = (text?: string) => {
      const t = toks[i++];
      if (!t || (text !== undefined && t.text !== text)) throw new Error(`expected ${text} in ${match}`);
      return t;
    };
    const value = (): Token[] => {
      if (peek()?.text === '{') {
        take('{');
        const vs: Token[] = [];
        while (peek()?.text !== '}') {
          vs.push(take());
          if (peek()?.text === ',') take(',');
        }
        take('}');
        return vs;
      }
      return [take()];
    };
    const field = (name: string): string | number | boolean | undefined => {
      const l4 = p.proto;
      switch (name) {
        case 'ip':
        case 'ip4':
          return true;
        case 'ip6':
        case 'nd':
        case 'nd_rs':
        case 'nd_ra':
          return false;
        case 'tcp':
        case 'udp':
        case 'sctp':
          return l4 === name;
        case 'ip4.src':
          return p.src;
        case 'ip4.dst':
          return p.dst;
        case 'ip6.src':
        case 'ip6.dst':
          return undefined;
        case 'inport':
          return p.inport;
        case 'outport':
          return p.outport;
        case 'tcp.dst':
        case 'udp.dst':
        case 'sctp.dst':
          return l4 === name.split('.')[0] ? p.dport : undefined;
        case 'udp.src':
          return undefined; // the planner only asks for it in DHCP matches; test packets are not DHCP
        default:
          throw new Error(`unknown field ${name} in ${match}`);
      }
    };
    const equals = (name: string, have: string | number, v: Token): boolean => {
      if (v.kind === 'set') {
        const addrs = this.sets.get(v.text);
        if (!addrs) throw new Error(`no address set ${v.text}`);
        return addrs.some((a) => inCidr(String(have), a));
      }
      if (v.kind === 'pg') {
        const ports = this.groups.get(v.text);
        if (!ports) throw new Error(`no port group ${v.text}`);
        return ports.includes(String(have));
      }
      if (name.startsWith('ip4.')) return inCidr(String(have), v.text);
      if (typeof have === 'number') return have === Number(v.text);
      throw new Error(`cannot compare ${name} with ${v.text}`);
    };
    const primary = (): boolean => {
      const t = peek();
      if (t?.text === '(') {
        take('(');
        const r = disjunction();
        take(')');
        return r;
      }
      if (t?.text === '!') {
        take('!');
        return !primary();
      }
      const name = take().text;
      const have = field(name);
      const op = peek();
      if (op?.kind !== 'op' || !['==', '!=', '<=', '>='].includes(op.text)) {
        if (typeof have !== 'boolean') throw new Error(`${name} is not a predicate in ${match}`);
        return have;
      }
      take();
      const vs = value();
      if (have === undefined) return false; // a field the packet does not have: its prerequisite fails
      if (typeof have === 'boolean') throw new Error(`${name} compared in ${match}`);
      if (op.text === '==') return vs.some((v) => equals(name, have, v));
      if (op.text === '!=') return vs.every((v) => !equals(name, have, v));
      const n = Number(vs[0]!.text);
      return op.text === '<=' ? (have as number) <= n : (have as number) >= n;
    };
    const conjunction = (): boolean => {
      let r = primary();
      while (peek()?.text === '&&') {
        take('&&');
        r = primary() && r;
      }
      return r;
    };
    const disjunction = (): boolean => {
      let r = conjunction();
      while (peek()?.text === '||') {
        take('||');
        r = conjunction() || r;
      }
      return r;
    };
    const r = disjunction();
    if (i !== toks.length) throw new Error(`trailing tokens in ${match}`);
    return r;
  }

  private stage(direction: string, p: Packet): boolean {
    let best: { priority: number; action: string } | undefined;
    for (const a of this.acls) {
      if (a.direction !== direction || !this.matches(a.match, p)) continue;
      if (best && best.priority === a.priority && (best.action === 'drop') !== (a.action === 'drop'))
        throw new Error(`two ACLs of priority ${a.priority} disagree`);
      if (!best || a.priority > best.priority) best = a;
    }
    return best?.action !== 'drop';
  }

  /** Whether a new connection's first packet gets through both stages. */
  allowed(p: Packet): boolean {
    return this.stage('from-lport', p) && this.stage('to-lport', p);
  }
}
