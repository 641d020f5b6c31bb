// The network configuration on stdin: JSON decoding (code 6), version negotiation (code 1), validation (code 7).
import type { CniCommand } from './env.ts';
import { CniError, ErrorCode } from './errors.ts';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
/** What we answer in when the caller's version is unknown (VERSION without input, errors before decoding). */
export const DEFAULT_VERSION = '1.0.0';
export const DEFAULT_TIMEOUT_SECONDS = 120;
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface NetConf {
  cniVersion: string;
  serverSocket: string;
  timeoutMs: number;
  /** How long to wait for a daemon that is not listening (restarting) before code 11; at most timeoutMs. */
  daemonWaitMs: number;
  /** The whole config as the runtime sent it; the daemon gets it unchanged. */
  raw: Record<string, unknown>;
}

const SUPPORTED: ReadonlySet<string> = new Set(SUPPORTED_VERSIONS);

function isSupportedVersion(v: unknown): v is string {
  return typeof v === 'string' && SUPPORTED.has(v);
}

export function decodeConfig(stdin: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdin);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new CniError(ErrorCode.DecodingFailure, 'network configuration on stdin is not JSON', why);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CniError(ErrorCode.DecodingFailure, 'network configuration on stdin is not a JSON object');
  }
  // JSON.parse takes any depth but JSON.stringify recurses: a config nested too deep to be forwarded to
  // the daemon is a decoding failure here, not an unreachable daemon later
  try {
    JSON.stringify(parsed);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new CniError(ErrorCode.DecodingFailure, 'network configuration on stdin is nested too deeply', why);
  }
  return parsed as Record<string, unknown>;
}

/** The caller's version if stdin carries a supported one, for printing errors the caller can read. */
export function callerVersion(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown } | null)?.cniVersion;
    return isSupportedVersion(v) ? v : DEFAULT_VERSION;
  } catch {
    return DEFAULT_VERSION;
  }
}

/** VERSION's answer; it never fails, since a runtime asks it precisely to learn what we support. */
export function versionInfo(stdin: string): { cniVersion: string; supportedVersions: string[] } {
  return { cniVersion: callerVersion(stdin), supportedVersions: [...SUPPORTED_VERSIONS] };
}

function atLeast110(v: string): boolean {
  return v === '1.1.0';
}

function nonEmptyString(conf: Record<string, unknown>, key: string): string {
  const value = conf[key];
  if (typeof value !== 'string' || value === '') {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `network configuration: "${key}" must be a non-empty string`,
    );
  }
  return value;
}

/** Linux's sun_path holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * The daemon's socket: an absolute path a unix socket can have. Anything else is a configuration error
 * (code 7), not a daemon to wait for (11): the runtime would retry the sandbox forever.
 */
function socketPath(conf: Record<string, unknown>): string {
  const path = nonEmptyString(conf, 'server_socket');
  if (!path.startsWith('/') || Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES || path.includes('\0')) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `network configuration: "server_socket" must be an absolute path of at most ${MAX_SOCKET_PATH_BYTES} bytes`,
    );
  }
  return path;
}

/** Decodes and checks the config for a command other than VERSION. */
export function parseNetConf(stdin: string, command: CniCommand): NetConf {
  const raw = decodeConfig(stdin);
  const v = raw.cniVersion;
  if (v !== undefined && typeof v !== 'string') {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      'network configuration: "cniVersion" must be a string',
    );
  }
  // an absent cniVersion means 0.1.0 in CNI, which we do not speak
  const version = v ?? '0.1.0';
  if (!isSupportedVersion(version)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `incompatible CNI version ${JSON.stringify(version)}`,
      `plugin supports ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  if ((command === 'STATUS' || command === 'GC') && !atLeast110(version)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `${command} needs cniVersion 1.1.0 or later, the configuration is ${version}`,
    );
  }
  nonEmptyString(raw, 'name');
  nonEmptyString(raw, 'type');
  const serverSocket = socketPath(raw);
  const timeout = raw.timeout_seconds === undefined ? DEFAULT_TIMEOUT_SECONDS : raw.timeout_seconds;
  if (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      'network configuration: "timeout_seconds" must be a positive number',
    );
  }
  const wait = raw.daemon_wait_seconds === undefined ? 0 : raw.daemon_wait_seconds;
  if (typeof wait !== 'number' || !(wait >= 0) || !Number.isFinite(wait)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      'network configuration: "daemon_wait_seconds" must be a number of seconds, 0 or more',
    );
  }
  // setTimeout takes at most 2^31-1 ms and fires at once beyond that
  const timeoutMs = Math.min(Math.ceil(timeout * 1000), MAX_TIMER_MS);
  return {
    cniVersion: version,
    serverSocket,
    timeoutMs,
    daemonWaitMs: Math.min(Math.ceil(wait * 1000), timeoutMs),
    raw,
  };
}
