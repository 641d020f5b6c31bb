// Child process of bench/ovsdb.ts: connects, monitors Logical_Switch_Port, and reports the time to the
// full initial load and this process's resident memory, so the figure is not mixed with the writer's.
import { OvsdbClient } from '../src/ovsdb/index.ts';

const [remote = '', expected = '0'] = process.argv.slice(2);
const rssBefore = process.memoryUsage().rss;
const t0 = process.hrtime.bigint();
const client = await OvsdbClient.connect({ remotes: remote, database: 'OVN_Northbound' });
const replica = await client.monitor({ Logical_Switch_Port: {}, Logical_Switch: {} });
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
const rows = replica.size('Logical_Switch_Port');
if (rows !== Number(expected)) throw new Error(`expected ${expected} rows, got ${rows}`);
const rss = process.memoryUsage().rss;
client.close();
console.log(JSON.stringify({ ms, rows, rss_mb: rss / 2 ** 20, baseline_rss_mb: rssBefore / 2 ** 20 }));
