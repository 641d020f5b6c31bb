// deploy/image/start-central.sh for real: three members (127.0.0.1-3 on the loopback of a network namespace of
// this test, standing in for three nodes) form the NB and SB Raft clusters, the first address creating them
// and the others joining; ovn-northd reaches every member through the remotes OVN_DB_IPS gives; a member
// restarted with its database rejoins; one that lost its database joins the existing cluster instead of
// creating a second one; a node outside OVN_DB_IPS refuses to start.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { labRoot } from '../../../src/lab/lab.ts';
import { addNetns, delNetns } from '../../../src/lab/netns.ts';
import { run, terminate, waitFor } from '../../../src/lab/proc.ts';

const script = join(import.meta.dirname, '../../../deploy/image/start-central.sh');
const netns = `ovnk-ct${process.pid}`;
const dir = join(labRoot(), `central-script-${process.pid}`);
const members = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const started = new Map<string, Started>();
/** For conditions that take a second on an idle machine and far longer on a loaded 2-core one. */
const SLOW_MS = 90_000;

const memberDir = (ip: string) => join(dir, ip);
const ctl = (ip: string, db: 'nb' | 'sb') => join(memberDir(ip), 'run', `ovn${db}_db.ctl`);

interface Started {
  pid: number;
  exited: Promise<number | null>;
}

/** start-central.sh ROLE as member ip, inside the test's namespace; output to a log file of its own. */
function start(ip: string, role: 'nb' | 'sb' | 'northd', dbIps = members.join(',')): Started {
  mkdirSync(memberDir(ip), { recursive: true });
  const log = openSync(join(memberDir(ip), `${role}.log`), 'a');
  // `ip netns exec` execs the script: the pid is the script's
  const child = spawn('ip', ['netns', 'exec', netns, 'sh', script, role], {
    env: {
      PATH: process.env.PATH,
      POD_IP: ip,
      OVN_DB_IPS: dbIps,
      OVN_RUN_DIR: join(memberDir(ip), 'run'),
      OVN_DB_DIR: join(memberDir(ip), 'db'),
    },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const s = { pid: child.pid!, exited };
  started.set(`${ip}/${role}`, s);
  return s;
}

async function stop(ip: string, role: string): Promise<void> {
  const s = started.get(`${ip}/${role}`);
  started.delete(`${ip}/${role}`);
  if (!s) return;
  await terminate(s.pid);
  await s.exited;
}

async function clusterStatus(ip: string, db: 'nb' | 'sb') {
  const out = await run(
    'ovs-appctl',
    ['-t', ctl(ip, db), 'cluster/status', db === 'nb' ? 'OVN_Northbound' : 'OVN_Southbound'],
    {
      timeoutMs: 3_000,
    },
  );
  return {
    cluster: /^Cluster ID: (\S+)/m.exec(out)?.[1],
    status: /^Status: (.+)$/m.exec(out)?.[1],
    role: /^Role: (\S+)/m.exec(out)?.[1],
    servers: out
      .slice(out.indexOf('\nServers:'))
      .split('\n')
      .filter((l) => /^\s+\S+ \(/.test(l)).length,
  };
}

const remotes = (port: number) => members.map((ip) => `tcp:[${ip}]:${port}`).join(',');

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  await addNetns(netns);
  await run('ip', ['link', 'set', 'lo', 'up'], { netns });
});
afterAll(async () => {
  for (const key of [...started.keys()]) {
    const [ip, role] = key.split('/') as [string, string];
    await stop(ip, role);
  }
  await delNetns(netns);
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the three members and northd once, for every test here, and waits until both clusters formed. */
let formed: Promise<void> | undefined;
function formedCluster(): Promise<void> {
  formed ??= (async () => {
    for (const ip of members) {
      start(ip, 'nb');
      start(ip, 'sb');
    }
    start(members[1]!, 'northd');
    for (const db of ['nb', 'sb'] as const) {
      await waitFor(
        `${db} cluster of 3`,
        async () => {
          const all = await Promise.all(members.map((ip) => clusterStatus(ip, db)));
          const ok =
            all.every(
              (s) => s.status === 'cluster member' && s.servers === 3 && s.cluster === all[0]!.cluster,
            ) && all.filter((s) => s.role === 'leader').length === 1;
          return ok && all;
        },
        SLOW_MS,
        200,
      );
    }
  })();
  return formed;
}

test('three members form the NB and SB clusters; northd works against all of them', async () => {
  await formedCluster();
  expect(readFileSync(join(memberDir(members[0]!), 'nb.log'), 'utf8')).toContain(
    'creating the OVN_Northbound cluster',
  );
  expect(readFileSync(join(memberDir(members[2]!), 'sb.log'), 'utf8')).toContain(
    'joining the OVN_Southbound cluster',
  );
  // a write through the remotes as the components write them, compiled by northd into SB
  await run('ovn-nbctl', [`--db=${remotes(6641)}`, '--timeout=25', '--may-exist', 'ls-add', 'sw0'], {
    netns,
  });
  await waitFor(
    'northd to bind sw0',
    async () =>
      (
        await run(
          'ovn-sbctl',
          [
            `--db=${remotes(6642)}`,
            '--timeout=25',
            '--bare',
            '--columns=external_ids',
            'list',
            'Datapath_Binding',
          ],
          {
            netns,
          },
        )
      ).includes('name=sw0'),
    SLOW_MS,
    200,
  );
}, 240_000);

test('a member restarted with its database rejoins; one that lost it joins, never creating a second cluster', async () => {
  await formedCluster();
  await run('ovn-nbctl', [`--db=${remotes(6641)}`, '--timeout=25', '--may-exist', 'ls-add', 'sw0'], {
    netns,
  });
  const first = members[0]!;
  const cluster = (await clusterStatus(members[1]!, 'nb')).cluster;
  await stop(first, 'nb');
  start(first, 'nb');
  await waitFor(
    'the first member back',
    async () => (await clusterStatus(first, 'nb')).status === 'cluster member',
    SLOW_MS,
    200,
  );
  expect((await clusterStatus(first, 'nb')).cluster).toBe(cluster);

  await stop(first, 'nb');
  rmSync(join(memberDir(first), 'db', 'ovnnb_db.db'));
  start(first, 'nb');
  const back = await waitFor(
    'the first member to join again',
    async () => {
      const s = await clusterStatus(first, 'nb');
      return s.status === 'cluster member' && s;
    },
    SLOW_MS,
    200,
  );
  expect(back.cluster).toBe(cluster);
  expect(
    readFileSync(join(memberDir(first), 'nb.log'), 'utf8').match(/creating the OVN_Northbound cluster/g),
  ).toHaveLength(1);
  // the data is the cluster's (read from this member, a follower or the leader)
  expect(
    await run(
      'ovn-nbctl',
      [
        `--db=unix:${join(memberDir(first), 'run', 'ovnnb_db.sock')}`,
        '--no-leader-only',
        '--timeout=25',
        'ls-list',
      ],
      { netns },
    ),
  ).toContain('sw0');
}, 240_000);

test('a node that is not one of the members refuses to start', async () => {
  expect(await start('127.0.0.9', 'nb').exited).toBe(1);
  expect(readFileSync(join(memberDir('127.0.0.9'), 'nb.log'), 'utf8')).toContain(
    'this node (127.0.0.9) is not one of the OVN central members',
  );
});
