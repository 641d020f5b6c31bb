// Typed IPAM errors. Every error is an IpamError with a stable `code` (match on it, never on the
// message), the input `field` it is about (e.g. "cidrBlock", "excludeIps[2]", "ips", "mac") and the
// offending `value`. Nothing else is thrown for bad input.

export class IpamError extends Error {
  readonly code: string;
  readonly field: string;
  readonly value: unknown;

  constructor(code: string, field: string, value: unknown, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.field = field;
    this.value = value;
  }
}

const show = (value: unknown): string => (typeof value === 'string' ? JSON.stringify(value) : String(value));

/** Base of the bad-input errors below, which differ only in their code. */
function inputError(code: string) {
  return class extends IpamError {
    constructor(field: string, value: unknown, reason: string) {
      super(code, field, value, `${field} ${show(value)}: ${reason}`);
    }
  };
}

/** An argument of the wrong type or shape (empty owner, unknown protocol, non-string...). */
export class InvalidArgumentError extends inputError('IPAM_INVALID_ARGUMENT') {}

/** A CIDR that does not parse, has a bad prefix, or is repeated for one family. */
export class InvalidCidrError extends inputError('IPAM_INVALID_CIDR') {}

/** An IP address that does not parse (malformed, IPv6 zone, leading zeros...). */
export class InvalidIpError extends inputError('IPAM_INVALID_IP') {}

/** A gateway that does not parse, lies outside its CIDR or on the network/broadcast address. */
export class InvalidGatewayError extends inputError('IPAM_INVALID_GATEWAY') {}

/** An excludeIps or pool entry that is malformed, reversed ("b..a") or outside the CIDR. */
export class InvalidRangeError extends inputError('IPAM_INVALID_RANGE') {}

/** An address of a family the subnet (or the request) does not have, or two of one family. */
export class FamilyMismatchError extends inputError('IPAM_FAMILY_MISMATCH') {}

/** A MAC that is malformed, multicast or all zeros. */
export class InvalidMacError extends inputError('IPAM_INVALID_MAC') {}

/** A requested IP outside the subnet's CIDR, or its network/broadcast address. */
export class IpOutOfRangeError extends IpamError {
  readonly subnet: string;
  constructor(field: string, value: string, subnet: string, reason: string) {
    super(
      'IPAM_IP_OUT_OF_RANGE',
      field,
      value,
      `${field} ${value} is out of range of subnet ${subnet}: ${reason}`,
    );
    this.subnet = subnet;
  }
}

/** Base of the errors about a requested address or MAC that the subnet itself reserves. */
function reservedError(code: string, what: string) {
  return class extends IpamError {
    readonly subnet: string;
    constructor(field: string, value: string, subnet: string) {
      super(code, field, value, `${field} ${value} is ${what} of subnet ${subnet}`);
      this.subnet = subnet;
    }
  };
}

/** A requested IP inside the subnet's excludeIps. */
export class IpExcludedError extends reservedError('IPAM_IP_EXCLUDED', 'in the excludeIps') {}

/** A requested IP equal to the subnet's gateway. */
export class IpIsGatewayError extends reservedError('IPAM_IP_IS_GATEWAY', 'the gateway') {}

/** A requested IP held by another owner. */
export class IpConflictError extends IpamError {
  readonly subnet: string;
  readonly heldBy: string;
  constructor(field: string, value: string, subnet: string, heldBy: string) {
    super('IPAM_IP_CONFLICT', field, value, `${field} ${value} in subnet ${subnet} is held by ${heldBy}`);
    this.subnet = subnet;
    this.heldBy = heldBy;
  }
}

/** A requested IP outside the requested pool. */
export class IpNotInPoolError extends IpamError {
  readonly pool: string;
  constructor(field: string, value: string, pool: string) {
    super('IPAM_IP_NOT_IN_POOL', field, value, `${field} ${value} is not in ip pool ${pool}`);
    this.pool = pool;
  }
}

/** A requested MAC held by another owner (in any subnet). */
export class MacConflictError extends IpamError {
  readonly heldBy: string;
  constructor(field: string, value: string, heldBy: string) {
    super('IPAM_MAC_CONFLICT', field, value, `${field} ${value} is held by ${heldBy}`);
    this.heldBy = heldBy;
  }
}

/** A requested MAC equal to a subnet gateway's MAC. */
export class MacIsGatewayError extends reservedError('IPAM_MAC_IS_GATEWAY', 'the gateway MAC') {}

/** The owner already holds a different address or MAC than the one requested; release it first. */
export class OwnerMismatchError extends IpamError {
  readonly owner: string;
  readonly held: string;
  constructor(field: string, value: string, owner: string, held: string) {
    super(
      'IPAM_OWNER_MISMATCH',
      field,
      value,
      `${owner} already holds ${held}, not ${value}: release it first`,
    );
    this.owner = owner;
    this.held = held;
  }
}

/** No free address of a family left in the subnet. */
export class SubnetExhaustedError extends IpamError {
  constructor(subnet: string, family: 4 | 6) {
    super('IPAM_SUBNET_EXHAUSTED', 'subnet', subnet, `no free IPv${family} address in subnet ${subnet}`);
  }
}

/** No free address of a family left in the pool (never a fallback to the rest of the subnet). */
export class PoolExhaustedError extends IpamError {
  readonly subnet: string;
  constructor(subnet: string, pool: string, family: 4 | 6) {
    super(
      'IPAM_POOL_EXHAUSTED',
      'pool',
      pool,
      `no free IPv${family} address in ip pool ${pool} of subnet ${subnet}`,
    );
    this.subnet = subnet;
  }
}

export class UnknownSubnetError extends IpamError {
  constructor(subnet: string) {
    super('IPAM_UNKNOWN_SUBNET', 'subnet', subnet, `no subnet ${show(subnet)}`);
  }
}

export class UnknownPoolError extends IpamError {
  constructor(subnet: string, pool: string) {
    super('IPAM_UNKNOWN_POOL', 'pool', pool, `no ip pool ${show(pool)} in subnet ${subnet}`);
  }
}

/** A pool whose addresses overlap another pool of the same subnet. */
export class PoolOverlapError extends IpamError {
  readonly other: string;
  constructor(field: string, value: string, other: string) {
    super('IPAM_POOL_OVERLAP', field, value, `${field} ${value} overlaps ip pool ${other}`);
    this.other = other;
  }
}
