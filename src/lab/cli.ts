// scripts/ovnlab: start, inspect and tear down lab environments from a shell.
//   up [--nodes N] [--nb-members 1|3] [--sb-members 1|3] [--encap geneve|vxlan] [--no-northd]
//   down <dir> | down --all          status [<dir>]
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Lab, labNetns, labProcesses, labRoot, teardownLabDir } from './lab.ts';

function labDirs(): string[] {
  const root = labRoot();
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((d) => join(root, d))
    .filter((d) => existsSync(join(d, 'lab.json')));
}

async function up(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string', default: '2' },
      'nb-members': { type: 'string', default: '1' },
      'sb-members': { type: 'string', default: '1' },
      encap: { type: 'string', default: 'geneve' },
      'no-northd': { type: 'boolean', default: false },
    },
  });
  const encap = values.encap === 'vxlan' ? 'vxlan' : 'geneve';
  const lab = await Lab.start({
    nodes: Number(values.nodes),
    nbMembers: Number(values['nb-members']),
    sbMembers: Number(values['sb-members']),
    northd: !values['no-northd'],
    encap,
  });
  const envFile = join(lab.dir, 'env.sh');
  const lines = Object.entries(lab.env).map(([k, v]) => `export ${k}=${v}`);
  for (const c of lab.chassis) {
    lines.push(`# ${c.name}: ip netns exec ${c.cfg.netns} env OVS_RUNDIR=${c.cfg.dir} ovs-vsctl show`);
  }
  writeFileSync(envFile, `${lines.join('\n')}\n`);
  console.log(lab.dir);
  console.error(
    `lab ${lab.id} up: ${lab.chassis.length} nodes; source ${envFile}; down: scripts/ovnlab down ${lab.dir}`,
  );
}

function status(dirs: string[]): void {
  for (const d of dirs) {
    console.log(`${d}: ${labProcesses(d).length} daemons, netns ${labNetns(d).join(' ') || '-'}`);
  }
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  switch (cmd) {
    case 'up':
      return up(rest);
    case 'down': {
      const dirs = rest[0] === '--all' ? labDirs() : rest;
      if (dirs.length === 0) throw new Error('down needs a lab directory or --all');
      for (const d of dirs) await teardownLabDir(d);
      return;
    }
    case 'status':
      return status(rest.length ? rest : labDirs());
    default:
      console.error('usage: ovnlab up [--nodes N] [--nb-members N] [--sb-members N] [--encap geneve|vxlan]');
      console.error('       ovnlab down <dir>|--all');
      console.error('       ovnlab status [<dir>]');
      process.exitCode = 2;
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
