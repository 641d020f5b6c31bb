// The parts of iproute2's JSON output (`ip -j`) that the pod interface code reads.

export interface IpAddrInfo {
  family: 'inet' | 'inet6' | string;
  local: string;
  prefixlen: number;
  scope?: string;
  tentative?: boolean;
  dadfailed?: boolean;
}

/** One entry of `ip -j -d link show` or `ip -j -d addr show` (the latter adds addr_info). */
export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate?: string;
  address?: string;
  /** For a veth: the ifindex of its peer, in the namespace named by link_netnsid when that is present. */
  link_index?: number;
  link_netnsid?: number;
  ifalias?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: IpAddrInfo[];
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  flags?: string[];
}

/**
 * `ip -j -batch -` prints one JSON array per command that shows something, each on its own line; commands
 * that change things print nothing. Returns the arrays in order.
 */
export function parseIpJsonLines(stdout: string): unknown[][] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const v: unknown = JSON.parse(l);
      if (!Array.isArray(v))
        throw new Error(`ip -j printed something other than an array: ${l.slice(0, 200)}`);
      return v;
    });
}

export function isUp(link: IpLink): boolean {
  return link.flags.includes('UP');
}
