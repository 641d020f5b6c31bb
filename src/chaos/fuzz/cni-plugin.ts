// Fuzzes a node's CNI path end to end: the built `ovnk` plugin, run inside the node's netns as the lab kubelet
// runs it, against the node's real daemon, with mutated env and stdin (missing variables, wrong types, huge
// values, invalid JSON, unknown versions, path traversal, control characters, shell metacharacters).
// Per case: the plugin exits within a bound (else a hang), is not killed by a signal and prints one valid
// CNI document (else a crash; code 999 is our catch-all for bugs, so it counts as one), and the outcome
// fits what the mutation must cause (else a violation). The node is snapshotted (links in its netns, ports
// on br-int, our network namespaces, the daemon's pid) before the run, after every ADD and after the run:
// a failed call must leave nothing new, a successful ADD is DELeted at once and must leave nothing either.
// Every case is rebuilt from (seed, index): fuzzCniPluginCase(seed, index) shows one for a replay.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { execa } from 'execa';
import fc from 'fast-check';
import { isAddressed } from '../../daemon/pod-address.ts';
import { type Cluster, conflist } from '../../lab/cluster.ts';
import { addNetns, delNetns, listLinks, listNetns } from '../../lab/netns.ts';
import { isAlive } from '../../lab/proc.ts';
import { emptyReport, type FuzzReport, recordFailure } from './report.ts';

export interface CniPluginFuzzOptions {
  cluster: Cluster;
  /** The node whose daemon is fuzzed (e.g. "node1"). */
  node: string;
  cases: number;
  seed: number;
}

// Placeholders in generated cases, filled in at run time: the case itself stays a pure function of (seed, index).
const OWN_NETNS = '@OWN_NETNS@';
const TARGET_POD = '@TARGET_POD@';
const SOCKET = '@SOCKET@';
const MARKER = '@MARKER@';
const DEEP = '@DEEP@';

/** Codes the plugin and the daemon define (docs/cni-daemon-protocol.md, src/cni/errors.ts, src/daemon/errors.ts). */
const DEFINED_CODES = new Set([1, 2, 3, 4, 5, 6, 7, 11, 50, 100, 101, 102, 103, 104]);
/** The plugin's and the daemon's "unexpected error": a bug, so it counts as a crash. */
const BUG_CODE = 999;
const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
type Command = (typeof COMMANDS)[number];
const ATTACH: readonly Command[] = ['ADD', 'DEL', 'CHECK'];
const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
/** The plugin's CNI_CONTAINERID rule and the daemon's CNI_IFNAME rule (the stricter of the two). */
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const DAEMON_IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const HUGE = 100_000;

/** What a case must end in: success is a violation when mustFail; codes, when known, bound the error code. */
export interface Expectation {
  mustFail: boolean;
  codes?: number[];
}

export interface PluginCase {
  index: number;
  /** The valid call the case mutates. */
  base: Command;
  /** Names of the mutations applied, for the report. */
  mutations: string[];
  env: Record<string, string>;
  stdin: string;
  expect: Expectation;
}

/** A mutation's effect on the outcome; undefined: none (the base call's outcome stands). */
type Effect = Expectation | undefined;

interface Draft {
  base: Command;
  /** Whether K8S_POD_NAME names the fuzzer's real, addressed pod (else a pod that never exists). */
  realPod: boolean;
  env: Record<string, string | undefined>;
  args: [string, string][] | undefined;
  conf: Record<string, unknown>;
  /** Replaces the serialised conf (invalid JSON and the like). */
  rawStdin?: string;
}

/** Returned by a mutation that cannot apply (e.g. to CNI_ARGS that another mutation removed). */
const SKIPPED = Symbol('skipped');
/**
 * `target` names what the mutation changes ("env/CNI_ARGS/K8S_POD_NAME", "stdin/conf/name"...): a later
 * mutation of the same target, or of one that contains it, replaces its effect.
 */
type Mutation = { name: string; target: string; apply: (d: Draft) => Effect | typeof SKIPPED };
/** A mutation of one field of the serialised config; moot once stdin is replaced as a whole. */
const confMutation = (name: string, key: string, apply: (d: Draft) => Effect): Mutation => ({
  name,
  target: `stdin/conf/${key}`,
  apply: (d) => (d.rawStdin === undefined ? apply(d) : SKIPPED),
});

const fail = (...codes: number[]): Expectation => ({
  mustFail: true,
  codes: codes.length ? codes : undefined,
});
const isAttach = (d: Draft) => ATTACH.includes(d.base);

// ---- hostile values ----------------------------------------------------------------------------------------

/** Never a path to a real network namespace: each is missing, a directory, a file or malformed. */
const TRAVERSAL = [
  '../../etc',
  '../../../../../../etc/passwd',
  '/',
  '/etc',
  '/etc/passwd',
  '..',
  '.',
  '/var/run/netns/../../etc',
  '/run/netns/../../../tmp',
  'a/b',
  '/var/run/netns/',
  '/var/run/netns/ovnk-fz-absent',
  'ovnk-fz-absent',
  '/dev/null',
];
const SHELL = [
  `x;touch ${MARKER}`,
  `$(touch ${MARKER})`,
  `\`touch ${MARKER}\``,
  `a|touch ${MARKER}`,
  `a&&touch ${MARKER}`,
  `a||touch ${MARKER}`,
  `'"`,
  `x\ntouch ${MARKER}`,
  `x > ${MARKER}`,
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal for a shell to expand
  '${IFS}',
  '*',
  '-rf',
  '--help',
];
const CONTROL = ['\x01\x02\x03', 'a\tb', 'a\rb', 'a\nb', '\x1b[2J', '\x7f', ' ', ' eth0', 'eth0 ', 'é', '😀'];
const HUGE_VALUES = [
  'a'.repeat(HUGE),
  `${'../'.repeat(HUGE / 3)}etc`,
  '😀'.repeat(HUGE / 4),
  'x;'.repeat(HUGE / 2),
];
const PLAIN = [
  '',
  '0',
  '-1',
  '123',
  'true',
  'null',
  'eth1',
  'net1',
  'a.b',
  'A_B-c',
  'x'.repeat(15),
  'x'.repeat(16),
];
const nastyString = fc.oneof(
  fc.constantFrom(...TRAVERSAL),
  fc.constantFrom(...SHELL),
  fc.constantFrom(...CONTROL),
  fc.constantFrom(...HUGE_VALUES),
  fc.constantFrom(...PLAIN),
  fc.string({ maxLength: 40, unit: 'binary' }),
);
/** JSON values of the wrong type or shape for a string field. */
const wrongJson = fc.oneof(
  fc.constantFrom(0, -1, 1.5, true, false, null, [], {}, [1, 2], { a: 1 }, '', 'x'.repeat(HUGE)),
  fc.jsonValue({ maxDepth: 3 }),
);

// ---- mutations -------------------------------------------------------------------------------------------

const ENV_VARS = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS'] as const;

const dropVar = fc.constantFrom(...ENV_VARS).map(
  (name): Mutation => ({
    name: `drop ${name}`,
    target: `env/${name}`,
    apply: (d) => {
      d.env[name] = undefined;
      if (name === 'CNI_ARGS') d.args = undefined;
      if (name === 'CNI_COMMAND') return fail(4);
      if (!isAttach(d)) return undefined;
      if (name === 'CNI_NETNS' || name === 'CNI_ARGS') return d.base === 'DEL' ? undefined : fail(4);
      return fail(4);
    },
  }),
);

const badCommand = fc
  .oneof(fc.constantFrom('add', 'Add', 'ADD ', ' DEL', 'UPDATE', 'VERSIONS', ''), nastyString)
  .filter((v) => !(COMMANDS as readonly string[]).includes(v))
  .map(
    (v): Mutation => ({
      name: 'bad CNI_COMMAND',
      target: 'env/CNI_COMMAND',
      apply: (d) => {
        d.env.CNI_COMMAND = v;
        return fail(4);
      },
    }),
  );

const badContainerId = nastyString.map(
  (v): Mutation => ({
    name: 'bad CNI_CONTAINERID',
    target: 'env/CNI_CONTAINERID',
    apply: (d) => {
      d.env.CNI_CONTAINERID = v;
      if (!isAttach(d)) return undefined;
      // a well-formed id still fails ADD when it is too long for the host veth's owner alias
      if (CONTAINER_ID.test(v)) return d.base === 'ADD' && v.length > 200 ? fail() : { mustFail: false };
      return fail(4);
    },
  }),
);

const badIfName = nastyString.map(
  (v): Mutation => ({
    name: 'bad CNI_IFNAME',
    target: 'env/CNI_IFNAME',
    apply: (d) => {
      d.env.CNI_IFNAME = v;
      if (!isAttach(d)) return undefined;
      return DAEMON_IFNAME.test(v) && v !== '.' && v !== '..' ? { mustFail: false } : fail(4);
    },
  }),
);

const badNetns = nastyString.map(
  (v): Mutation => ({
    name: 'bad CNI_NETNS',
    target: 'env/CNI_NETNS',
    apply: (d) => {
      d.env.CNI_NETNS = v;
      if (d.base === 'ADD') return v === '' ? fail(4) : fail(5, 11);
      if (d.base === 'CHECK') return v === '' ? fail(4) : fail(3, 5, 104);
      return undefined; // DEL does not need the pod's netns; the others ignore CNI_NETNS
    },
  }),
);

const badPodArg = fc.tuple(fc.constantFrom('K8S_POD_NAME', 'K8S_POD_NAMESPACE'), nastyString).map(
  ([key, v]): Mutation => ({
    name: `bad ${key}`,
    target: `env/CNI_ARGS/${key}`,
    apply: (d) => {
      if (!d.args) return SKIPPED;
      d.args = d.args.map(([k, old]) => [k, k === key ? v : old]);
      if (!isAttach(d)) return undefined;
      if (d.base === 'DEL') return { mustFail: false, codes: [4] }; // ';' in v may break CNI_ARGS
      return fail(3, 4, 11);
    },
  }),
);

const malformedArgs = fc
  .constantFrom(
    'junk',
    '=x',
    'K8S_POD_NAME',
    'FOO=bar;K8S_POD_NAME=p;K8S_POD_NAMESPACE=default',
    'IgnoreUnknown=maybe;K8S_POD_NAME=p;K8S_POD_NAMESPACE=default',
    ';;=;;',
    'K8S_POD_NAME=p;K8S_POD_NAMESPACE=default;x',
  )
  .map(
    (v): Mutation => ({
      name: 'malformed CNI_ARGS',
      target: 'env/CNI_ARGS',
      apply: (d) => {
        d.args = undefined;
        d.env.CNI_ARGS = v;
        return isAttach(d) ? fail(4) : undefined;
      },
    }),
  );

const notJson = fc
  .oneof(
    fc.constantFrom(
      '',
      '{',
      '}',
      'null',
      '[]',
      '1',
      '"str"',
      'true',
      '{"cniVersion":',
      '\uFEFF{}',
      "{'a':1}",
    ),
    fc.string({ maxLength: 200, unit: 'binary' }),
    fc.nat(10_000),
  )
  .map(
    (v): Mutation => ({
      name: 'stdin not a JSON object',
      target: 'stdin',
      apply: (d) => {
        if (typeof v === 'number') {
          // a valid configuration cut short: never valid JSON
          const whole = serialise(d.conf);
          d.rawStdin = whole.slice(0, v % whole.length);
        } else d.rawStdin = v;
        if (d.base === 'VERSION') return undefined;
        let parsed: unknown;
        try {
          parsed = JSON.parse(d.rawStdin);
        } catch {
          return fail(6);
        }
        // the random string may happen to be valid JSON: an object without cniVersion is 0.1.0
        return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? fail(1) : fail(6);
      },
    }),
  );

const badVersion = fc
  .oneof(fc.constantFrom('0.1.0', '0.2.0', '2.0.0', '1.0', '1.0.0 ', 'v1.0.0', '', undefined), wrongJson)
  .filter((v) => !SUPPORTED_VERSIONS.includes(v as string))
  .map(
    (v): Mutation =>
      confMutation('unknown cniVersion', 'cniVersion', (d) => {
        if (v === undefined) delete d.conf.cniVersion;
        else d.conf.cniVersion = v;
        return d.base === 'VERSION' ? undefined : fail(1, 7);
      }),
  );

const badField = fc.tuple(fc.constantFrom('name', 'type', 'server_socket'), wrongJson).map(
  ([key, v]): Mutation =>
    confMutation(`wrong ${key}`, key, (d) => {
      d.conf[key] = v;
      if (d.base === 'VERSION') return undefined;
      // a string socket is refused as configuration (relative, too long) or not reached (no daemon there)
      if (key === 'server_socket') return typeof v === 'string' && v !== '' ? fail(7, 11) : fail(7);
      return typeof v === 'string' && v !== '' ? undefined : fail(7);
    }),
);

const otherSocket = fc.constantFrom(...TRAVERSAL, ...SHELL, 'x'.repeat(HUGE)).map(
  (v): Mutation =>
    confMutation('server_socket elsewhere', 'server_socket', (d) => {
      d.conf.server_socket = v;
      return d.base === 'VERSION' ? undefined : fail(7, 11);
    }),
);

const badTimeout = fc
  .oneof(
    fc.constantFrom(0, -1, -0.5, '5', null, [], {}, true, Number.MAX_VALUE),
    fc.double({ min: 1e-9, max: 1e-6 }),
  )
  .map(
    (v): Mutation =>
      confMutation('bad timeout_seconds', 'timeout_seconds', (d) => {
        d.conf.timeout_seconds = v;
        if (d.base === 'VERSION') return undefined;
        // a positive but tiny timeout is valid and times out (or the answer wins the race)
        return typeof v === 'number' && v > 0 && Number.isFinite(v)
          ? { mustFail: false, codes: [11] }
          : fail(7);
      }),
  );

const bigConf = fc.constantFrom(HUGE, 2_000_000).map(
  (size): Mutation =>
    confMutation(`config of ${size} bytes`, 'padding', (d) => {
      d.conf.padding = 'p'.repeat(size);
      // beyond the daemon's 1 MB body limit: refused, whatever the command
      return size > 1_000_000 && d.base !== 'VERSION' ? fail(6, 11) : undefined;
    }),
);

const deepConf = fc.constantFrom(1_000, 100_000).map(
  (depth): Mutation =>
    confMutation(`config nested ${depth} deep`, 'deep', (d) => {
      // spelled out when the config is serialised: JSON.stringify itself cannot nest that deep
      d.conf.deep = `${DEEP}${depth}`;
      return depth > 10_000 && d.base !== 'VERSION' ? fail(6) : undefined;
    }),
);

const badProvider = fc.oneof(fc.constantFrom(...TRAVERSAL, ...SHELL, 'x.y.ovn'), wrongJson).map(
  (v): Mutation =>
    confMutation('bad provider', 'provider', (d) => {
      d.conf.provider = v;
      // a provider is a secondary network: its annotations never come, so ADD waits and gives up
      if (typeof v !== 'string' || v === '' || v === 'ovn') return undefined;
      if (d.base === 'ADD') return fail(11);
      if (d.base === 'CHECK') return fail(3);
      return undefined;
    }),
);

const junkFields = fc
  .tuple(
    fc.constantFrom('prevResult', 'runtimeConfig', 'args', 'ipam', 'dns', '__proto__', 'constructor'),
    wrongJson,
  )
  .map(
    ([key, v]): Mutation =>
      confMutation(`junk ${key}`, key, (d) => {
        d.conf[key] = v;
        return undefined;
      }),
  );

const mutationArb = fc.oneof(
  dropVar,
  badCommand,
  badContainerId,
  badIfName,
  badNetns,
  badPodArg,
  malformedArgs,
  notJson,
  badVersion,
  badField,
  otherSocket,
  badTimeout,
  bigConf,
  deepConf,
  badProvider,
  junkFields,
);

// ---- cases -----------------------------------------------------------------------------------------------

/** The ovnk entry of the node's conflist as libcni hands it to the plugin: with the list's name and version. */
function validConf(cniVersion: string): Record<string, unknown> {
  const list = conflist(SOCKET) as { name: string; plugins: Record<string, unknown>[] };
  const plugin = list.plugins.find((p) => p.type === 'ovnk')!;
  // the installed wait for a restarting daemon (10 s) would make each case aimed at no daemon last that long
  return { ...plugin, daemon_wait_seconds: 0.2, name: list.name, cniVersion };
}

const draftArb = fc
  .record({
    base: fc.constantFrom<Command>('ADD', 'ADD', 'ADD', 'DEL', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'),
    realPod: fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x < 0.85),
    containerId: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 24, maxLength: 24 }),
    ifName: fc.constantFrom('eth0', 'eth0', 'net1'),
    delNetns: fc.boolean(),
    version: fc.constantFrom(...SUPPORTED_VERSIONS),
  })
  .map(({ base, realPod, containerId, ifName, delNetns, version }): Draft => {
    const cid = `fz${containerId}`;
    // STATUS needs 1.1.0; GC is only ever sent in a version too old for it, so no GC can sweep the node
    const v = base === 'STATUS' ? '1.1.0' : base === 'GC' ? '1.0.0' : version;
    const attach = ATTACH.includes(base);
    return {
      base,
      realPod,
      env: {
        CNI_COMMAND: base,
        CNI_CONTAINERID: attach ? cid : undefined,
        CNI_NETNS: attach ? (base === 'DEL' && delNetns ? '' : OWN_NETNS) : undefined,
        CNI_IFNAME: attach ? ifName : undefined,
      },
      args: attach
        ? [
            ['IgnoreUnknown', '1'],
            ['K8S_POD_NAMESPACE', 'default'],
            ['K8S_POD_NAME', realPod ? TARGET_POD : `fz-ghost-${containerId.slice(0, 8)}`],
            ['K8S_POD_INFRA_CONTAINER_ID', cid],
          ]
        : undefined,
      conf: validConf(v),
    };
  });

/** What the unmutated call gives: the real pod is added (ADD) but never was before (CHECK). */
function baseExpectation(d: Draft): Expectation {
  if (d.base === 'GC') return fail(1);
  if (d.base === 'ADD') return d.realPod ? { mustFail: false } : fail(11);
  if (d.base === 'CHECK') return d.realPod ? fail(104) : fail(3);
  return { mustFail: false };
}

const caseArb = fc.tuple(draftArb, fc.array(mutationArb, { minLength: 0, maxLength: 3 }));

/** The config as JSON, with DEEP placeholders spelled out as arrays nested that deep. */
function serialise(conf: Record<string, unknown>): string {
  return JSON.stringify(conf).replace(new RegExp(`"${DEEP}(\\d+)"`, 'g'), (_, n: string) => {
    const depth = Number(n);
    return `${'['.repeat(depth)}${']'.repeat(depth)}`;
  });
}

/** A 32-bit seed per case, so one case can be rebuilt without the ones before it. */
function caseSeed(seed: number, index: number): number {
  return Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b);
}

/** Case `index` of the run with `seed`; placeholders (@OWN_NETNS@, @TARGET_POD@...) still in it. */
export function fuzzCniPluginCase(seed: number, index: number): PluginCase {
  const [draft, mutations] = fc.sample(caseArb, { seed: caseSeed(seed, index), numRuns: 1 })[0]!;
  const base = baseExpectation(draft);
  const byTarget = new Map<string, Effect>();
  const names: string[] = [];
  for (const m of mutations) {
    // GC stays in a version too old for it: no mutation may make it a real sweep of the node
    if (draft.base === 'GC' && m.name === 'unknown cniVersion') continue;
    const e = m.apply(draft);
    if (e === SKIPPED) continue;
    names.push(m.name);
    for (const t of byTarget.keys()) if (t === m.target || t.startsWith(`${m.target}/`)) byTarget.delete(t);
    byTarget.set(m.target, e);
  }
  const effects = [...byTarget.values()].filter((e): e is Expectation => e !== undefined);
  if (draft.args) draft.env.CNI_ARGS = draft.args.map(([k, v]) => `${k}=${v}`).join(';');
  const env: Record<string, string> = {};
  // environment strings cannot hold NUL
  for (const [k, v] of Object.entries(draft.env)) if (v !== undefined) env[k] = v.replaceAll('\0', '');
  const mustFail = base.mustFail || effects.some((e) => e.mustFail);
  // the code is predictable when one thing decides it: the base call alone, or a single mutation
  // (a failing base call may fail first: its code is then as good)
  const deciding = effects.length === 0 ? base : effects.length === 1 ? effects[0]! : undefined;
  const codes =
    deciding?.codes && base.codes && deciding !== base ? [...deciding.codes, ...base.codes] : deciding?.codes;
  return {
    index,
    base: draft.base,
    mutations: names,
    env,
    stdin: draft.rawStdin ?? serialise(draft.conf),
    expect: { mustFail, codes },
  };
}

// ---- running ----------------------------------------------------------------------------------------------

interface NodeSnapshot {
  links: Set<string>;
  ports: Set<string>;
  netns: Set<string>;
}

function added(before: Set<string>, after: Set<string>): string[] {
  return [...after].filter((x) => !before.has(x));
}

function msOf(args: readonly string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  const v = i >= 0 ? Number(args[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

interface PluginRun {
  exitCode?: number;
  signal?: string;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

function short(s: string, n = 160): string {
  return JSON.stringify(s.length > n ? `${s.slice(0, n)}…(${s.length})` : s);
}

export async function fuzzCniPlugin(opts: CniPluginFuzzOptions): Promise<FuzzReport> {
  const { cluster, node, cases, seed } = opts;
  const report = emptyReport('cni-plugin');
  const nodeInfo = cluster.manifest.nodes.find((n) => n.name === node);
  const chassis = cluster.lab.chassis.find((c) => c.name === node);
  if (!nodeInfo || !chassis) throw new Error(`no node ${node} in the cluster`);
  const plugin = join(cluster.dir, 'cni', 'bin', 'ovnk');
  const daemon = `${node}/ovnk/daemon`;
  const daemonPid = cluster.servicePid(daemon);
  if (!daemonPid) throw new Error(`the daemon of ${node} is not running`);
  // a case may wait as long as the daemon waits for a pod's annotations or for ovn-installed
  const daemonArgs = cluster.manifest.daemonArgs;
  const boundMs =
    Math.max(
      msOf(daemonArgs, '--address-timeout-ms', 30_000),
      msOf(daemonArgs, '--install-timeout-ms', 30_000),
    ) + 10_000;
  const tag = `${process.pid.toString(36)}${(seed >>> 0).toString(36)}`.slice(-8);
  const scratch = mkdtempSync(join(tmpdir(), 'ovnk-fz-'));
  const marker = join(scratch, 'marker');
  const targetPod = `fz-target-${tag}`;
  const ours = (ns: string) => ns.startsWith(`ovnk-fz-${tag}-`) || ns.includes(cluster.lab.id);

  const snapshot = async (): Promise<NodeSnapshot> => ({
    links: new Set(await listLinks(nodeInfo.netns)),
    ports: new Set((await chassis.vsctl('list-ports', 'br-int')).split('\n').filter(Boolean)),
    netns: new Set(listNetns().filter(ours)),
  });
  const daemonAlive = () => isAlive(daemonPid) && cluster.servicePid(daemon) === daemonPid;

  const kc = new KubeConfig();
  kc.loadFromFile(cluster.manifest.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  await createTargetPod(core, targetPod, node, cluster.serviceNames().includes('kubelets'));
  try {
    const baseline = await snapshot();
    const fill = (s: string, ownNetns: string) =>
      s
        .replaceAll(OWN_NETNS, `/var/run/netns/${ownNetns}`)
        .replaceAll(TARGET_POD, targetPod)
        .replaceAll(MARKER, marker);
    const fillConf = (s: string) =>
      s.replaceAll(`"${SOCKET}"`, JSON.stringify(nodeInfo.socket)).replaceAll(MARKER, marker);
    const runPlugin = async (env: Record<string, string>, stdin: string): Promise<PluginRun> => {
      const r = await execa('ip', ['netns', 'exec', nodeInfo.netns, plugin], {
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
        extendEnv: false,
        input: stdin,
        reject: false,
        stripFinalNewline: false,
        timeout: boundMs,
        maxBuffer: 16_000_000,
      });
      return {
        exitCode: r.exitCode,
        signal: r.signal,
        timedOut: r.timedOut,
        stdout: r.stdout,
        stderr: r.stderr,
      };
    };
    /** New links, ports or namespaces since the baseline, and anything in the case's own netns but lo. */
    const leftovers = async (ownNetns?: string): Promise<string[]> => {
      const now = await snapshot();
      const left = [
        ...added(baseline.links, now.links).map((l) => `link ${l}`),
        ...added(baseline.ports, now.ports).map((p) => `port ${p}`),
        ...added(baseline.netns, now.netns)
          .filter((n) => n !== ownNetns)
          .map((n) => `netns ${n}`),
      ];
      if (ownNetns && listNetns().includes(ownNetns))
        left.push(...(await listLinks(ownNetns)).filter((l) => l !== 'lo').map((l) => `${ownNetns}: ${l}`));
      return left;
    };

    for (let i = 0; i < cases; i++) {
      const c = fuzzCniPluginCase(seed, i);
      const where = `seed ${seed} case ${i} (${c.base}; ${c.mutations.join(', ') || 'unmutated'})`;
      const ownNetns = `ovnk-fz-${tag}-${i}`;
      const env = Object.fromEntries(Object.entries(c.env).map(([k, v]) => [k, fill(v, ownNetns)]));
      const stdin = fillConf(c.stdin);
      const needsNetns = Object.values(c.env).some((v) => v.includes(OWN_NETNS));
      if (needsNetns) await addNetns(ownNetns);
      report.cases++;
      try {
        const run = await runPlugin(env, stdin);
        const outcome = judge(c, run);
        if (outcome.kind !== 'ok') recordFailure(report, outcome.kind, `${where}: ${outcome.why}`);
        if (c.base === 'ADD' || env.CNI_COMMAND === 'ADD') {
          if (outcome.succeeded) {
            // a real attachment: undo it, and it must go without a trace
            const del = await runPlugin({ ...env, CNI_COMMAND: 'DEL' }, stdin);
            if (del.exitCode !== 0)
              recordFailure(
                report,
                'violations',
                `${where}: DEL after a successful ADD failed: ${short(del.stdout)}`,
              );
          }
          const left = await leftovers(needsNetns ? ownNetns : undefined);
          if (left.length > 0)
            recordFailure(report, 'violations', `${where}: left behind ${left.join(', ')}`);
        }
      } finally {
        if (needsNetns) await delNetns(ownNetns);
      }
      if (!daemonAlive()) {
        recordFailure(report, 'crashes', `${where}: the daemon (pid ${daemonPid}) is gone`);
        break;
      }
    }

    const left = await leftovers();
    if (left.length > 0)
      recordFailure(report, 'violations', `seed ${seed}: after the run: ${left.join(', ')}`);
    if (existsSync(marker))
      recordFailure(
        report,
        'violations',
        `seed ${seed}: a shell ran a command from a fuzzed value (${marker})`,
      );
  } finally {
    await core
      .deleteNamespacedPod({ namespace: 'default', name: targetPod, gracePeriodSeconds: 0 })
      .catch(() => {});
    rmSync(scratch, { recursive: true, force: true });
  }
  return report;
}

type Judgement = { kind: 'ok' | 'crashes' | 'hangs' | 'violations'; why: string; succeeded: boolean };

/** One run against the CNI output rules and the case's expectation. */
function judge(c: PluginCase, run: PluginRun): Judgement {
  const verdict = (kind: Judgement['kind'], why: string, succeeded = false): Judgement => ({
    kind,
    why,
    succeeded,
  });
  if (run.timedOut) return verdict('hangs', 'no exit within the bound');
  if (run.signal) return verdict('crashes', `killed by ${run.signal}; stderr ${short(run.stderr)}`);
  if (run.exitCode !== 0 && run.exitCode !== 1)
    return verdict('crashes', `exit code ${run.exitCode}; stderr ${short(run.stderr)}`);
  if (/\n\s+at |Uncaught|ReferenceError|TypeError/.test(run.stderr))
    return verdict('crashes', `a stack trace on stderr ${short(run.stderr, 400)}`);
  const command = c.env.CNI_COMMAND;
  let doc: Record<string, unknown> | undefined;
  if (run.stdout !== '') {
    if (!run.stdout.endsWith('\n') || run.stdout.trimEnd().includes('\n'))
      return verdict('violations', `stdout is not one JSON document: ${short(run.stdout)}`);
    try {
      doc = JSON.parse(run.stdout) as Record<string, unknown>;
    } catch {
      return verdict('violations', `stdout is not JSON: ${short(run.stdout)}`);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
      return verdict('violations', `stdout is not a JSON object: ${short(run.stdout)}`);
  }
  if (run.exitCode === 1) {
    if (!doc) return verdict('violations', 'exit 1 without an error document');
    const keysOk = Object.keys(doc).every((k) => ['cniVersion', 'code', 'msg', 'details'].includes(k));
    if (
      !keysOk ||
      typeof doc.cniVersion !== 'string' ||
      typeof doc.msg !== 'string' ||
      !Number.isInteger(doc.code)
    )
      return verdict('violations', `not a CNI error: ${short(run.stdout)}`);
    const code = doc.code as number;
    if (code === BUG_CODE) return verdict('crashes', `code 999 (a bug): ${short(run.stdout, 400)}`);
    if (!DEFINED_CODES.has(code))
      return verdict('violations', `undefined code ${code}: ${short(run.stdout)}`);
    if (c.expect.codes && !c.expect.codes.includes(code))
      return verdict(
        'violations',
        `code ${code}, expected one of ${c.expect.codes.join('/')}: ${short(doc.msg)}`,
      );
    return verdict('ok', '');
  }
  if (c.expect.mustFail)
    return verdict('violations', `succeeded but must fail; stdout ${short(run.stdout)}`, true);
  if (command === 'ADD') {
    const ips = doc?.ips;
    const valid =
      typeof doc?.cniVersion === 'string' &&
      Array.isArray(ips) &&
      ips.length > 0 &&
      ips.every((ip) => typeof ip === 'object' && ip !== null && typeof ip.address === 'string');
    if (!valid)
      return verdict('violations', `ADD succeeded without a valid result: ${short(run.stdout)}`, true);
    return verdict('ok', '', true);
  }
  if (command === 'VERSION') {
    if (!Array.isArray(doc?.supportedVersions))
      return verdict('violations', `VERSION answered ${short(run.stdout)}`);
    return verdict('ok', '');
  }
  if (run.stdout !== '')
    return verdict('violations', `${command} succeeded with output ${short(run.stdout)}`);
  return verdict('ok', '', true);
}

/** The pod the fuzzer's valid ADDs attach: real and addressed, so the daemon goes all the way with them. */
async function createTargetPod(
  core: CoreV1Api,
  name: string,
  node: string,
  kubelets: boolean,
): Promise<void> {
  await core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name, namespace: 'default' },
      spec: { nodeName: node, containers: [{ name: 'c', image: 'pause' }] },
    },
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const pod = await core.readNamespacedPod({ namespace: 'default', name });
    // with the lab kubelets on, the pod also gets its own sandbox: wait for it, so the baseline has it
    if (isAddressed(pod.metadata?.annotations) && (!kubelets || pod.status?.phase === 'Running')) return;
    if (Date.now() > deadline) throw new Error(`pod ${name} was not addressed within 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
