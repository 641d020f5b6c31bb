// Every error this client raises is an OvsdbError with a stable `code`: match on the code, not the message.

export type OvsdbErrorCode =
  | 'OVSDB_CONNECTION' // the connection failed or was lost; an in-flight transaction may or may not have committed
  | 'OVSDB_TIMEOUT' // a request got no answer in time
  | 'OVSDB_CLOSED' // the client was closed by its owner
  | 'OVSDB_PROTOCOL' // the peer sent something that is not valid OVSDB JSON-RPC
  | 'OVSDB_SCHEMA' // unknown database, table or column, or a value of the wrong type (caught before sending)
  | 'OVSDB_RPC' // the server answered a request with a JSON-RPC error
  | 'OVSDB_TXN'; // a transaction operation, or its commit, failed

export class OvsdbError extends Error {
  constructor(
    readonly code: OvsdbErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ConnectionError extends OvsdbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OVSDB_CONNECTION', message, options);
  }
}

export class TimeoutError extends OvsdbError {
  constructor(message: string) {
    super('OVSDB_TIMEOUT', message);
  }
}

export class ClosedError extends OvsdbError {
  constructor() {
    super('OVSDB_CLOSED', 'client closed');
  }
}

export class ProtocolError extends OvsdbError {
  constructor(message: string) {
    super('OVSDB_PROTOCOL', message);
  }
}

export class SchemaError extends OvsdbError {
  constructor(message: string) {
    super('OVSDB_SCHEMA', message);
  }
}

export class RpcError extends OvsdbError {
  constructor(
    readonly method: string,
    readonly error: unknown,
  ) {
    super('OVSDB_RPC', `${method} failed: ${printable(error)}`);
  }
}

/** A value from the peer for an error message: cut short, and never throwing (it may nest too deep). */
export function printable(v: unknown, max = 1000): string {
  let s: string | undefined;
  try {
    s = typeof v === 'string' ? v : JSON.stringify(v);
  } catch {
    s = undefined;
  }
  if (s === undefined) return `(unprintable ${typeof v})`;
  return s.length > max ? `${s.slice(0, max)}...` : s;
}

/**
 * The RFC 7047 error kinds a transaction can fail with (the server's "error" string), e.g.
 * "referential integrity violation", "constraint violation", "timed out", "not owner", "aborted".
 */
export class TransactionError extends OvsdbError {
  constructor(
    /** The server's error string. */
    readonly error: string,
    /** The server's details, if any. */
    readonly details: string | undefined,
    /** Index of the failing operation; undefined when the commit itself failed. */
    readonly opIndex: number | undefined,
    /** The failing operation as sent. */
    readonly op: unknown,
  ) {
    const where = opIndex === undefined ? 'commit' : `operation ${opIndex} (${describeOp(op)})`;
    super('OVSDB_TXN', `${where} failed: ${error}${details ? `: ${details}` : ''}`);
  }

  /** A failed wait: the guard it expressed did not hold. */
  get isWaitTimeout(): boolean {
    return this.error === 'timed out';
  }
}

function describeOp(op: unknown): string {
  if (op && typeof op === 'object' && 'op' in op) {
    const o = op as { op: string; table?: string };
    return o.table ? `${o.op} ${o.table}` : o.op;
  }
  return 'unknown';
}
