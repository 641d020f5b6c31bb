// The native OVSDB client (RFC 7047 with Open vSwitch's extensions).
export {
  type ClientOptions,
  type Logger,
  type MonitorSpec,
  type MonitorTable,
  type OpResult,
  OvsdbClient,
} from './client.ts';
export { isUuid, NamedUuid, named, type Row } from './datum.ts';
export * from './errors.ts';
export type * as OVS from './generated/open-vswitch.ts';
export type * as NB from './generated/ovn-nb.ts';
export type * as SB from './generated/ovn-sb.ts';
export { type AnyTables, type Condition, type Mutation, type Operation, Ops, type TableMap } from './ops.ts';
export { type Change, type ChangeKind, Replica } from './replica.ts';
export { type DatabaseSchema, parseSchema } from './schema.ts';
export { parseRemote, parseRemotes, type TlsOptions } from './transport.ts';
