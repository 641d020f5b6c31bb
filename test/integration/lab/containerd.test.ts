// containerd 1.6 with its CRI plugin as a real CNI runtime: the sandbox lifecycle kubelet drives, with the
// stock bridge + host-local + portmap plugins, and with a logging plugin that records exactly what
// containerd hands a CNI plugin at each step (the project's plugin relies on that sequence).
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Containerd, startContainerd } from '../../../src/lab/containerd.ts';
import { mountsUnder } from '../../../src/lab/containerd-sweep.ts';
import { CriError, type PodSandboxConfig } from '../../../src/lab/cri/client.ts';
import { labRoot } from '../../../src/lab/lab.ts';
import { processesMentioning } from '../../../src/lab/leaks.ts';
import { listLinks, listNetns } from '../../../src/lab/netns.ts';
import { buildPauseImage } from '../../../src/lab/pause-image.ts';
import { run } from '../../../src/lab/proc.ts';
import { eventually } from '../helpers.ts';

const STOCK_PLUGINS = '/usr/lib/cni';

/** A fresh directory under the run's lab root, removed in afterAll. */
function workDir(): string {
  const dir = join(labRoot(), `ctrd-${randomBytes(3).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function writeConflist(confDir: string, conflist: object): void {
  mkdirSync(confDir, { recursive: true });
  writeFileSync(join(confDir, '10-test.conflist'), JSON.stringify(conflist));
}

function pod(name: string, namespace = 'default'): PodSandboxConfig {
  return {
    metadata: { name, namespace, uid: `uid-${name}-${randomBytes(3).toString('hex')}` },
    hostname: name,
  };
}

/** /var/run/netns/cni-… → cni-… (the name `ip netns` knows). */
function netnsName(path: string | undefined): string {
  expect(path).toMatch(/^\/var\/run\/netns\/cni-[0-9a-f-]+$/);
  return path!.slice(path!.lastIndexOf('/') + 1);
}

async function eth0Addresses(netns: string): Promise<string[]> {
  const out = await run('ip', ['-n', netns, '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
  return [...out.matchAll(/inet (\S+)/g)].map((m) => m[1]!);
}

describe('pause image', () => {
  let base: string;
  beforeAll(() => {
    base = workDir();
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  test('a docker-archive whose config names the layer by digest; built once per content', async () => {
    const cache = join(base, 'cache');
    const image = await buildPauseImage(cache);
    expect(image.ref).toMatch(/^ovnk\.local\/pause:[0-9a-f]{12}$/);
    const built = statSync(image.archive).mtimeMs;
    expect(await buildPauseImage(cache)).toEqual(image);
    expect(statSync(image.archive).mtimeMs).toBe(built);
    expect(readdirSync(cache)).toEqual([image.archive.slice(cache.length + 1)]);

    const out = join(base, 'unpacked');
    mkdirSync(out);
    await run('tar', ['-xf', image.archive, '-C', out]);
    const sha256 = (f: string) =>
      createHash('sha256')
        .update(readFileSync(join(out, f)))
        .digest('hex');
    const [manifest] = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
      Config: string;
      RepoTags: string[];
      Layers: string[];
    }[];
    expect(manifest!.RepoTags).toEqual([image.ref]);
    expect(manifest!.Config).toBe(`${sha256(manifest!.Config)}.json`);
    const config = JSON.parse(readFileSync(join(out, manifest!.Config), 'utf8'));
    expect(config).toMatchObject({ os: 'linux', config: { Entrypoint: ['/pause'] } });
    expect(config.rootfs).toEqual({
      type: 'layers',
      diff_ids: manifest!.Layers.map((l) => `sha256:${sha256(l)}`),
    });
    expect((await run('tar', ['-tvf', join(out, manifest!.Layers[0]!)])).trim()).toMatch(
      /^-rwxr-xr-x root\/root .* pause$/,
    );
  });
});

describe('containerd CRI with bridge + host-local + portmap', () => {
  const bridge = `ovnk-br${process.pid}`;
  const netName = 'ovnk-bridge-test';
  let base: string;
  let ipamDir: string;
  let ctrd: Containerd | undefined;

  const allocations = (): string[] => {
    const d = join(ipamDir, netName);
    return existsSync(d) ? readdirSync(d).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
  };
  const bridgePorts = async (): Promise<string[]> =>
    (await run('ip', ['-o', 'link', 'show', 'master', bridge]).catch(() => '')).split('\n').filter(Boolean);

  beforeAll(async () => {
    base = workDir();
    ipamDir = join(base, 'ipam');
    writeConflist(join(base, 'net.d'), {
      cniVersion: '1.0.0',
      name: netName,
      plugins: [
        {
          type: 'bridge',
          bridge,
          // no gateway and no masquerade: the bridge gets no address, so nothing is routed on the host
          isGateway: false,
          ipMasq: false,
          ipam: { type: 'host-local', ranges: [[{ subnet: '10.199.0.0/24' }]], dataDir: ipamDir },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    });
    ctrd = await startContainerd({
      dir: join(base, 'containerd'),
      cniBinDir: STOCK_PLUGINS,
      cniConfDir: join(base, 'net.d'),
    });
  });

  afterAll(async () => {
    await ctrd?.stop();
    if ((await listLinks()).includes(bridge)) await run('ip', ['link', 'del', bridge]);
    rmSync(base, { recursive: true, force: true });
  });

  test('containerd answers CRI Version as containerd 1.6 / runtime API v1', async () => {
    const v = await ctrd!.cri.version();
    expect(v.runtimeName).toBe('containerd');
    expect(v.runtimeVersion).toMatch(/^1\.6\./);
    expect(v.runtimeApiVersion).toBe('v1');
  });

  test('a sandbox gets a host-local address on eth0 in its netns; stop + remove release both', async () => {
    const cri = ctrd!.cri;
    const id = await cri.runPodSandbox(pod('web-0'));
    const status = await cri.podSandboxStatus(id);
    expect(status.state).toBe('SANDBOX_READY');
    expect(status.metadata.name).toBe('web-0');
    expect(status.network.ip).toMatch(/^10\.199\.0\.\d+$/);
    const ns = netnsName(status.netnsPath);
    expect(listNetns()).toContain(ns);
    expect(await eth0Addresses(ns)).toEqual([`${status.network.ip}/24`]);
    // host-local's record of the allocation names the sandbox; the host end of the veth is on the bridge
    expect(allocations()).toEqual([status.network.ip]);
    expect(readFileSync(join(ipamDir, netName, status.network.ip), 'utf8')).toContain(id);
    expect(await bridgePorts()).toHaveLength(1);
    expect(await cri.listPodSandbox()).toEqual([expect.objectContaining({ id, state: 'SANDBOX_READY' })]);

    await cri.stopPodSandbox(id);
    expect(listNetns()).not.toContain(ns);
    expect((await cri.podSandboxStatus(id)).state).toBe('SANDBOX_NOTREADY');
    await cri.removePodSandbox(id);
    expect(allocations()).toEqual([]);
    expect(await bridgePorts()).toEqual([]);
    await expect(cri.podSandboxStatus(id)).rejects.toBeInstanceOf(CriError);
    expect(await cri.listPodSandbox()).toEqual([]);
  });

  test('two sandboxes started in parallel get distinct addresses and netns; both clean up', async () => {
    const cri = ctrd!.cri;
    const ids = await Promise.all([cri.runPodSandbox(pod('a')), cri.runPodSandbox(pod('b'))]);
    const statuses = await Promise.all(ids.map((id) => cri.podSandboxStatus(id)));
    const ips = statuses.map((s) => s.network.ip);
    const namespaces = statuses.map((s) => netnsName(s.netnsPath));
    expect(new Set(ips).size).toBe(2);
    expect(new Set(namespaces).size).toBe(2);
    for (const [i, ns] of namespaces.entries()) expect(await eth0Addresses(ns)).toEqual([`${ips[i]}/24`]);
    expect(allocations().sort()).toEqual([...ips].sort());
    expect(await bridgePorts()).toHaveLength(2);

    await Promise.all(ids.map(async (id) => cri.stopPodSandbox(id).then(() => cri.removePodSandbox(id))));
    expect(listNetns().filter((n) => namespaces.includes(n))).toEqual([]);
    expect(allocations()).toEqual([]);
    expect(await bridgePorts()).toEqual([]);
  });

  test('stop() cleans up after containerd was killed with sandboxes still running', async () => {
    const dir = join(base, 'killed');
    const other = await startContainerd({ dir, cniBinDir: STOCK_PLUGINS, cniConfDir: join(base, 'net.d') });
    let ns: string;
    try {
      const id = await other.cri.runPodSandbox(pod('orphan'));
      ns = netnsName((await other.cri.podSandboxStatus(id)).netnsPath);
      process.kill(other.pid, 'SIGKILL');
    } finally {
      await other.stop();
    }
    // the shim and the pause process, the sandbox's mounts, its netns and cgroup are all gone
    expect(processesMentioning(`${dir}/`)).toEqual([]);
    expect(mountsUnder(dir)).toEqual([]);
    expect(listNetns()).not.toContain(ns);
    expect(existsSync(`/sys/fs/cgroup/memory${other.cgroupParent}`)).toBe(false);
    // the kernel destroys an unreferenced netns (and so the veth pair) asynchronously
    await eventually(async () => expect(await bridgePorts()).toEqual([]), 5_000);
  });
});

describe('containerd CRI: what a CNI plugin is called with over a sandbox lifecycle', () => {
  interface Call {
    command: string;
    containerId: string;
    netns: string;
    ifName: string;
    args: Record<string, string>;
    path: string;
    stdin: Record<string, unknown>;
  }

  let base: string;
  let log: string;
  let ctrd: Containerd | undefined;

  /** The invocations logged so far, in order. */
  const calls = (): Call[] =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => {
            const [command, containerId, netns, ifName, args, path, stdin] = line.split('\t');
            return {
              command: command!,
              containerId: containerId!,
              netns: netns!,
              ifName: ifName!,
              args: Object.fromEntries(
                args!.split(';').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
              ),
              path: path!,
              stdin: JSON.parse(stdin!) as Record<string, unknown>,
            };
          })
      : [];

  beforeAll(async () => {
    base = workDir();
    log = join(base, 'cni-calls.log');
    const bin = join(base, 'bin');
    mkdirSync(bin);
    // logs one tab-separated line per call (stdin flattened onto it) and answers ADD with a fixed address
    // on eth0, which is all containerd needs from a result; fails ADD for the pod named "refused"
    writeFileSync(
      join(bin, 'ovnk-log'),
      `#!/bin/bash
conf=$(cat | tr -d '\\n\\t')
line=$(printf '%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s' "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_NETNS" "$CNI_IFNAME" "$CNI_ARGS" "$CNI_PATH" "$conf")
echo "$line" >>${JSON.stringify(log)}
case "$CNI_COMMAND" in
ADD) if [[ ";$CNI_ARGS;" == *";K8S_POD_NAME=refused;"* ]]; then
    printf '{"cniVersion":"1.0.0","code":11,"msg":"refused by the test"}'
    exit 1
  fi
  printf '{"cniVersion":"1.0.0","interfaces":[{"name":"%s","sandbox":"%s"}],"ips":[{"address":"10.123.0.5/24","interface":0}]}' "$CNI_IFNAME" "$CNI_NETNS" ;;
esac
`,
    );
    chmodSync(join(bin, 'ovnk-log'), 0o755);
    symlinkSync(join(STOCK_PLUGINS, 'loopback'), join(bin, 'loopback'));
    writeConflist(join(base, 'net.d'), {
      cniVersion: '1.0.0',
      name: 'ovnk-log-net',
      plugins: [{ type: 'ovnk-log', capabilities: { portMappings: true } }],
    });
    ctrd = await startContainerd({
      dir: join(base, 'containerd'),
      cniBinDir: bin,
      cniConfDir: join(base, 'net.d'),
    });
  });

  afterAll(async () => {
    await ctrd?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  test('ADD with the netns on run, DEL with the netns on stop, DEL with an empty netns on remove', async () => {
    const cri = ctrd!.cri;
    const config: PodSandboxConfig = {
      ...pod('web-0', 'shop'),
      portMappings: [{ protocol: 'TCP', containerPort: 80, hostPort: 18080 }],
    };
    const id = await cri.runPodSandbox(config);
    const status = await cri.podSandboxStatus(id);
    // containerd takes the pod's address from the plugin's result
    expect(status.network.ip).toBe('10.123.0.5');
    const netns = status.netnsPath!;
    expect(listNetns()).toContain(netnsName(netns));
    expect(calls().map((c) => c.command)).toEqual(['ADD']);

    await cri.stopPodSandbox(id);
    expect(calls().map((c) => c.command)).toEqual(['ADD', 'DEL']);
    expect(listNetns()).not.toContain(netnsName(netns));
    await cri.removePodSandbox(id);
    const [add, delOnStop, delOnRemove] = calls();
    expect(calls().map((c) => [c.command, c.netns])).toEqual([
      ['ADD', netns],
      ['DEL', netns],
      ['DEL', ''],
    ]);

    for (const c of [add!, delOnStop!, delOnRemove!]) {
      expect(c.containerId).toBe(id);
      expect(c.ifName).toBe('eth0');
      expect(c.path.split(':')).toContain(join(base, 'bin'));
      expect(c.args).toEqual({
        IgnoreUnknown: '1',
        K8S_POD_NAMESPACE: 'shop',
        K8S_POD_NAME: 'web-0',
        K8S_POD_INFRA_CONTAINER_ID: id,
        K8S_POD_UID: config.metadata.uid,
      });
      // the plugin's config with the network's name and version injected, and the declared capability.
      // containerd 1.6 writes the port mappings with Go's field names (no json tags in go-cni): a plugin
      // must read them case-insensitively, as Go's own decoder (and so the stock portmap) does.
      expect(c.stdin).toEqual({
        cniVersion: '1.0.0',
        name: 'ovnk-log-net',
        type: 'ovnk-log',
        capabilities: { portMappings: true },
        runtimeConfig: {
          portMappings: [{ HostPort: 18080, ContainerPort: 80, Protocol: 'tcp', HostIP: '' }],
        },
        ...(c.stdin.prevResult ? { prevResult: c.stdin.prevResult } : {}),
      });
    }
    // libcni caches ADD's result and hands it to the first DEL, then drops it with the cache entry
    expect(add!.stdin).not.toHaveProperty('prevResult');
    expect(delOnStop!.stdin.prevResult).toMatchObject({ ips: [{ address: '10.123.0.5/24' }] });
    expect(delOnRemove!.stdin).not.toHaveProperty('prevResult');
  });

  test('a failed ADD: containerd DELs with the netns at once, removes the netns and keeps no sandbox', async () => {
    const cri = ctrd!.cri;
    const before = calls().length;
    const err = await cri.runPodSandbox(pod('refused')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CriError);
    expect((err as CriError).details).toContain('refused by the test');
    const made = calls().slice(before);
    expect(made.map((c) => c.command)).toEqual(['ADD', 'DEL']);
    expect(made[1]!.netns).toBe(made[0]!.netns);
    expect(made[1]!.containerId).toBe(made[0]!.containerId);
    expect(listNetns()).not.toContain(netnsName(made[0]!.netns));
    expect(await cri.listPodSandbox()).toEqual([]);
  });
});
