// The built `ovnk` plugin run exactly as a runtime runs it (env + stdin, stdout read as CNI output), against a
// stand-in daemon: a node:http server on a unix socket in a tmp dir that records requests and answers what
// each test tells it to. Checks the contract of docs/cni-daemon-protocol.md and the CNI spec's output rules.
import { existsSync, linkSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { buildCniPlugin } from '../../../scripts/build-cni.ts';

interface Recorded {
  method: string;
  url: string;
  contentType: string | undefined;
  body: Record<string, unknown>;
}
type Handler = (req: Recorded, res: ServerResponse) => void;

const RESULT_100 = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eth0', mac: '0a:58:0a:10:00:05', sandbox: '/var/run/netns/cni-1' }],
  ips: [
    { address: '10.16.0.5/16', gateway: '10.16.0.1', interface: 0 },
    { address: 'fd00:10:16::5/64', gateway: 'fd00:10:16::1', interface: 0 },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '10.16.0.1' }],
  dns: {},
};
const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
// What a working daemon answers: ADD's result, `{}` for the rest.
const answerOk: Handler = (req, res) => json(res, 200, req.url.endsWith('/add') ? RESULT_100 : {});

let dir: string;
let plugin: string;
let socket: string;
let refusing: string;
let server: Server;
let requests: Recorded[] = [];
let handler: Handler = answerOk;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ovnk-cni-'));
  plugin = await buildCniPlugin(join(dir, 'bin'));
  socket = join(dir, 'daemon.sock');
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: Recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      };
      requests.push(rec);
      handler(rec, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  // A socket file nobody listens on: a hard link to a listening socket outlives the listener's close.
  const gone = createServer();
  const goneSocket = join(dir, 'gone.sock');
  await new Promise<void>((resolve) => gone.listen(goneSocket, resolve));
  refusing = join(dir, 'refusing.sock');
  linkSync(goneSocket, refusing);
  await new Promise<void>((resolve) => gone.close(() => resolve()));
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  requests = [];
  handler = answerOk;
});

const conf = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ cniVersion: '1.0.0', name: 'ovnk', type: 'ovnk', server_socket: socket, ...extra });
const POD_ARGS = 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=c1';
const ATTACH = {
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/cni-1',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
  CNI_ARGS: `${POD_ARGS};K8S_POD_UID=uid-1`,
};

interface Run {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** Runs the plugin as libcni does: a clean environment (PATH for the shebang) plus the CNI variables. */
async function invoke(env: Record<string, string>, stdin: string): Promise<Run> {
  const t0 = performance.now();
  const r = await execa(plugin, [], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    extendEnv: false,
    input: stdin,
    reject: false,
    stripFinalNewline: false,
    timeout: 15_000,
  });
  return {
    exitCode: r.exitCode,
    stdout: r.stdout,
    stderr: r.stderr,
    ms: performance.now() - t0,
    timedOut: r.timedOut,
  };
}

/** stdout must hold exactly one JSON document (plus its newline) and nothing else. */
function document(run: Run): Record<string, unknown> {
  expect(run.stdout.endsWith('\n')).toBe(true);
  expect(run.stdout.trimEnd()).not.toContain('\n');
  const doc = JSON.parse(run.stdout);
  expect(typeof doc === 'object' && doc !== null && !Array.isArray(doc)).toBe(true);
  return doc;
}

function expectError(run: Run, code: number, cniVersion = '1.0.0'): Record<string, unknown> {
  expect(run.exitCode, run.stderr).toBe(1);
  const doc = document(run);
  expect(doc).toMatchObject({ cniVersion, code, msg: expect.any(String) });
  expect(Object.keys(doc).every((k) => ['cniVersion', 'code', 'msg', 'details'].includes(k))).toBe(true);
  expect(run.stderr).toContain(`error ${code}`);
  return doc;
}

describe('VERSION', () => {
  test('answers in the version asked, needs nothing else, never calls the daemon', async () => {
    const supportedVersions = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
    const asked = await invoke({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}');
    expect(asked.exitCode).toBe(0);
    expect(document(asked)).toEqual({ cniVersion: '0.4.0', supportedVersions });
    const empty = await invoke({ CNI_COMMAND: 'VERSION' }, '');
    expect(empty.exitCode).toBe(0);
    expect(document(empty)).toEqual({ cniVersion: '1.0.0', supportedVersions });
    expect(requests).toEqual([]);
  });
});

describe('errors the plugin finds itself', () => {
  test('code 4: CNI_COMMAND missing or unknown', async () => {
    expectError(await invoke({ ...ATTACH }, conf()), 4);
    expectError(
      await invoke({ ...ATTACH, CNI_COMMAND: 'UPDATE' }, conf({ cniVersion: '0.3.1' })),
      4,
      '0.3.1',
    );
  });

  const needs: Record<string, string[]> = {
    ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'K8S_POD_NAME', 'K8S_POD_NAMESPACE'],
    CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'K8S_POD_NAME', 'K8S_POD_NAMESPACE'],
    DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  };
  for (const [command, names] of Object.entries(needs)) {
    test(`code 4: ${command} without each of ${names.join(', ')}`, async () => {
      for (const name of names) {
        const env: Record<string, string> = { ...ATTACH, CNI_COMMAND: command };
        if (name.startsWith('K8S_')) env.CNI_ARGS = env.CNI_ARGS!.replace(new RegExp(`${name}=[^;]*;?`), '');
        else delete env[name];
        const doc = expectError(await invoke(env, conf({ cniVersion: '0.4.0' })), 4, '0.4.0');
        expect(doc.msg).toContain(name);
      }
      expect(requests).toEqual([]);
    });
  }

  test('code 4: CNI_ARGS malformed, or with unknown keys and no IgnoreUnknown', async () => {
    expectError(await invoke({ ...ATTACH, CNI_COMMAND: 'ADD', CNI_ARGS: 'K8S_POD_NAME' }, conf()), 4);
    const unknown = 'K8S_POD_NAME=p;K8S_POD_NAMESPACE=ns;FOO=bar';
    const doc = expectError(await invoke({ ...ATTACH, CNI_COMMAND: 'ADD', CNI_ARGS: unknown }, conf()), 4);
    expect(doc.msg).toContain('FOO');
  });

  test('code 6: stdin not JSON, or not an object', async () => {
    for (const stdin of ['', '{"cniVersion":', 'null', '[1]']) {
      expectError(await invoke({ ...ATTACH, CNI_COMMAND: 'ADD' }, stdin), 6);
    }
  });

  test('code 7: no server_socket; name or type missing', async () => {
    const doc = expectError(
      await invoke({ ...ATTACH, CNI_COMMAND: 'ADD' }, conf({ server_socket: undefined })),
      7,
    );
    expect(doc.msg).toContain('server_socket');
    expectError(await invoke({ ...ATTACH, CNI_COMMAND: 'DEL' }, conf({ name: undefined })), 7);
    expectError(await invoke({ ...ATTACH, CNI_COMMAND: 'ADD' }, conf({ type: 42 })), 7);
  });

  test('code 1: versions older than 0.3.0, unknown ones, or too old for STATUS/GC', async () => {
    for (const cniVersion of ['0.2.0', '2.0.0']) {
      const doc = expectError(await invoke({ ...ATTACH, CNI_COMMAND: 'ADD' }, conf({ cniVersion })), 1);
      expect(doc.msg).toContain(cniVersion);
    }
    expectError(await invoke({ CNI_COMMAND: 'GC' }, conf({ cniVersion: '1.0.0' })), 1);
    expect(requests).toEqual([]);
  });
});

describe('code 11: the daemon cannot be reached or does not answer in time', () => {
  test('socket missing', async () => {
    const doc = expectError(
      await invoke({ ...ATTACH, CNI_COMMAND: 'ADD' }, conf({ server_socket: join(dir, 'absent.sock') })),
      11,
    );
    expect(doc.details).toContain('ENOENT');
  });

  test('socket refusing', async () => {
    const doc = expectError(
      await invoke({ ...ATTACH, CNI_COMMAND: 'DEL' }, conf({ server_socket: refusing })),
      11,
    );
    expect(doc.details).toContain('ECONNREFUSED');
  });

  test('a daemon that starts listening within daemon_wait_seconds is reached: a restart does not fail the pod', async () => {
    const late = join(dir, 'late.sock');
    const lateServer = createServer((_req, res) => json(res, 200, RESULT_100));
    const listening = new Promise<void>((resolve) => {
      setTimeout(() => lateServer.listen(late, resolve), 600);
    });
    try {
      const run = await invoke(
        { ...ATTACH, CNI_COMMAND: 'ADD' },
        conf({ server_socket: late, daemon_wait_seconds: 5 }),
      );
      expect(run.exitCode, run.stdout).toBe(0);
      expect(run.ms).toBeGreaterThanOrEqual(600);
    } finally {
      await listening;
      await new Promise<void>((resolve) => lateServer.close(() => resolve()));
    }
  });

  test('a socket still refusing after daemon_wait_seconds is code 11, after that wait', async () => {
    const run = await invoke(
      { ...ATTACH, CNI_COMMAND: 'DEL' },
      conf({ server_socket: refusing, daemon_wait_seconds: 0.5 }),
    );
    expect(expectError(run, 11).details).toContain('ECONNREFUSED');
    expect(run.ms).toBeGreaterThanOrEqual(500);
  });

  test('daemon slower than timeout_seconds', async () => {
    let release = () => {};
    handler = (_req, res) => {
      const timer = setTimeout(() => json(res, 200, RESULT_100), 5_000);
      release = () => clearTimeout(timer);
    };
    const run = await invoke({ ...ATTACH, CNI_COMMAND: 'ADD' }, conf({ timeout_seconds: 0.4 }));
    release();
    const doc = expectError(run, 11);
    expect(doc.msg).toContain('0.4 s');
    expect(run.ms).toBeGreaterThanOrEqual(400);
    expect(run.ms).toBeLessThan(4_000);
    expect(requests).toHaveLength(1);
  });

  test('daemon dropping the connection without an answer', async () => {
    handler = (_req, res) => res.socket?.destroy();
    expectError(await invoke({ ...ATTACH, CNI_COMMAND: 'ADD' }, conf()), 11);
  });
});

describe('talking to the daemon', () => {
  test.each(['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'])('ADD called with %s', async (cniVersion) => {
    const stdin = conf({ cniVersion, prevResult: undefined, runtimeConfig: { portMappings: [] } });
    const run = await invoke({ ...ATTACH, CNI_COMMAND: 'ADD' }, stdin);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(requests).toEqual([
      {
        method: 'POST',
        url: '/api/v1/cni/add',
        contentType: 'application/json',
        body: {
          command: 'ADD',
          cniVersion,
          containerId: 'c1',
          netns: '/var/run/netns/cni-1',
          ifName: 'eth0',
          podName: 'web-0',
          podNamespace: 'default',
          podUid: 'uid-1',
          config: JSON.parse(stdin),
        },
      },
    ]);
    const legacy = cniVersion.startsWith('0.');
    expect(document(run)).toEqual({
      ...RESULT_100,
      cniVersion,
      ips: RESULT_100.ips.map((ip) =>
        legacy ? { version: ip.address.includes(':') ? '6' : '4', ...ip } : ip,
      ),
    });
  });

  test("the daemon's error is passed through with the caller's version", async () => {
    handler = (_req, res) =>
      json(res, 500, { code: 103, msg: 'port not installed in time', details: 'ovn-controller' });
    const run = await invoke({ ...ATTACH, CNI_COMMAND: 'ADD' }, conf({ cniVersion: '0.4.0' }));
    expect(run.exitCode).toBe(1);
    expect(document(run)).toEqual({
      cniVersion: '0.4.0',
      code: 103,
      msg: 'port not installed in time',
      details: 'ovn-controller',
    });
  });

  test('an answer written in pieces, read until the daemon closes', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const text = JSON.stringify(RESULT_100);
      res.write(text.slice(0, 10));
      setTimeout(() => res.end(text.slice(10)), 20);
    };
    const run = await invoke({ ...ATTACH, CNI_COMMAND: 'ADD' }, conf());
    expect(run.exitCode, run.stderr).toBe(0);
    expect(document(run)).toEqual(RESULT_100);
  });

  test('DEL with an empty CNI_NETNS and no pod args is forwarded and succeeds, printing nothing', async () => {
    const run = await invoke({ ...ATTACH, CNI_COMMAND: 'DEL', CNI_NETNS: '', CNI_ARGS: '' }, conf());
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      url: '/api/v1/cni/del',
      body: { command: 'DEL', containerId: 'c1', netns: '', ifName: 'eth0', podName: '', podNamespace: '' },
    });
  });

  test('CHECK is forwarded and prints nothing', async () => {
    const run = await invoke({ ...ATTACH, CNI_COMMAND: 'CHECK' }, conf({ prevResult: RESULT_100 }));
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(requests[0]).toMatchObject({
      url: '/api/v1/cni/check',
      body: { config: { prevResult: RESULT_100 } },
    });
  });

  test('GC forwards cni.dev/valid-attachments', async () => {
    const valid = [
      { containerID: 'c1', ifname: 'eth0' },
      { containerID: 'c2', ifname: 'eth0' },
    ];
    const run = await invoke(
      { CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' },
      conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': valid }),
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      url: '/api/v1/cni/gc',
      body: { command: 'GC', containerId: '', netns: '', config: { 'cni.dev/valid-attachments': valid } },
    });
  });

  test('STATUS: success prints nothing; "not available" (50) is passed through', async () => {
    const ok = await invoke({ CNI_COMMAND: 'STATUS' }, conf({ cniVersion: '1.1.0' }));
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('');
    expect(requests[0]).toMatchObject({ url: '/api/v1/cni/status', body: { command: 'STATUS', netns: '' } });
    handler = (_req, res) => json(res, 503, { code: 50, msg: 'ovn-controller is not connected' });
    const down = await invoke({ CNI_COMMAND: 'STATUS' }, conf({ cniVersion: '1.1.0' }));
    expect(down.exitCode).toBe(1);
    expect(document(down)).toEqual({ cniVersion: '1.1.0', code: 50, msg: 'ovn-controller is not connected' });
  });

  test('CNI_ARGS keys in any order, unknown ones ignored under IgnoreUnknown', async () => {
    const args = 'K8S_POD_UID=u9;FOO=bar;K8S_POD_NAME=db-1;IgnoreUnknown=1;K8S_POD_NAMESPACE=prod';
    const run = await invoke({ ...ATTACH, CNI_COMMAND: 'ADD', CNI_ARGS: args }, conf());
    expect(run.exitCode, run.stderr).toBe(0);
    expect(requests[0]!.body).toMatchObject({ podName: 'db-1', podNamespace: 'prod', podUid: 'u9' });
  });
});

test("the runtime's NODE_OPTIONS and NODE_EXTRA_CA_CERTS do not reach the plugin's node", async () => {
  // either would break this run: a --require of a missing file, a CA file that does not exist
  const inherited = {
    NODE_OPTIONS: `--require ${join(dir, 'absent.js')}`,
    NODE_EXTRA_CA_CERTS: join(dir, 'no.pem'),
  };
  const run = await invoke({ ...inherited, ...ATTACH, CNI_COMMAND: 'ADD' }, conf());
  expect(run.exitCode, run.stderr).toBe(0);
  expect(run.stderr).toBe('');
  expect(document(run)).toEqual(RESULT_100);
});

// Debian's containernetworking-plugins (Go, libcni's types) when installed: the chained plugin of our conflist.
const PORTMAP = '/usr/lib/cni/portmap';
test.skipIf(!existsSync(PORTMAP))(
  'the real portmap plugin reads our ADD result as its prevResult in every version it knows',
  async () => {
    for (const cniVersion of ['0.3.0', '0.3.1', '0.4.0', '1.0.0']) {
      const ours = document(await invoke({ ...ATTACH, CNI_COMMAND: 'ADD' }, conf({ cniVersion })));
      // with no port mappings portmap only decodes prevResult and prints it back, in the same version
      const chained = await execa(PORTMAP, [], {
        env: { ...ATTACH, CNI_COMMAND: 'ADD', CNI_PATH: '/usr/lib/cni' },
        extendEnv: false,
        input: JSON.stringify({
          cniVersion,
          name: 'ovnk',
          type: 'portmap',
          capabilities: { portMappings: true },
          snat: true,
          prevResult: ours,
        }),
        reject: false,
      });
      expect(chained.exitCode, chained.stdout + chained.stderr).toBe(0);
      expect(JSON.parse(chained.stdout)).toEqual(ours);
    }
  },
);

describe('property: any env and stdin give a CNI error with a known code or a success, never a crash', () => {
  const KNOWN_CODES = new Set([1, 4, 6, 7, 11]);
  // env values cannot hold NUL
  const text = fc.string({ maxLength: 20 }).map((s) => s.replaceAll('\0', ''));
  const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  const pair = fc.oneof(
    fc.constantFrom(
      'K8S_POD_NAME=p',
      'K8S_POD_NAMESPACE=ns',
      'K8S_POD_UID=u',
      'IgnoreUnknown=1',
      'IgnoreUnknown=0',
    ),
    fc.constantFrom('FOO=bar', 'junk', '=x', ''),
    text,
  );
  const envArb = fc.record({
    CNI_COMMAND: maybe(fc.oneof(fc.constantFrom('ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'), text)),
    CNI_CONTAINERID: maybe(fc.oneof(fc.constant('c1'), text)),
    CNI_NETNS: maybe(fc.oneof(fc.constant('/var/run/netns/x'), fc.constant(''), text)),
    CNI_IFNAME: maybe(fc.oneof(fc.constant('eth0'), text)),
    CNI_ARGS: maybe(fc.array(pair, { maxLength: 6 }).map((ps) => ps.join(';'))),
  });
  const confArb = fc
    .record(
      {
        cniVersion: fc.oneof(
          fc.constantFrom('0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0', '0.2.0', ''),
          fc.jsonValue(),
        ),
        name: fc.oneof(fc.constant('ovnk'), fc.jsonValue()),
        type: fc.oneof(fc.constant('ovnk'), fc.jsonValue()),
        server_socket: fc.oneof(fc.constant('SOCKET'), fc.constant('REFUSING'), text, fc.jsonValue()),
        timeout_seconds: fc.oneof(fc.constantFrom(0.5, 5, 0, -1), fc.jsonValue()),
        prevResult: fc.jsonValue(),
      },
      { requiredKeys: [] },
    )
    .map((c) =>
      JSON.stringify(c)
        .replace('"SOCKET"', JSON.stringify(socket))
        .replace('"REFUSING"', JSON.stringify(refusing)),
    );
  const stdinArb = fc.oneof(
    confArb,
    confArb.chain((s) => fc.nat(s.length).map((n) => s.slice(0, n))),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 40 }),
  );

  test('60 random invocations', async () => {
    await fc.assert(
      fc.asyncProperty(envArb, stdinArb, async (envParts, stdin) => {
        const env = Object.fromEntries(Object.entries(envParts).filter(([, v]) => v !== undefined)) as Record<
          string,
          string
        >;
        const run = await invoke(env, stdin);
        expect(run.timedOut).toBe(false);
        expect(run.stderr).not.toMatch(/\n\s+at |Uncaught|ReferenceError|TypeError/);
        expect([0, 1]).toContain(run.exitCode);
        if (run.exitCode === 1) {
          const doc = document(run);
          expect(KNOWN_CODES.has(doc.code as number), JSON.stringify(doc)).toBe(true);
          expect(typeof doc.cniVersion).toBe('string');
          expect(typeof doc.msg).toBe('string');
        } else if (env.CNI_COMMAND === 'ADD') {
          expect(document(run)).toMatchObject({ ips: expect.any(Array) });
        } else if (env.CNI_COMMAND === 'VERSION') {
          expect(document(run)).toMatchObject({ supportedVersions: expect.any(Array) });
        } else {
          expect(run.stdout).toBe('');
        }
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});
