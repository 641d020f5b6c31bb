// `kubectl ko` (scripts/kubectl-ko on PATH): the operator's view of the network.
//   kubectl ko nbctl <view> [args...]           an ovn-nbctl view, served by the controller from its replica
//   kubectl ko diagnose                          the consistency check (exit 1 when anything disagrees)
//   kubectl ko trace <ns>/<pod> <ip> [tcp|udp <port>]   ovn-trace of a packet from the pod (needs OVN_SB_DB)
//   kubectl ko status                            NB and SB: each member's role, leader and Raft index
// The controller's endpoint: OVNK_DEBUG_URL (http://127.0.0.1:10660, or unix:/path/to/socket) and
// OVNK_DEBUG_TOKEN for a network bind. The databases: OVN_NB_DB and OVN_SB_DB, as for ovn-nbctl.
import { request } from 'node:http';
import { execa } from 'execa';
import { OvsdbClient, parseRemotes } from '../ovsdb/index.ts';

async function get(path: string): Promise<{ status: number; text: string }> {
  const base = process.env.OVNK_DEBUG_URL ?? 'http://127.0.0.1:10660';
  const headers: Record<string, string> = {};
  if (process.env.OVNK_DEBUG_TOKEN) headers.authorization = `Bearer ${process.env.OVNK_DEBUG_TOKEN}`;
  const target = base.startsWith('unix:')
    ? { socketPath: base.slice(5), path }
    : (() => {
        const u = new URL(path, base);
        return { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}` };
      })();
  return new Promise((resolve, reject) => {
    const req = request({ ...target, method: 'GET', headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', (e) => reject(new Error(`cannot reach the controller at ${base}: ${e.message}`)));
    req.end();
  });
}

const args = (list: string[]) => list.map((a) => `arg=${encodeURIComponent(a)}`).join('&');

async function nbctl(rest: string[]): Promise<number> {
  const [view, ...a] = rest;
  if (!view) throw new Error('usage: kubectl ko nbctl <view> [args...]');
  const q = args(a);
  const r = await get(`/nbctl/${encodeURIComponent(view)}${q ? `?${q}` : ''}`);
  process.stdout.write(r.text);
  return r.status === 200 ? 0 : 1;
}

async function diagnose(): Promise<number> {
  const r = await get('/debug/check?format=text');
  process.stdout.write(r.text);
  return r.status === 200 && r.text === 'consistent\n' ? 0 : 1;
}

async function kubectlJson(argv: string[]): Promise<Record<string, unknown>> {
  return JSON.parse((await execa('kubectl', [...argv, '-o', 'json'])).stdout) as Record<string, unknown>;
}

async function trace(rest: string[]): Promise<number> {
  const [target, dst, proto, port] = rest;
  if (!target?.includes('/') || !dst)
    throw new Error('usage: kubectl ko trace <ns>/<pod> <ip> [tcp|udp <port>]');
  const [ns, name] = target.split('/') as [string, string];
  const pod = await kubectlJson(['get', 'pod', '-n', ns, name]);
  const a = ((pod.metadata as { annotations?: Record<string, string> }).annotations ?? {}) as Record<
    string,
    string
  >;
  const ls = a['ovn.kubernetes.io/logical_switch'];
  const router = a['ovn.kubernetes.io/logical_router'] ?? 'ovn-cluster';
  const vm = a['ovn.kubernetes.io/virtualmachine'];
  if (!ls || !a['ovn.kubernetes.io/ip_address']) throw new Error(`pod ${target} has no address yet`);
  const lrp = JSON.parse(
    (await get(`/nbctl/list?${args(['Logical_Router_Port', `${router}-${ls}`])}&format=json`)).text,
  );
  const gwMac = (Array.isArray(lrp) ? lrp[0]?.mac : lrp?.rows?.[0]?.mac) as string | undefined;
  const v6 = dst.includes(':');
  const src = a['ovn.kubernetes.io/ip_address'].split(',').find((ip) => ip.includes(':') === v6);
  const inport = vm ? `${vm}.${ns}` : `${name}.${ns}`;
  const l4 =
    proto === 'tcp' || proto === 'udp'
      ? ` && ${proto} && ${proto}.src == 10000 && ${proto}.dst == ${port ?? 80}`
      : v6
        ? ' && icmp6'
        : ' && icmp4';
  const ip = v6 ? 'ip6' : 'ip4';
  const flow = `inport == "${inport}" && eth.src == ${a['ovn.kubernetes.io/mac_address']} && eth.dst == ${gwMac ?? 'ff:ff:ff:ff:ff:ff'} && ${ip}.src == ${src} && ${ip}.dst == ${dst} && ${v6 ? 'ip.ttl' : 'ip.ttl'} == 64${l4}`;
  const sb = process.env.OVN_SB_DB;
  const r = await execa('ovn-trace', [...(sb ? [`--db=${sb}`] : []), ls, flow], { reject: false });
  process.stdout.write(`${r.stdout}\n`);
  if (r.stderr) process.stderr.write(`${r.stderr}\n`);
  return r.exitCode ?? 1;
}

async function status(): Promise<number> {
  for (const [db, env] of [
    ['OVN_Northbound', 'OVN_NB_DB'],
    ['OVN_Southbound', 'OVN_SB_DB'],
  ] as const) {
    const remotes = process.env[env];
    if (!remotes) {
      console.log(`${db}: ${env} is not set`);
      continue;
    }
    console.log(db);
    for (const remote of parseRemotes(remotes)) {
      const c = await OvsdbClient.connect({
        remotes: remote.text,
        database: '_Server',
        leaderOnly: false,
        connectTimeoutMs: 3_000,
      }).catch((e: unknown) => e as Error);
      if (c instanceof Error) {
        console.log(`  ${remote.text.padEnd(40)} unreachable: ${c.message}`);
        continue;
      }
      try {
        const row = (await c.select('Database', [['name', '==', db]]))[0] as
          | Record<string, unknown>
          | undefined;
        const role = !row
          ? 'not served'
          : row.model !== 'clustered'
            ? 'standalone'
            : row.leader
              ? 'leader'
              : 'follower';
        const extra =
          row?.model === 'clustered'
            ? ` connected=${String(row.connected)} index=${String(row.index ?? '-')}`
            : '';
        console.log(`  ${remote.text.padEnd(40)} ${role}${extra}`);
      } finally {
        c.close();
      }
    }
  }
  return 0;
}

const [cmd, ...rest] = process.argv.slice(2);
const commands: Record<string, (rest: string[]) => Promise<number>> = { nbctl, diagnose, trace, status };
const run = cmd ? commands[cmd] : undefined;
if (!run) {
  console.error(
    'usage: kubectl ko nbctl <view> [args] | diagnose | trace <ns>/<pod> <ip> [tcp|udp <port>] | status',
  );
  process.exitCode = 2;
} else {
  try {
    process.exitCode = await run(rest);
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 1;
  }
}
