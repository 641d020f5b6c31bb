// CNI errors as the spec prints them: {"cniVersion","code","msg","details"} on stdout, exit code 1.

/** The spec's well-known codes, plus 999 for our own bugs. The daemon adds 100+ codes of its own. */
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  Unexpected: 999,
} as const;

export interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

export class CniError extends Error {
  constructor(
    readonly code: number,
    msg: string,
    readonly details?: string,
  ) {
    super(msg);
    this.name = 'CniError';
  }

  toJson(cniVersion: string): CniErrorJson {
    const out: CniErrorJson = { cniVersion, code: this.code, msg: this.message };
    if (this.details !== undefined && this.details !== '') out.details = this.details;
    return out;
  }
}

/** Anything thrown that is not a CniError is a bug of ours: code 999 with the stack as details. */
export function asCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  if (e instanceof Error)
    return new CniError(ErrorCode.Unexpected, `unexpected error: ${e.message}`, e.stack);
  return new CniError(ErrorCode.Unexpected, `unexpected error: ${String(e)}`);
}
