// Fuzzes the node daemon's CNI socket with raw bytes (net.connect, no HTTP client to tidy things up): random
// bytes, bad request lines, unknown methods and paths, huge headers, wrong or missing Content-Length,
// chunked garbage, bodies that are not JSON, JSON of the wrong shape or types, bodies beyond the 1 MB limit,
// and connections left half-sent. Per case the daemon must answer 4xx (a JSON CNI error, or the bare 4xx of
// the HTTP parser) or close the connection, within a bound, and stay alive; while a half-sent connection is
// open another client must still be served; at the end a valid request must still work. No generated
// request is a valid CNI call (the one exception, STATUS, only reads): each carries at least one defect.
// Every case is rebuilt from (seed, index): daemonSocketCase(seed, index) shows one for a replay.
import { connect } from 'node:net';
import fc from 'fast-check';
import { emptyReport, type FuzzReport, recordFailure } from './report.ts';

export interface DaemonSocketFuzzOptions {
  socket: string;
  cases: number;
  seed: number;
  isDaemonAlive: () => boolean;
}

export interface SocketCase {
  index: number;
  kind: string;
  /** What is written, in one go. */
  bytes: Buffer;
  /** The request is unfinished on purpose: another client must be served while it is open. */
  halfSent: boolean;
  /** The request may be a STATUS call, which can legitimately answer 200 {} (or 500 with code 50). */
  mayBeStatus: boolean;
}

/** How long the daemon has to answer a valid STATUS, or to answer or close once a request has ended. */
const CASE_BOUND_MS = 5_000;
const CNI = '/api/v1/cni';
const COMMANDS = ['add', 'del', 'check', 'gc', 'status'] as const;

const http = (head: string, body: Buffer | string = ''): Buffer =>
  Buffer.concat([Buffer.from(head, 'latin1'), Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8')]);

function post(path: string, body: string | Buffer, headers: string[] = []): Buffer {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  return http(
    `POST ${path} HTTP/1.1\r\nHost: ovnk\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n${headers
      .map((h) => `${h}\r\n`)
      .join('')}\r\n`,
    b,
  );
}

/** A valid request body for the command, for the defects below to spoil. */
function validBody(command: (typeof COMMANDS)[number]): Record<string, unknown> {
  return {
    command: command.toUpperCase(),
    cniVersion: command === 'gc' || command === 'status' ? '1.1.0' : '1.0.0',
    containerId: 'fzsock0000000000',
    netns: '/var/run/netns/ovnk-fz-sock-absent',
    ifName: 'eth0',
    podName: 'fz-sock-ghost',
    podNamespace: 'default',
    podUid: '',
    config: { cniVersion: '1.0.0', name: 'ovnk', type: 'ovnk', server_socket: '/x' },
  };
}

/** Values no field accepts: wrong types, and strings no container id can be. */
const badValue = fc.oneof(
  fc.constantFrom(0, -1, 1.5, true, null, [], {}, ['a'], { a: 1 }),
  fc.constantFrom('', '../../etc', '/', 'a;touch /tmp/x', '$(id)', '`id`', 'a|b', 'a\nb', '\u0000', ' '),
  fc.constantFrom('x'.repeat(100_000), '😀'.repeat(1000)),
);
const anyJson = fc.jsonValue({ maxDepth: 4 });

const randomBytes = fc.uint8Array({ minLength: 1, maxLength: 4_000 }).map((a) => ({
  kind: 'random bytes',
  bytes: Buffer.from(a),
}));

const badRequestLine = fc
  .oneof(
    fc.constantFrom(
      'GET',
      `POST ${CNI}/add`,
      `POST ${CNI}/add HTTP/9.9`,
      `POST ${CNI}/add HTTP/1.1 extra`,
      'POST  HTTP/1.1',
      ' POST / HTTP/1.1',
      'POST\t/\tHTTP/1.1',
      `POST ${CNI}/add\u0000 HTTP/1.1`,
      `POST ${CNI}/a dd HTTP/1.1`,
      'HTTP/1.1 200 OK',
      'PRI * HTTP/2.0',
      '\u0016\u0003\u0001\u0002\u0000\u0001',
    ),
    fc.string({ maxLength: 200, unit: 'binary' }),
  )
  .map((line) => ({ kind: 'bad request line', bytes: http(`${line}\r\nHost: ovnk\r\n\r\n`) }));

const unknownRoute = fc
  .tuple(
    fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'XYZ', 'POST'),
    fc.constantFrom(
      '/',
      '/api',
      `${CNI}`,
      `${CNI}/`,
      `${CNI}/unknown`,
      `${CNI}/version`,
      `${CNI}/add/x`,
      `${CNI}/..%2fgc`,
      `${CNI}/%00`,
      `${CNI}/%`,
      '/../../etc/passwd',
      '*',
      `/${'x'.repeat(8_000)}`,
      `${CNI}/${'a'.repeat(8_000)}`,
      'http://ovnk/',
    ),
    fc.constantFrom(...COMMANDS),
    fc.boolean(),
  )
  .map(([method, path, command, knownPath]) => {
    // a known path with a method other than POST, or an unknown path with any method
    const target = method !== 'POST' && knownPath ? `${CNI}/${command}` : path;
    return {
      kind: `${method} on a route that does not take it`,
      bytes: http(`${method} ${target} HTTP/1.1\r\nHost: ovnk\r\nContent-Length: 2\r\n\r\n{}`),
    };
  });

const hugeHeaders = fc.constantFrom('one', 'many').map((how) => ({
  kind: `huge headers (${how})`,
  bytes: http(
    `POST ${CNI}/status HTTP/1.1\r\nHost: ovnk\r\n${
      how === 'one' ? `X-Big: ${'b'.repeat(100_000)}\r\n` : 'X-H: v\r\n'.repeat(5_000)
    }Content-Length: 2\r\n\r\n{}`,
  ),
}));

const badLength = fc
  .tuple(
    fc.constantFrom(...COMMANDS),
    fc.constantFrom(
      'missing',
      '-1',
      'abc',
      '1e3',
      '0x10',
      '99999999999999999999',
      'duplicate',
      'short',
      'long',
      ' 5',
    ),
  )
  .map(([command, how]) => {
    const body = JSON.stringify({ ...validBody(command), containerId: 42 });
    const cl =
      how === 'missing'
        ? ''
        : how === 'duplicate'
          ? `Content-Length: ${body.length}\r\nContent-Length: ${body.length + 1}\r\n`
          : how === 'short'
            ? `Content-Length: ${Math.floor(body.length / 2)}\r\n`
            : how === 'long'
              ? `Content-Length: ${body.length + 100}\r\n`
              : `Content-Length: ${how}\r\n`;
    return {
      kind: `Content-Length ${how}`,
      bytes: http(
        `POST ${CNI}/${command} HTTP/1.1\r\nHost: ovnk\r\nContent-Type: application/json\r\n${cl}\r\n`,
        body,
      ),
      // without a usable length the body is none and the request reaches the route with no JSON
      mayBeStatus: command === 'status',
    };
  });

const chunkedGarbage = fc
  .tuple(
    fc.constantFrom(...COMMANDS),
    fc.constantFrom(
      'zz\r\n{}\r\n0\r\n\r\n',
      'ffffffffffffffff\r\n{}\r\n0\r\n\r\n',
      '2\r\n{}\r\n',
      '-1\r\n{}\r\n0\r\n\r\n',
      '2;ext=\u0001\r\n{}\r\n0\r\n\r\n',
      '5\r\n{}\r\n0\r\n\r\n',
      '2\r\n[]\r\n0\r\n\r\n',
      '1\r\n{\r\n1\r\n}\r\n0\r\nX-Trailer: \u0000\r\n\r\n',
    ),
    fc.constantFrom('chunked', 'chunked, gzip', 'gzip, chunked', 'Chunked', 'chunked\r\nContent-Length: 2'),
  )
  .map(([command, body, te]) => ({
    kind: `chunked garbage (${te.split('\r')[0]})`,
    bytes: http(
      `POST ${CNI}/${command} HTTP/1.1\r\nHost: ovnk\r\nContent-Type: application/json\r\nTransfer-Encoding: ${te}\r\n\r\n`,
      body,
    ),
    // '{}' sent whole in chunks is an empty request: STATUS takes it
    mayBeStatus: command === 'status',
  }));

const notJson = fc
  .tuple(
    fc.constantFrom(...COMMANDS),
    fc.oneof(
      fc.constantFrom(
        '{',
        '{"command":',
        "{'a':1}",
        '\uFEFF{}',
        'NaN',
        'undefined',
        '{"a":1}}',
        '['.repeat(100_000),
      ),
      fc.string({ maxLength: 500, unit: 'binary' }),
    ),
    fc.constantFrom(
      'application/json',
      'text/plain',
      'application/json; charset=utf-16',
      'application/x-www-form-urlencoded',
    ),
  )
  .map(([command, body, type]) => ({
    kind: `body not JSON (${type})`,
    bytes: http(
      `POST ${CNI}/${command} HTTP/1.1\r\nHost: ovnk\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
      body,
    ),
    // a random string may still be valid JSON, which STATUS accepts when it is an object
    mayBeStatus: command === 'status',
  }));

/** Valid JSON that is not a valid request: a non-object, or a request with one required field spoiled. */
const wrongShape = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...COMMANDS),
      anyJson.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
    )
    .map(([command, v]) => ({
      kind: 'JSON that is not an object',
      bytes: post(`${CNI}/${command}`, JSON.stringify(v)),
    })),
  fc
    .tuple(
      fc.constantFrom('add', 'check', 'del'),
      fc.constantFrom('containerId', 'ifName', 'netns', 'podName', 'podNamespace'),
      fc.oneof(badValue, fc.constant(undefined)),
      fc.dictionary(fc.string({ maxLength: 10 }), anyJson, { maxKeys: 3 }),
    )
    // DEL needs no netns or pod; spoil its container id instead (a 100 kB id is well-formed: not a defect)
    .map(([command, field, v, extra]) => {
      const spoiled = command === 'del' && !['containerId', 'ifName'].includes(field) ? 'containerId' : field;
      // the daemon checks the form of ids and interface names only; a netns or pod name that is a non-empty
      // string is well-formed (and fails later, as a 5xx CNI error): spoil those by type
      const formChecked = spoiled === 'containerId' || spoiled === 'ifName';
      const wellFormed =
        typeof v === 'string' && v !== '' && (!formChecked || /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(v));
      const value = wellFormed ? 42 : v;
      const body: Record<string, unknown> = { ...extra, ...validBody(command), [spoiled]: value };
      if (value === undefined) delete body[spoiled];
      return {
        kind: `${command} with a bad ${spoiled}`,
        bytes: post(`${CNI}/${command}`, JSON.stringify(body)),
      };
    }),
  fc
    .oneof(
      fc.constant(undefined),
      fc.constantFrom<unknown>({}, [1, 2], [{}], [{ containerID: 1, ifname: 'eth0' }], 'all', null, [
        { containerID: 'a' },
      ]),
    )
    .map((list) => {
      const body = validBody('gc');
      const config = { ...(body.config as Record<string, unknown>), 'cni.dev/valid-attachments': list };
      if (list === undefined) delete config['cni.dev/valid-attachments'];
      return {
        kind: 'gc with a bad valid-attachments',
        bytes: post(`${CNI}/gc`, JSON.stringify({ ...body, config })),
      };
    }),
);

const hugeBody = fc.constantFrom(...COMMANDS).map((command) => {
  const body = JSON.stringify({ ...validBody(command), containerId: 42, pad: 'p'.repeat(2_000_000) });
  return { kind: 'body beyond the limit', bytes: post(`${CNI}/${command}`, body) };
});

const halfSent = fc
  .constantFrom(
    `POST ${CNI}/status HTTP/1.1\r\nHost: ovnk\r\n`,
    `POST ${CNI}/add HTTP/1.1\r\nHost: ovnk\r\nContent-Length: 1000\r\n\r\n{"command":`,
    `POST ${CNI}/del HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"a"`,
    'POS',
  )
  .map((text) => ({ kind: 'half-sent request', bytes: http(text), halfSent: true }));

const caseArb = fc.oneof(
  { arbitrary: randomBytes, weight: 2 },
  { arbitrary: badRequestLine, weight: 2 },
  { arbitrary: unknownRoute, weight: 2 },
  { arbitrary: hugeHeaders, weight: 1 },
  { arbitrary: badLength, weight: 2 },
  { arbitrary: chunkedGarbage, weight: 2 },
  { arbitrary: notJson, weight: 2 },
  { arbitrary: wrongShape, weight: 4 },
  { arbitrary: hugeBody, weight: 1 },
  { arbitrary: halfSent, weight: 1 },
);

function caseSeed(seed: number, index: number): number {
  return Math.imul(seed ^ 0x27d4eb2f, 0x9e3779b1) + Math.imul(index + 1, 0xc2b2ae35);
}

export function daemonSocketCase(seed: number, index: number): SocketCase {
  const c = fc.sample(caseArb, { seed: caseSeed(seed, index), numRuns: 1 })[0]!;
  return {
    index,
    kind: c.kind,
    bytes: c.bytes,
    halfSent: 'halfSent' in c && c.halfSent === true,
    mayBeStatus: 'mayBeStatus' in c && c.mayBeStatus === true,
  };
}

/** How long the daemon has to answer a request it has whole (every defect here is found in milliseconds). */
const ANSWER_MS = 1_000;
/** Quiet after a complete response before the exchange counts as over (a pipelined second answer may follow). */
const QUIET_MS = 30;

/** One raw connection: bytes written as given, everything the daemon sends collected. */
class Conversation {
  private readonly conn;
  private readonly chunks: Buffer[] = [];
  closed = false;
  private wake = () => {};

  constructor(socket: string, bytes: Buffer) {
    this.conn = connect(socket);
    this.conn.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.wake();
    });
    // EPIPE/ECONNRESET while a big request is still being written: the daemon answered early and closed
    this.conn.on('error', () => undefined);
    this.conn.on('close', () => {
      this.closed = true;
      this.wake();
    });
    this.conn.write(bytes);
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /**
   * Until the daemon closes, or has sent complete responses and then nothing for QUIET_MS, or `ms` pass:
   * 'closed', 'answered' or 'silent'. Not half-closing first matters: node:http drops a pending answer when
   * the client half-closes.
   */
  async settle(ms: number): Promise<'closed' | 'answered' | 'silent'> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.closed) return 'closed';
      const { responses, rest } = parseResponses(this.received);
      const complete = responses.length > 0 && rest === '';
      const left = deadline - Date.now();
      if (left <= 0) return complete ? 'answered' : 'silent';
      const got = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), complete ? Math.min(QUIET_MS, left) : left);
        this.wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      if (!got && complete) return 'answered';
    }
  }

  /** Half-closes: the daemon sees the end of the request. */
  end(): void {
    this.conn.end();
  }

  destroy(): void {
    this.conn.destroy();
  }
}

interface Response {
  status: number;
  body: string;
  contentType: string;
}

/** The responses in what the daemon sent (it may answer a pipelined second request, or cut one short). */
function parseResponses(raw: Buffer): { responses: Response[]; rest: string } {
  const responses: Response[] = [];
  let at = 0;
  while (at < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const lines = raw.subarray(at, headEnd).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3}) /.exec(lines[0]!);
    if (!status) break;
    const headers = new Map(
      lines
        .slice(1)
        .map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    let bodyEnd = headEnd + 4;
    let body = '';
    if (headers.get('transfer-encoding') === 'chunked') {
      // the daemon does not chunk its answers to HTTP/1.0 clients, but does to 1.1 ones
      const parts: Buffer[] = [];
      for (;;) {
        const eol = raw.indexOf('\r\n', bodyEnd);
        if (eol < 0) return { responses, rest: raw.subarray(at).toString('latin1') };
        const size = Number.parseInt(raw.subarray(bodyEnd, eol).toString('latin1'), 16);
        bodyEnd = eol + 2 + size + 2;
        if (!(size > 0)) break;
        parts.push(raw.subarray(eol + 2, eol + 2 + size));
      }
      body = Buffer.concat(parts).toString('utf8');
    } else {
      const length = Number(headers.get('content-length') ?? 0);
      body = raw.subarray(bodyEnd, bodyEnd + length).toString('utf8');
      bodyEnd += length;
    }
    responses.push({ status: Number(status[1]), body, contentType: headers.get('content-type') ?? '' });
    at = bodyEnd;
  }
  return { responses, rest: raw.subarray(at).toString('latin1') };
}

/** Why a response breaks the rules, or undefined. */
function badResponse(r: Response, mayBeStatus: boolean): string | undefined {
  if (
    mayBeStatus &&
    ((r.status === 200 && r.body === '{}') || (r.status === 500 && /^\{"code":50,/.test(r.body)))
  )
    return undefined;
  if (r.status < 400 || r.status > 499) return `status ${r.status} ${JSON.stringify(r.body.slice(0, 200))}`;
  // the HTTP parser's own 4xx answers carry no body; ours carry a CNI error
  if (r.body === '') return undefined;
  try {
    const doc = JSON.parse(r.body) as { code?: unknown; msg?: unknown };
    if (Number.isInteger(doc.code) && typeof doc.msg === 'string') return undefined;
  } catch {
    // falls through
  }
  return `status ${r.status} without a CNI error body: ${JSON.stringify(r.body.slice(0, 200))}`;
}

const STATUS_REQUEST = post(
  `${CNI}/status`,
  JSON.stringify({ ...validBody('status'), containerId: '', ifName: '', netns: '' }),
  ['Connection: close'],
);

/** A valid STATUS over a fresh connection: answered 200 {}, or 50 (not ready yet) with a CNI error. */
async function statusWorks(socket: string): Promise<string | undefined> {
  const conv = new Conversation(socket, STATUS_REQUEST);
  try {
    const state = await conv.settle(CASE_BOUND_MS);
    const [r] = parseResponses(conv.received).responses;
    if (!r) return `no answer to a valid STATUS (${state} after ${CASE_BOUND_MS} ms)`;
    // 50: served, but not ready (e.g. no join address yet): an answer all the same
    const ready = r.status === 200 && r.body === '{}';
    if (!ready && !(r.status === 500 && /^\{"code":50,/.test(r.body)))
      return `a valid STATUS got ${r.status} ${r.body.slice(0, 200)}`;
    return undefined;
  } finally {
    conv.destroy();
  }
}

export async function fuzzDaemonSocket(opts: DaemonSocketFuzzOptions): Promise<FuzzReport> {
  const { socket, cases, seed, isDaemonAlive } = opts;
  const report = emptyReport('daemon-socket');
  const before = await statusWorks(socket);
  if (before) throw new Error(`the daemon does not serve before the run: ${before}`);
  for (let i = 0; i < cases; i++) {
    const c = daemonSocketCase(seed, i);
    const where = `seed ${seed} case ${i} (${c.kind})`;
    report.cases++;
    const conv = new Conversation(socket, c.bytes);
    try {
      let state = await conv.settle(c.halfSent ? 0 : ANSWER_MS);
      if (state === 'silent') {
        // waiting for the rest of a request: fine, as long as others are served meanwhile and the end of
        // the request (our half-close) is answered or closed at once
        const other = await statusWorks(socket);
        if (other) recordFailure(report, 'hangs', `${where}: while it was open: ${other}`);
        conv.end();
        state = await conv.settle(CASE_BOUND_MS);
        if (state === 'silent')
          recordFailure(
            report,
            'hangs',
            `${where}: neither answered nor closed ${CASE_BOUND_MS} ms after its end`,
          );
      }
      const { responses, rest } = parseResponses(conv.received);
      const bad = responses.map((r) => badResponse(r, c.mayBeStatus)).find((x) => x !== undefined);
      if (bad) recordFailure(report, 'violations', `${where}: ${bad}`);
      else if (rest !== '' && conv.closed)
        recordFailure(report, 'violations', `${where}: not HTTP: ${JSON.stringify(rest.slice(0, 200))}`);
    } finally {
      conv.destroy();
    }
    if (!isDaemonAlive()) {
      recordFailure(report, 'crashes', `${where}: the daemon is gone`);
      return report;
    }
  }
  const after = await statusWorks(socket);
  if (after) recordFailure(report, 'violations', `seed ${seed}: after the run: ${after}`);
  return report;
}
