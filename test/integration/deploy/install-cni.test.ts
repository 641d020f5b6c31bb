// The image's node-side scripts, run for real against directories standing in for the image and the host:
// collect-node-runtime.sh and install-cni.sh put a plugin on the "host" that runs with no Node of its own (no
// PATH at all) and answers as the plugin does; the conflist the install path puts there is the one the e2e
// lab uses; a reinstall changes nothing, an upgrade swaps the runtime; cleanup-node.sh removes it all again.
// start-controller.sh and ovn-lib.sh turn OVN_DB_IPS into the remotes the components take.
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildCniPlugin } from '../../../scripts/build-cni.ts';
import { DAEMON_DEFAULTS } from '../../../src/daemon/config.ts';
import { conflist } from '../../../src/lab/cluster.ts';

const image = join(import.meta.dirname, '../../../deploy/image');
const deployConflist = join(import.meta.dirname, '../../../deploy/cni/10-ovnk.conflist');
let dir: string;
/** Laid out as the Dockerfile lays out /opt/ovnk. */
let imageDir: string;
const host = (p: string) => join(dir, 'host', p);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ovnk-install-cni-'));
  imageDir = join(dir, 'image');
  await buildCniPlugin(join(imageDir, 'cni'));
  cpSync(deployConflist, join(imageDir, 'cni', '10-ovnk.conflist'));
  await execa('sh', [
    join(image, 'collect-node-runtime.sh'),
    process.execPath,
    join(imageDir, 'host-runtime'),
  ]);
}, 60_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function install() {
  return execa('sh', [join(image, 'install-cni.sh')], {
    env: {
      OVNK_IMAGE_DIR: imageDir,
      HOST_ROOT: '',
      CNI_BIN_DIR: host('opt/cni/bin'),
      CNI_CONF_DIR: host('etc/cni/net.d'),
      OVNK_HOST_DIR: host('opt/ovnk'),
    },
  });
}

/** The installed plugin as a runtime runs it: its own environment only, not even a PATH. */
function plugin(env: Record<string, string>, stdin: string) {
  return execa(host('opt/cni/bin/ovnk'), [], {
    env,
    extendEnv: false,
    input: stdin,
    reject: false,
  });
}

describe('install-cni.sh', () => {
  test('installs a plugin that runs without a Node on the host and answers VERSION and ADD', async () => {
    await install();
    const runtimes = readdirSync(host('opt/ovnk'));
    expect(runtimes).toEqual([expect.stringMatching(/^runtime-[0-9a-f]{16}$/)]);
    expect(readdirSync(host(`opt/ovnk/${runtimes[0]}/lib`))).toContain('libstdc++.so.6');
    const version = await plugin({ CNI_COMMAND: 'VERSION' }, '');
    expect(version.exitCode).toBe(0);
    expect(JSON.parse(version.stdout)).toEqual({
      cniVersion: '1.0.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
    // no daemon there: "try again later", as the plugin says it itself
    const add = await plugin(
      {
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: 'c1',
        CNI_NETNS: '/proc/1/ns/net',
        CNI_IFNAME: 'eth0',
        CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=p',
      },
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'ovnk',
        type: 'ovnk',
        server_socket: join(dir, 'none.sock'),
      }),
    );
    expect(add.exitCode).toBe(1);
    expect(JSON.parse(add.stdout)).toMatchObject({ cniVersion: '1.0.0', code: 11 });
  });

  test('the conflist it installs is deploy/cni/10-ovnk.conflist, the one the e2e lab writes', async () => {
    const installed = readFileSync(host('etc/cni/net.d/10-ovnk.conflist'), 'utf8');
    expect(installed).toBe(readFileSync(deployConflist, 'utf8'));
    expect(JSON.parse(installed)).toEqual(conflist(DAEMON_DEFAULTS.socketPath));
  });

  test('a reinstall changes nothing; a new plugin gets a new runtime directory and the old one goes', async () => {
    const before = readdirSync(host('opt/ovnk'));
    await install();
    expect(readdirSync(host('opt/ovnk'))).toEqual(before);
    writeFileSync(
      join(imageDir, 'cni', 'ovnk'),
      `${readFileSync(join(imageDir, 'cni', 'ovnk'), 'utf8')}\n// v2\n`,
    );
    await install();
    const after = readdirSync(host('opt/ovnk'));
    expect(after).toHaveLength(1);
    expect(after).not.toEqual(before);
    expect(readFileSync(host('opt/cni/bin/ovnk'), 'utf8')).toContain(after[0]);
    expect((await plugin({ CNI_COMMAND: 'VERSION' }, '')).exitCode).toBe(0);
    // nothing half-written is left behind
    expect(readdirSync(host('opt/cni/bin'))).toEqual(['ovnk']);
    expect(readdirSync(host('etc/cni/net.d'))).toEqual(['10-ovnk.conflist']);
  });
});

describe('cleanup-node.sh', () => {
  test('removes the datapath and every file ovnk left on the host, and nothing else', async () => {
    for (const d of ['etc/openvswitch', 'var/lib/ovn', 'var/log/ovn', 'run/ovnk', 'etc/cni/net.d/keep']) {
      mkdirSync(host(d), { recursive: true });
    }
    writeFileSync(host('etc/cni/net.d/99-other.conflist'), '{}');
    // a stand-in for ovs-dpctl that has the datapath and records what it is asked
    const bin = join(dir, 'dpctl-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'ovs-dpctl'),
      `#!/bin/sh\necho "$@" >> ${join(dir, 'dpctl.log')}\n[ "$1" = dump-dps ] && echo system@ovs-system\nexit 0\n`,
    );
    chmodSync(join(bin, 'ovs-dpctl'), 0o755);
    const r = await execa('sh', [join(image, 'cleanup-node.sh')], {
      env: { HOST_ROOT: join(dir, 'host'), PATH: `${bin}:/usr/bin:/bin` },
      extendEnv: false,
    });
    expect(readFileSync(join(dir, 'dpctl.log'), 'utf8')).toBe('dump-dps\ndel-dp ovs-system\n');
    expect(r.stdout).toContain('removed /opt/cni/bin/ovnk');
    expect(readdirSync(host('etc/cni/net.d')).sort()).toEqual(['99-other.conflist', 'keep']);
    expect(readdirSync(host('opt/cni/bin'))).toEqual([]);
    for (const gone of ['opt/ovnk', 'run/ovnk', 'etc/openvswitch', 'var/lib/ovn', 'var/log/ovn'])
      expect(readdirSync(join(dir, 'host', dirname(gone)))).not.toContain(basename(gone));
  });
});

describe('the OVN central addresses', () => {
  const remotes = (ips: string) =>
    execa('sh', ['-c', `. ${join(image, 'ovn-lib.sh')} && ovn_remotes "$1" 6641`, 'sh', ips], {
      reject: false,
    });

  test('ovn_remotes: brackets for both families, blanks skipped; empty is an error', async () => {
    expect((await remotes('10.0.0.1, fd00::2,,10.0.0.3')).stdout).toBe(
      'tcp:[10.0.0.1]:6641,tcp:[fd00::2]:6641,tcp:[10.0.0.3]:6641',
    );
    const empty = await remotes('');
    expect(empty.exitCode).toBe(1);
    expect(empty.stderr).toContain('OVN_DB_IPS is empty');
  });

  test('start-controller.sh runs the controller with every member as northbound, and its own flags', async () => {
    // a stand-in for node that prints what it was given
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'node'), '#!/bin/sh\nprintf "%s\\n" "$@"\n');
    chmodSync(join(bin, 'node'), 0o755);
    const env = { PATH: `${bin}:/usr/bin:/bin`, OVN_DB_IPS: '10.0.0.1,10.0.0.2,10.0.0.3' };
    const r = await execa(join(image, 'start-controller.sh'), ['--leader-elect=true'], {
      env,
      extendEnv: false,
    });
    expect(r.stdout.split('\n')).toEqual([
      '/opt/ovnk/app/dist/src/controller/main.js',
      '--ovn-nb-addr=tcp:[10.0.0.1]:6641,tcp:[10.0.0.2]:6641,tcp:[10.0.0.3]:6641',
      '--leader-elect=true',
    ]);
    const unset = await execa(join(image, 'start-controller.sh'), [], {
      env: { PATH: env.PATH },
      extendEnv: false,
      reject: false,
    });
    expect(unset.exitCode).not.toBe(0);
    expect(unset.stdout).toBe('');
  });
});
