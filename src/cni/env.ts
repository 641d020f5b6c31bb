// The CNI_* environment of one invocation, checked against what each command needs (code 4 otherwise).
import { CniError, ErrorCode } from './errors.ts';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof COMMANDS)[number];

export interface CniEnv {
  command: CniCommand;
  containerId: string;
  /** "" on DEL from containerd's RemovePodSandbox, and always "" for GC, STATUS and VERSION. */
  netns: string;
  ifName: string;
  podName: string;
  podNamespace: string;
  podUid: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const COMMAND_SET: ReadonlySet<string> = new Set(COMMANDS);
// K8S_POD_INFRA_CONTAINER_ID is known (kubelet and containerd send it) but not used.
const KNOWN_ARGS = new Set([
  'IgnoreUnknown',
  'K8S_POD_NAME',
  'K8S_POD_NAMESPACE',
  'K8S_POD_UID',
  'K8S_POD_INFRA_CONTAINER_ID',
]);
// The spec's container id: alphanumeric first, then alphanumerics, '_', '.', '-'.
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function invalid(msg: string, details?: string): CniError {
  return new CniError(ErrorCode.InvalidEnvironment, msg, details);
}

export function parseCommand(env: Env): CniCommand {
  const command = env.CNI_COMMAND;
  if (command === undefined || command === '') throw invalid('CNI_COMMAND is missing');
  if (!COMMAND_SET.has(command)) {
    throw invalid(
      `CNI_COMMAND ${JSON.stringify(command)} is unknown`,
      `known commands: ${COMMANDS.join(', ')}`,
    );
  }
  return command as CniCommand;
}

/**
 * CNI_ARGS "K=V;K=V" as libcni's LoadArgs reads it: every pair needs a key and "=", and a key we do not know is
 * an error unless IgnoreUnknown is 1/true. Empty pairs (a trailing ";") are skipped; a value may contain "=".
 */
export function parseCniArgs(raw: string): Map<string, string> {
  const args = new Map<string, string>();
  for (const pair of raw.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalid(`CNI_ARGS: invalid pair ${JSON.stringify(pair)}`, 'expected K=V;K=V');
    args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const ignoreUnknown = args.get('IgnoreUnknown');
  let ignore = false;
  if (ignoreUnknown !== undefined) {
    const v = ignoreUnknown.toLowerCase();
    if (v === '1' || v === 'true') ignore = true;
    else if (v !== '0' && v !== 'false') {
      throw invalid(`CNI_ARGS: IgnoreUnknown=${JSON.stringify(ignoreUnknown)} is not a boolean`);
    }
  }
  if (!ignore) {
    const unknown = [...args.keys()].filter((k) => !KNOWN_ARGS.has(k));
    if (unknown.length > 0) {
      throw invalid(`CNI_ARGS: unknown args ${unknown.join(', ')}`, 'set IgnoreUnknown=1 to ignore them');
    }
  }
  return args;
}

/** A Linux interface name: 1 to 15 bytes, not "." or "..", no "/", ":" or whitespace. */
export function checkIfName(name: string): void {
  if (Buffer.byteLength(name) > 15)
    throw invalid(`CNI_IFNAME ${JSON.stringify(name)} is longer than 15 bytes`);
  if (name === '.' || name === '..' || /[/:\s]/.test(name)) {
    throw invalid(`CNI_IFNAME ${JSON.stringify(name)} is not a valid interface name`);
  }
}

/** What each command requires; variables a command does not need are passed on as "" if absent. */
export function parseEnv(env: Env): CniEnv {
  const command = parseCommand(env);
  const attach = command === 'ADD' || command === 'CHECK' || command === 'DEL';
  const needsNetns = command === 'ADD' || command === 'CHECK';
  const required = (name: string, needed: boolean): string => {
    const value = env[name] ?? '';
    if (needed && value === '') throw invalid(`${name} is missing`, `required for ${command}`);
    return value;
  };
  const containerId = required('CNI_CONTAINERID', attach);
  if (attach && !CONTAINER_ID.test(containerId)) {
    throw invalid(`CNI_CONTAINERID ${JSON.stringify(containerId)} is not a valid container id`);
  }
  const netns = attach ? required('CNI_NETNS', needsNetns) : '';
  const ifName = required('CNI_IFNAME', attach);
  if (attach) checkIfName(ifName);

  // CNI_ARGS is per attachment: GC and STATUS do not read it
  const args = attach ? parseCniArgs(env.CNI_ARGS ?? '') : new Map<string, string>();
  const podArg = (key: string, needed: boolean): string => {
    const value = args.get(key) ?? '';
    if (needed && value === '') throw invalid(`CNI_ARGS: ${key} is missing`, `required for ${command}`);
    return value;
  };
  return {
    command,
    containerId: attach ? containerId : '',
    netns,
    ifName: attach ? ifName : '',
    podName: podArg('K8S_POD_NAME', needsNetns),
    podNamespace: podArg('K8S_POD_NAMESPACE', needsNetns),
    podUid: podArg('K8S_POD_UID', false),
  };
}
