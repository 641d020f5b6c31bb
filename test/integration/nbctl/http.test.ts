// The debug endpoint over real HTTP on loopback: the routes, the formats, read-only, and the bearer
// token a non-loopback bind requires.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  BindSecurityError,
  checkBindSecurity,
  isLoopbackBind,
  nbctlRouter,
  securityMiddleware,
  vsctlRouter,
} from '../../../src/nbctl/http.ts';
import { runView } from '../../../src/nbctl/views.ts';
import { encodeRow } from '../../../src/ovsdb/datum.ts';
import type { Tables as OvsTables } from '../../../src/ovsdb/generated/open-vswitch.ts';
import { Replica } from '../../../src/ovsdb/replica.ts';
import { parseSchema } from '../../../src/ovsdb/schema.ts';
import { nbReplica, uuid } from '../../unit/nbctl/fixture.ts';

const TOKEN = 'a-long-enough-test-token';

const nb = nbReplica({
  Logical_Switch: { [uuid(1)]: { name: 'sw1', ports: [uuid(2)] } },
  Logical_Switch_Port: { [uuid(2)]: { name: 'pod1', addresses: ['0a:00:00:00:00:01 10.16.0.5'] } },
  Logical_Router: { [uuid(3)]: { name: 'r1', static_routes: [uuid(4), uuid(5)] } },
  Logical_Router_Static_Route: {
    [uuid(4)]: { ip_prefix: '0.0.0.0/0', nexthop: '100.64.0.1' },
    [uuid(5)]: { ip_prefix: '0.0.0.0/0', nexthop: '192.168.0.1', route_table: 't' },
  },
});

function ovsReplica(): Replica<OvsTables> {
  const schema = parseSchema(JSON.parse(readFileSync('/usr/share/openvswitch/vswitch.ovsschema', 'utf8')));
  const replica = new Replica<OvsTables>(
    schema,
    Object.fromEntries([...schema.tables.keys()].map((t) => [t, undefined])),
  );
  const row = (table: string, r: Record<string, unknown>) => ({
    initial: encodeRow(schema.tables.get(table)!, r),
  });
  replica.reset({
    Open_vSwitch: { [uuid(10)]: row('Open_vSwitch', { bridges: [uuid(11)], ovs_version: '3.1.0' }) },
    Bridge: { [uuid(11)]: row('Bridge', { name: 'br-int', ports: [uuid(12)], fail_mode: 'secure' }) },
    Port: { [uuid(12)]: row('Port', { name: 'br-int', interfaces: [uuid(13)] }) },
    Interface: { [uuid(13)]: row('Interface', { name: 'br-int', type: 'internal' }) },
  });
  return replica;
}

interface Server {
  url: string;
  close(): Promise<void>;
}

function serve(app: express.Express): Promise<Server> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

let available = true;
let open: Server;
let guarded: Server;

beforeAll(async () => {
  const app = express();
  app.use(nbctlRouter(() => (available ? nb : undefined)));
  app.use(vsctlRouter(ovsReplica()));
  open = await serve(app);
  // as the controller would mount it on 0.0.0.0 (the test still only listens on loopback)
  const exposed = express();
  exposed.use(securityMiddleware({ bind: '0.0.0.0:10660', token: TOKEN }));
  exposed.use(nbctlRouter(nb));
  guarded = await serve(exposed);
});
afterAll(async () => {
  await open?.close();
  await guarded?.close();
});

describe('routes', () => {
  test('a view as text: what runView prints, as text/plain', async () => {
    const res = await fetch(`${open.url}/nbctl/lsp-list?arg=sw1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe(runView(nb, 'lsp-list', ['sw1'], 'text'));
    expect(await (await fetch(`${open.url}/nbctl/show`)).text()).toBe(runView(nb, 'show', [], 'text'));
  });

  test('format=json, and repeated args with an option first', async () => {
    const res = await fetch(`${open.url}/nbctl/lr-route-list?arg=--route-table=t&arg=r1&format=json`);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { ipv4: { nexthop: string }[] };
    expect(body.ipv4.map((r) => r.nexthop)).toEqual(['192.168.0.1']);
  });

  test('list and find', async () => {
    const list = await fetch(`${open.url}/nbctl/list/Logical_Switch_Port?arg=pod1&columns=name,addresses`);
    expect(await list.text()).toBe(
      'name                : pod1\naddresses           : ["0a:00:00:00:00:01 10.16.0.5"]\n',
    );
    const find = await fetch(`${open.url}/nbctl/find/Logical_Switch?where=name=sw1&format=json`);
    expect(((await find.json()) as { rows: { _uuid: string }[] }).rows.map((r) => r._uuid)).toEqual([
      uuid(1),
    ]);
    const none = await fetch(
      `${open.url}/nbctl/find/Logical_Switch?where=${encodeURIComponent('name="x y"')}`,
    );
    expect(await none.text()).toBe('');
  });

  test('the index lists the views', async () => {
    const index = (await (await fetch(`${open.url}/nbctl?format=json`)).json()) as Record<string, string>;
    expect(index['lr-route-list']).toBe('[--route-table=TABLE] lr-route-list ROUTER');
    expect(await (await fetch(`${open.url}/nbctl`)).text()).toContain('lsp-list SWITCH\n');
  });

  test('the node view: /vsctl/show', async () => {
    expect(await (await fetch(`${open.url}/vsctl/show`)).text()).toBe(
      `${uuid(10)}\n    Bridge br-int\n        fail_mode: secure\n        Port br-int\n            Interface br-int\n                type: internal\n    ovs_version: "3.1.0"\n`,
    );
  });

  test("errors: ovn-nbctl's text with a status, or a JSON error", async () => {
    const unknown = await fetch(`${open.url}/nbctl/nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toBe("ovn-nbctl: unknown command 'nope'; use --help for help\n");
    const missing = await fetch(`${open.url}/nbctl/lr-route-list?arg=x&format=json`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: { code: 'NOT_FOUND', message: 'ovn-nbctl: x: router name not found' },
    });
    expect((await fetch(`${open.url}/nbctl/lsp-list`)).status).toBe(400);
    expect((await fetch(`${open.url}/vsctl/list/Bridge?arg=nope`)).status).toBe(404);
    available = false;
    try {
      expect((await fetch(`${open.url}/nbctl/show`)).status).toBe(503);
    } finally {
      available = true;
    }
  });

  test('read-only: every other method is 405', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      for (const path of ['/nbctl/show', '/nbctl/list/Logical_Switch', '/vsctl/show', '/nbctl']) {
        const res = await fetch(`${open.url}${path}`, {
          method,
          body: method === 'DELETE' ? undefined : '{}',
        });
        expect({ method, path, status: res.status, allow: res.headers.get('allow') }).toEqual({
          method,
          path,
          status: 405,
          allow: 'GET, HEAD',
        });
      }
    }
    expect((await fetch(`${open.url}/nbctl/show`, { method: 'HEAD' })).status).toBe(200);
  });
});

describe('security', () => {
  test('a non-loopback bind needs the bearer token', async () => {
    const none = await fetch(`${guarded.url}/nbctl/show`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await fetch(`${guarded.url}/nbctl/show`, {
      headers: { authorization: `Bearer ${TOKEN}x` },
    });
    expect(wrong.status).toBe(401);
    const basic = await fetch(`${guarded.url}/nbctl/show`, { headers: { authorization: `Basic ${TOKEN}` } });
    expect(basic.status).toBe(401);
    const right = await fetch(`${guarded.url}/nbctl/show`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toBe(runView(nb, 'show', [], 'text'));
    // a write is refused even with the token
    const post = await fetch(`${guarded.url}/nbctl/show`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(post.status).toBe(405);
  });

  test('a loopback bind needs no token', async () => {
    const app = express();
    app.use(securityMiddleware({ bind: '127.0.0.1:10660' }));
    app.use(nbctlRouter(nb));
    const local = await serve(app);
    try {
      expect((await fetch(`${local.url}/nbctl/ls-list`)).status).toBe(200);
    } finally {
      await local.close();
    }
  });

  test('without a token, a non-loopback bind refuses every request', async () => {
    const app = express();
    app.use(securityMiddleware({ bind: '::' }));
    app.use(nbctlRouter(nb));
    const exposed = await serve(app);
    try {
      expect(
        (await fetch(`${exposed.url}/nbctl/ls-list`, { headers: { authorization: 'Bearer x' } })).status,
      ).toBe(401);
    } finally {
      await exposed.close();
    }
  });

  test.each([
    ['127.0.0.1', true],
    ['127.0.0.1:10660', true],
    ['127.1.2.3', true],
    ['localhost:80', true],
    ['::1', true],
    ['[::1]:10660', true],
    ['unix:/run/ovnk/debug.sock', true],
    ['/run/ovnk/debug.sock', true],
    ['0.0.0.0', false],
    ['0.0.0.0:10660', false],
    ['::', false],
    ['[::]:10660', false],
    ['10.0.0.1:10660', false],
    ['node1.example:10660', false],
    ['', false],
  ])('isLoopbackBind(%j) = %s', (bind, loopback) => {
    expect(isLoopbackBind(bind)).toBe(loopback);
  });

  test('checkBindSecurity refuses a network bind without a (long enough) token', () => {
    expect(() => checkBindSecurity('0.0.0.0:10660')).toThrow(BindSecurityError);
    expect(() => checkBindSecurity('0.0.0.0:10660', 'short')).toThrow(/at least 16/);
    expect(() => checkBindSecurity('0.0.0.0:10660', TOKEN)).not.toThrow();
    expect(() => checkBindSecurity('127.0.0.1:10660')).not.toThrow();
  });
});
