// Public surface of the IPAM library.
export { type Cidr, type Family, formatIp, type Ip, parseCidr, parseIp } from './address.ts';
export * from './errors.ts';
export {
  type AllocateRequest,
  type Allocation,
  type AllocationRecord,
  type HeldConflictReport,
  Ipam,
  type IpamOptions,
  type PoolStatus,
  type RecordIssue,
  type RestoreReport,
  type SubnetChange,
  type SubnetInfo,
  type SubnetStatus,
} from './ipam.ts';
export { formatMac, parseMac, type RandomBytes } from './mac.ts';
export { type Protocol, parseSubnetSpec, type SubnetLayout, type SubnetSpec } from './spec.ts';
