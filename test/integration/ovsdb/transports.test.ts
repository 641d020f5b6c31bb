// Transports (tcp, unix, ssl with a certificate made by the test) and bad input from the network side.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../../../src/lab/ports.ts';
import { livePid, run, startDaemon, terminate } from '../../../src/lab/proc.ts';
import { OvsdbClient, SchemaError, TimeoutError } from '../../../src/ovsdb/index.ts';
import { useLab } from '../helpers.ts';

const ctx = useLab({ northd: false });

describe('transports', () => {
  test('tcp and unix reach the same database', async () => {
    const s = ctx.lab.central.nb.servers[0]!;
    for (const remote of [s.tcpRemote, s.unixRemote]) {
      const c = await OvsdbClient.connect({ remotes: remote, database: 'OVN_Northbound' });
      expect(c.remote).toBe(remote);
      expect(await c.listDbs()).toContain('OVN_Northbound');
      c.close();
    }
  });

  describe('ssl with a self-signed CA', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovnk-ssl-'));
    const pem = (n: string) => join(dir, n);
    const daemon = { comm: 'ovsdb-server', pidfile: pem('ovsdb.pid') };
    let port = 0;

    beforeAll(async () => {
      const openssl = (...args: string[]) => run('openssl', args);
      const subj = (cn: string) => ['-subj', `/CN=${cn}`];
      const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
      await openssl(
        'req',
        '-x509',
        ...KEY,
        '-nodes',
        '-days',
        '1',
        ...subj('test-ca'),
        '-keyout',
        pem('ca-key.pem'),
        '-out',
        pem('ca.pem'),
      );
      for (const who of ['server', 'client']) {
        await openssl(
          'req',
          ...KEY,
          '-nodes',
          ...subj(who),
          '-keyout',
          pem(`${who}-key.pem`),
          '-out',
          pem(`${who}.csr`),
        );
        await openssl(
          'x509',
          '-req',
          '-in',
          pem(`${who}.csr`),
          '-CA',
          pem('ca.pem'),
          '-CAkey',
          pem('ca-key.pem'),
          '-CAcreateserial',
          '-days',
          '1',
          '-out',
          pem(`${who}.pem`),
        );
      }
      await run('ovsdb-tool', ['create', pem('nb.db'), '/usr/share/ovn/ovn-nb.ovsschema']);
      port = await freePort();
      await startDaemon(daemon, [
        pem('nb.db'),
        `--remote=pssl:${port}:127.0.0.1`,
        `--private-key=${pem('server-key.pem')}`,
        `--certificate=${pem('server.pem')}`,
        `--ca-cert=${pem('ca.pem')}`,
        `--unixctl=${pem('ctl')}`,
        `--log-file=${pem('ovsdb.log')}`,
      ]);
    });
    afterAll(async () => {
      const pid = livePid(daemon.pidfile, daemon.comm);
      if (pid) await terminate(pid);
      rmSync(dir, { recursive: true, force: true });
    });

    test('connects and transacts over ssl with a client certificate', async () => {
      const c = await OvsdbClient.connect({
        remotes: `ssl:127.0.0.1:${port}`,
        database: 'OVN_Northbound',
        tls: {
          ca: readFileSync(pem('ca.pem')),
          cert: readFileSync(pem('client.pem')),
          key: readFileSync(pem('client-key.pem')),
        },
      });
      await c.transact([{ op: 'insert', table: 'Logical_Switch', row: { name: 'over-ssl' } }]);
      expect((await c.select('Logical_Switch')).map((r) => r.name)).toEqual(['over-ssl']);
      c.close();
    });

    test('a server certificate from another CA is refused with the TLS reason', async () => {
      const err = await OvsdbClient.connect({
        remotes: `ssl:127.0.0.1:${port}`,
        database: 'OVN_Northbound',
        tls: { ca: readFileSync(pem('client.pem')) },
        waitMs: 1_500,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect((err as Error).message).toMatch(/certificate/i);
    });
  });
});

/** A loopback listener that answers every connection with `reply` (bad input, not an OVSDB server). */
async function badPeer(
  reply: string | null,
): Promise<{ server: Server; remote: string; seen: () => number }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    connections++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    if (reply !== null) sock.on('data', () => sock.write(reply));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  }) as typeof server.close;
  return { server, remote: `tcp:127.0.0.1:${addr.port}`, seen: () => connections };
}

describe('bad input from the network', () => {
  test.each([
    ['a malformed frame', 'garbage that is not JSON'],
    ['invalid JSON inside a frame', '{"id":1,"result":}'],
    ['a reply that is not an object', '[1,2,3]'],
  ])('%s: that remote is dropped and the next (real) one is used', async (_what, reply) => {
    const bad = await badPeer(reply);
    const logged: string[] = [];
    const logger = { debug: (o: object) => logged.push(JSON.stringify(o)), info() {}, warn() {} };
    try {
      const real = ctx.lab.central.nb.servers[0]!.tcpRemote;
      const c = await OvsdbClient.connect({
        remotes: [bad.remote, real],
        database: 'OVN_Northbound',
        logger,
      });
      expect(bad.seen()).toBe(1);
      expect(c.remote).toBe(real);
      expect(logged.join('\n')).toMatch(/malformed frame|invalid JSON/);
      c.close();
    } finally {
      bad.server.close();
    }
  });

  test('a peer that never answers: connect fails in time with the reason, nothing hangs', async () => {
    const silent = await badPeer(null);
    try {
      const t0 = Date.now();
      const err = await OvsdbClient.connect({
        remotes: silent.remote,
        database: 'OVN_Northbound',
        connectTimeoutMs: 300,
        waitMs: 2_000,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect((err as Error).message).toMatch(/get_schema .* no answer/);
      expect(Date.now() - t0).toBeLessThan(4_000);
    } finally {
      silent.server.close();
    }
  });

  test('an unknown database or an incompatible schema version is a SchemaError at once', async () => {
    const remote = ctx.lab.central.nb.servers[0]!.unixRemote;
    await expect(OvsdbClient.connect({ remotes: remote, database: 'No_Such_DB' })).rejects.toThrow(
      SchemaError,
    );
    await expect(
      OvsdbClient.connect({ remotes: remote, database: 'OVN_Northbound', expectSchemaVersion: '99.0.0' }),
    ).rejects.toThrow(/not compatible with 99.0.0/);
    // and a compatible one is accepted
    const c = await OvsdbClient.connect({
      remotes: remote,
      database: 'OVN_Northbound',
      expectSchemaVersion: '7.0.0',
    });
    c.close();
  });

  test('a bad remote string is rejected with the expected forms', async () => {
    await expect(OvsdbClient.connect({ remotes: 'http://x', database: 'OVN_Northbound' })).rejects.toThrow(
      /expected tcp:, ssl: or unix:/,
    );
  });
});
