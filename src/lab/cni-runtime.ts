// Runs a CNI network configuration list the way libcni (the Go library containerd and CRI-O use) runs it,
// so plugins see exactly what a container runtime would give them:
// - ADD calls the plugins in order; each gets its conf with the list's name and cniVersion injected, the
//   previous plugin's result as prevResult, and runtimeConfig for the capabilities it declares. The final
//   result is cached in <cacheDir>/results/<network>-<containerId>-<ifName> (libcni's cniCacheV1 format).
// - DEL calls them in reverse order with the cached result as prevResult (spec >= 0.4.0), then drops the cache;
//   CHECK (spec >= 0.4.0) calls them in order with the cached result.
// - GC and STATUS (spec 1.1.0) follow libcni 1.2: they are sent to the plugins only when the list's
//   cniVersion is 1.1.0 or later (the version injected into every plugin is the list's, so a plugin "allows"
//   them exactly when its list does). Below 1.1.0, STATUS is a no-op and GC only DELs the cached
//   attachments that are not valid any more, which libcni does at every version.
// Deliberate differences from libcni: results are passed on as the plugin printed them (no conversion between
// result versions), and CHECK without a cached result is an error instead of a CHECK without prevResult.
import {
  accessSync,
  constants,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

/** One plugin's entry in a conflist: `type` names the binary; everything else is the plugin's own. */
export interface CniPluginConf {
  type: string;
  name?: string;
  cniVersion?: string;
  /** Capabilities the plugin wants as runtimeConfig (portMappings, bandwidth, ips, mac...). */
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface CniConfList {
  name: string;
  cniVersion: string;
  /** Spec 1.1.0: the versions this list can be read as; the highest one this runtime supports is used. */
  cniVersions?: string[];
  disableCheck?: boolean;
  disableGC?: boolean;
  plugins: CniPluginConf[];
}

/** How plugins are found and run; shared by every command. */
export interface CniExecConf {
  /** Directories searched in order for the plugin binaries; also passed on as CNI_PATH. */
  binDirs: string[];
  /** Where results are cached between ADD and DEL/CHECK (libcni's cacheDir). */
  cacheDir: string;
  /**
   * Run the plugins inside this named network namespace (`ip netns exec`): the lab's node netns plays the
   * node's root namespace, where a real runtime runs them.
   */
  execNetns?: string;
  /** Per plugin invocation (default 60 s). */
  timeoutMs?: number;
}

/** One attachment of a container to the network (libcni's RuntimeConf). */
export interface CniRuntimeConf extends CniExecConf {
  containerId: string;
  /** Path of the container's network namespace; '' on a DEL after the sandbox is gone. */
  netns: string;
  ifName: string;
  /** CNI_ARGS as key/value pairs, in order. */
  args: [string, string][];
  /** Values for capabilities, given to the plugins that declare them (libcni's CapabilityArgs). */
  capabilityArgs?: Record<string, unknown>;
}

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}

export interface CniIpConfig {
  address: string;
  gateway?: string;
  interface?: number;
  version?: string;
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: { dst: string; gw?: string }[];
  dns?: Record<string, unknown>;
  [key: string]: unknown;
}

/** An attachment the runtime still uses, as GC's `cni.dev/valid-attachments` lists it. */
export interface CniAttachment {
  containerID: string;
  ifname: string;
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';

/**
 * A failed command. `code`, `msg` and `details` are the CNI error the plugin printed (code 0 when it printed
 * none, as libcni reports it); `origin` says whether the plugin failed or this runtime could not run it.
 */
export class CniError extends Error {
  readonly code: number;
  readonly msg: string;
  readonly details: string;
  constructor(
    readonly command: CniCommand,
    /** The plugin's type (its binary name), or '' when no plugin was involved. */
    readonly plugin: string,
    err: { code?: number; msg?: string; details?: string },
    readonly origin: 'plugin' | 'runtime',
    /** What the plugin wrote to stderr (its log), for diagnosis. */
    readonly stderr = '',
  ) {
    const code = typeof err.code === 'number' ? err.code : 0;
    const msg = typeof err.msg === 'string' ? err.msg : '';
    const details = typeof err.details === 'string' ? err.details : '';
    const where = plugin ? `plugin type="${plugin}" failed (${command.toLowerCase()})` : command;
    super(`${where}: ${msg}${details ? `; ${details}` : ''}`);
    this.name = 'CniError';
    this.code = code;
    this.msg = msg;
    this.details = details;
  }

  /** The CNI error object, as a plugin prints it. */
  toJSON(): { code: number; msg: string; details?: string } {
    return { code: this.code, msg: this.msg, ...(this.details ? { details: this.details } : {}) };
  }
}

/** The versions this runtime speaks; 0.1.0/0.2.0 results (ip4/ip6 objects) are not supported. */
const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

function versionAtLeast(v: string, min: string): boolean {
  const a = v.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/** The version the list is run at: the highest supported entry of cniVersions, else cniVersion. */
export function effectiveVersion(conf: CniConfList): string {
  const candidates = (conf.cniVersions ?? []).filter((v) => SUPPORTED_VERSIONS.includes(v));
  if (candidates.length > 0) return candidates.reduce((a, b) => (versionAtLeast(a, b) ? a : b));
  return conf.cniVersion;
}

/** Parses and checks a conflist (what libcni.ConfListFromBytes rejects, this rejects too). */
export function parseConfList(text: string): CniConfList {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`conflist is not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error('conflist is not an object');
  const c = raw as Record<string, unknown>;
  if (typeof c.name !== 'string' || c.name === '') throw new Error('conflist has no name');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(c.name)) throw new Error(`invalid network name ${c.name}`);
  if (!Array.isArray(c.plugins) || c.plugins.length === 0)
    throw new Error(`conflist ${c.name} has no plugins`);
  for (const p of c.plugins) {
    if (typeof p !== 'object' || p === null || typeof (p as CniPluginConf).type !== 'string') {
      throw new Error(`conflist ${c.name}: every plugin needs a type`);
    }
  }
  const list = raw as CniConfList;
  if (typeof list.cniVersion !== 'string' && !Array.isArray(list.cniVersions)) {
    throw new Error(`conflist ${c.name} has no cniVersion`);
  }
  const version = effectiveVersion(list);
  if (!SUPPORTED_VERSIONS.includes(version))
    throw new Error(`conflist ${c.name}: unsupported cniVersion ${version}`);
  return { ...list, cniVersion: version };
}

export function loadConfList(path: string): CniConfList {
  return parseConfList(readFileSync(path, 'utf8'));
}

// ---- the result cache (libcni's layout and format, so the files read the same for anyone who knows it)

interface CacheEntry {
  kind: 'cniCacheV1';
  containerId: string;
  config: string; // the conflist, base64
  ifName: string;
  networkName: string;
  netns?: string;
  cniArgs: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  result: CniResult;
}

function cachePath(cacheDir: string, network: string, containerId: string, ifName: string): string {
  return join(cacheDir, 'results', `${network}-${containerId}-${ifName}`);
}

function writeCache(conf: CniConfList, rt: CniRuntimeConf, result: CniResult): void {
  const entry: CacheEntry = {
    kind: 'cniCacheV1',
    containerId: rt.containerId,
    config: Buffer.from(JSON.stringify(conf)).toString('base64'),
    ifName: rt.ifName,
    networkName: conf.name,
    netns: rt.netns,
    cniArgs: rt.args,
    capabilityArgs: rt.capabilityArgs,
    result,
  };
  const path = cachePath(rt.cacheDir, conf.name, rt.containerId, rt.ifName);
  mkdirSync(join(rt.cacheDir, 'results'), { recursive: true, mode: 0o700 });
  // temp + rename: a crash never leaves a half-written result that DEL would then choke on
  writeFileSync(`${path}.tmp`, JSON.stringify(entry), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

function readCacheEntry(path: string): CacheEntry | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const e = JSON.parse(text) as CacheEntry;
    return e.kind === 'cniCacheV1' && typeof e.result === 'object' ? e : undefined;
  } catch {
    return undefined;
  }
}

/** The result ADD cached for this attachment, if any. */
export function cachedResult(
  conf: CniConfList,
  rt: Pick<CniRuntimeConf, 'cacheDir' | 'containerId' | 'ifName'>,
) {
  return readCacheEntry(cachePath(rt.cacheDir, conf.name, rt.containerId, rt.ifName))?.result;
}

/** An attachment as ADD cached it: enough to DEL it without the runtime's own records. */
export type CachedAttachment = Pick<
  CniRuntimeConf,
  'containerId' | 'ifName' | 'netns' | 'args' | 'capabilityArgs'
>;

/** Every attachment with a cached result for this network: what GC compares with the valid ones. */
export function cachedAttachments(conf: CniConfList, cacheDir: string): CachedAttachment[] {
  let files: string[];
  try {
    files = readdirSync(join(cacheDir, 'results'));
  } catch {
    return [];
  }
  const out: CachedAttachment[] = [];
  for (const f of files) {
    if (!f.startsWith(`${conf.name}-`) || f.endsWith('.tmp')) continue;
    const e = readCacheEntry(join(cacheDir, 'results', f));
    if (!e || e.networkName !== conf.name) continue;
    out.push({
      containerId: e.containerId,
      ifName: e.ifName,
      netns: e.netns ?? '',
      args: e.cniArgs ?? [],
      capabilityArgs: e.capabilityArgs,
    });
  }
  return out;
}

function dropCache(conf: CniConfList, rt: CniRuntimeConf): void {
  rmSync(cachePath(rt.cacheDir, conf.name, rt.containerId, rt.ifName), { force: true });
}

// ---- running one plugin

function findPlugin(command: CniCommand, type: string, binDirs: string[]): string {
  if (type === '' || type.includes('/')) {
    throw new CniError(command, type, { msg: `invalid plugin type ${JSON.stringify(type)}` }, 'runtime');
  }
  for (const dir of binDirs) {
    const path = join(dir, type);
    try {
      if (statSync(path).isFile()) {
        accessSync(path, constants.X_OK);
        return path;
      }
    } catch {
      // not in this directory
    }
  }
  throw new CniError(
    command,
    type,
    { msg: `failed to find plugin "${type}" in path [${binDirs.join(' ')}]` },
    'runtime',
  );
}

/** What a plugin reads on stdin: libcni's buildOneConfig. */
function pluginStdin(
  conf: CniConfList,
  plugin: CniPluginConf,
  prevResult: CniResult | undefined,
  capabilityArgs: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...plugin, name: conf.name, cniVersion: conf.cniVersion };
  if (prevResult) out.prevResult = prevResult;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, wanted] of Object.entries(plugin.capabilities ?? {})) {
    if (wanted === true && capabilityArgs && cap in capabilityArgs) runtimeConfig[cap] = capabilityArgs[cap];
  }
  if (Object.keys(runtimeConfig).length > 0) out.runtimeConfig = runtimeConfig;
  return out;
}

interface Invocation {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifName: string;
  args: [string, string][];
}

/** Runs one plugin; returns its stdout, or throws its CNI error the way libcni's RawExec reads it. */
async function execPlugin(
  exec: CniExecConf,
  plugin: CniPluginConf,
  inv: Invocation,
  stdin: Record<string, unknown>,
): Promise<string> {
  const path = findPlugin(inv.command, plugin.type, exec.binDirs);
  const [file, argv] = exec.execNetns ? ['ip', ['netns', 'exec', exec.execNetns, path]] : [path, []];
  const timeoutMs = exec.timeoutMs ?? 60_000;
  const child = execa(file, argv, {
    input: JSON.stringify(stdin),
    env: {
      CNI_COMMAND: inv.command,
      CNI_CONTAINERID: inv.containerId,
      CNI_NETNS: inv.netns,
      CNI_IFNAME: inv.ifName,
      CNI_ARGS: inv.args.map(([k, v]) => `${k}=${v}`).join(';'),
      CNI_PATH: exec.binDirs.join(':'),
    },
    // its own process group, so that a timeout also ends whatever the plugin started: a child left holding
    // stdout would otherwise keep the call waiting long after the plugin was killed
    detached: true,
    reject: false,
    stripFinalNewline: false,
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, timeoutMs);
  const res = await child.finally(() => clearTimeout(timer));
  const stdout = String(res.stdout ?? '');
  const stderr = String(res.stderr ?? '');
  if (timedOut) {
    throw new CniError(
      inv.command,
      plugin.type,
      { msg: `timed out after ${timeoutMs} ms` },
      'runtime',
      stderr,
    );
  }
  if (res.exitCode === 0) return stdout;
  if (res.exitCode === undefined) {
    // never started or killed by a signal
    throw new CniError(inv.command, plugin.type, { msg: res.shortMessage }, 'runtime', stderr);
  }
  let err: { code?: number; msg?: string; details?: string };
  if (stdout.trim() === '') {
    err = {
      msg:
        stderr.trim() === ''
          ? `netplugin failed with no error message: exit status ${res.exitCode}`
          : `netplugin failed: ${JSON.stringify(stderr.trim())}`,
    };
  } else {
    try {
      err = JSON.parse(stdout) as typeof err;
      if (typeof err !== 'object' || err === null) throw new Error('not an object');
    } catch (e) {
      err = {
        msg: `netplugin failed but error parsing its diagnostic message ${JSON.stringify(stdout)}: ${(e as Error).message}`,
      };
    }
  }
  throw new CniError(inv.command, plugin.type, err, 'plugin', stderr);
}

function parseResult(
  command: CniCommand,
  plugin: CniPluginConf,
  stdout: string,
  confVersion: string,
): CniResult {
  let r: unknown;
  try {
    r = JSON.parse(stdout);
  } catch (e) {
    throw new CniError(
      command,
      plugin.type,
      { msg: `decoding result: ${(e as Error).message}`, details: stdout.slice(0, 500) },
      'runtime',
    );
  }
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    throw new CniError(command, plugin.type, { msg: 'result is not a JSON object' }, 'runtime');
  }
  const result = r as CniResult;
  // libcni takes a result without cniVersion to be of the conf's version (containernetworking/cni#895)
  if (typeof result.cniVersion !== 'string' || result.cniVersion === '') result.cniVersion = confVersion;
  return result;
}

function checkRuntimeConf(command: CniCommand, rt: CniRuntimeConf): void {
  const bad = (msg: string) => new CniError(command, '', { code: 4, msg }, 'runtime');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(rt.containerId))
    throw bad(`invalid container id "${rt.containerId}"`);
  if (rt.ifName === '' || rt.ifName.length > 15 || rt.ifName === '.' || rt.ifName === '..') {
    throw bad(`invalid interface name "${rt.ifName}"`);
  }
  if (/[/:\s]/.test(rt.ifName)) throw bad(`invalid interface name "${rt.ifName}"`);
  for (const [k, v] of rt.args) {
    if (k === '' || k.includes('=') || k.includes(';') || v.includes(';'))
      throw bad(`invalid CNI_ARGS pair ${k}=${v}`);
  }
}

function invocation(command: CniCommand, rt: CniRuntimeConf): Invocation {
  return { command, containerId: rt.containerId, netns: rt.netns, ifName: rt.ifName, args: rt.args };
}

// ---- the commands

/** ADD through every plugin in order; returns the last plugin's result, which is cached for DEL and CHECK. */
export async function cniAdd(conf: CniConfList, rt: CniRuntimeConf): Promise<CniResult> {
  checkRuntimeConf('ADD', rt);
  if (rt.netns === '')
    throw new CniError('ADD', '', { code: 4, msg: 'ADD needs a network namespace' }, 'runtime');
  let result: CniResult | undefined;
  for (const plugin of conf.plugins) {
    const stdin = pluginStdin(conf, plugin, result, rt.capabilityArgs);
    const stdout = await execPlugin(rt, plugin, invocation('ADD', rt), stdin);
    result = parseResult('ADD', plugin, stdout, conf.cniVersion);
  }
  writeCache(conf, rt, result!);
  return result!;
}

/** DEL through every plugin in reverse order with the cached result, then drops the cache. */
export async function cniDel(conf: CniConfList, rt: CniRuntimeConf): Promise<void> {
  checkRuntimeConf('DEL', rt);
  // prevResult on DEL arrived with spec 0.4.0; older plugins never get one
  const prev = versionAtLeast(conf.cniVersion, '0.4.0') ? cachedResult(conf, rt) : undefined;
  for (let i = conf.plugins.length - 1; i >= 0; i--) {
    const plugin = conf.plugins[i]!;
    await execPlugin(rt, plugin, invocation('DEL', rt), pluginStdin(conf, plugin, prev, rt.capabilityArgs));
  }
  dropCache(conf, rt);
}

/** CHECK through every plugin in order with the cached result. */
export async function cniCheck(conf: CniConfList, rt: CniRuntimeConf): Promise<void> {
  checkRuntimeConf('CHECK', rt);
  if (!versionAtLeast(conf.cniVersion, '0.4.0')) {
    throw new CniError(
      'CHECK',
      '',
      { msg: `configuration version "${conf.cniVersion}" does not support the CHECK command` },
      'runtime',
    );
  }
  if (conf.disableCheck) return;
  const prev = cachedResult(conf, rt);
  if (!prev) {
    throw new CniError(
      'CHECK',
      '',
      { code: 3, msg: `no cached result for ${rt.containerId}/${rt.ifName} on network ${conf.name}` },
      'runtime',
    );
  }
  for (const plugin of conf.plugins) {
    await execPlugin(rt, plugin, invocation('CHECK', rt), pluginStdin(conf, plugin, prev, rt.capabilityArgs));
  }
}

/**
 * Garbage collection as libcni 1.2 does it: DEL every cached attachment of this network that is not in
 * `valid`, then (spec >= 1.1.0) GC on every plugin with `cni.dev/valid-attachments`. Every failure is
 * collected; they are thrown together at the end as an AggregateError of CniErrors.
 */
export async function cniGc(conf: CniConfList, valid: CniAttachment[], exec: CniExecConf): Promise<void> {
  if (conf.disableGC) return;
  const keep = new Set(valid.map((a) => `${a.containerID}\n${a.ifname}`));
  const errors: unknown[] = [];
  for (const a of cachedAttachments(conf, exec.cacheDir)) {
    if (keep.has(`${a.containerId}\n${a.ifName}`)) continue;
    try {
      await cniDel(conf, { ...exec, ...a });
    } catch (e) {
      errors.push(e);
    }
  }
  if (versionAtLeast(conf.cniVersion, '1.1.0')) {
    const inv: Invocation = { command: 'GC', containerId: '', netns: '', ifName: '', args: [] };
    const attachments = valid.map((a) => ({ containerID: a.containerID, ifname: a.ifname }));
    for (const plugin of conf.plugins) {
      const stdin = { ...plugin, name: conf.name, cniVersion: conf.cniVersion };
      // libcni also sends the misnamed key of the first 1.1.0 text (containernetworking/cni#1101)
      Object.assign(stdin, { 'cni.dev/valid-attachments': attachments, 'cni.dev/attachments': attachments });
      try {
        await execPlugin(exec, plugin, inv, stdin);
      } catch (e) {
        errors.push(e);
      }
    }
  }
  if (errors.length > 0)
    throw new AggregateError(errors, `GC of network ${conf.name}: ${errors.length} failure(s)`);
}

/**
 * STATUS (spec >= 1.1.0): asks each plugin in order whether it is ready for ADDs; throws the first plugin's
 * error (code 50: not available, 51: not available and existing attachments may be damaged).
 * A list older than 1.1.0 has no STATUS and counts as ready.
 */
export async function cniStatus(conf: CniConfList, exec: CniExecConf): Promise<void> {
  if (!versionAtLeast(conf.cniVersion, '1.1.0')) return;
  const inv: Invocation = { command: 'STATUS', containerId: '', netns: '', ifName: '', args: [] };
  for (const plugin of conf.plugins) {
    await execPlugin(exec, plugin, inv, { ...plugin, name: conf.name, cniVersion: conf.cniVersion });
  }
}
