// The conflist runner against small bash plugins of the test's own, which record what they were given
// (stdin, CNI_* environment, call order) into files: chaining as libcni does it, the result cache, and how
// plugin errors come back.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, test } from 'vitest';
import {
  type CniConfList,
  CniError,
  type CniRuntimeConf,
  cachedResult,
  cniAdd,
  cniCheck,
  cniDel,
  cniGc,
  cniStatus,
  parseConfList,
} from '../../../src/lab/cni-runtime.ts';

const root = mkdtempSync(join(tmpdir(), 'ovnk-cni-runtime-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let bin: string;
let calls: string;
let cache: string;

interface Behaviour {
  /** Printed on ADD (a CNI result). */
  result?: object;
  /** Printed on stdout with exit 1 for these commands. */
  error?: { commands: string[]; body: object };
  /** Exit 1 with only this on stderr. */
  stderrOnly?: string;
  sleepS?: number;
}

/** A plugin that appends "<seq> <name> <command>" to calls, and saves its stdin and CNI_* env per call. */
function plugin(name: string, b: Behaviour = {}): void {
  const lines = [
    '#!/bin/bash',
    'set -e',
    `calls=${calls}/log`,
    'n=$(( $(wc -l <"$calls") + 1 ))',
    `echo "$n ${name} $CNI_COMMAND" >>"$calls"`,
    `cat >"${calls}/$n.stdin"`,
    `env | grep '^CNI_' | sort >"${calls}/$n.env"`,
  ];
  if (b.sleepS) lines.push(`sleep ${b.sleepS}`);
  if (b.stderrOnly) lines.push(`echo '${b.stderrOnly}' >&2; exit 1`);
  if (b.error) {
    lines.push(
      `case "$CNI_COMMAND" in ${b.error.commands.join('|')}) echo '${JSON.stringify(b.error.body)}'; exit 1;; esac`,
    );
  }
  if (b.result) lines.push(`if [ "$CNI_COMMAND" = ADD ]; then echo '${JSON.stringify(b.result)}'; fi`);
  const path = join(bin, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  chmodSync(path, 0o755);
}

interface Call {
  plugin: string;
  command: string;
  stdin: Record<string, unknown>;
  env: Record<string, string>;
}

function recorded(): Call[] {
  return readFileSync(join(calls, 'log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [n, plugin, command] = line.split(' ') as [string, string, string];
      const env = Object.fromEntries(
        readFileSync(join(calls, `${n}.env`), 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      const text = readFileSync(join(calls, `${n}.stdin`), 'utf8');
      return { plugin, command, stdin: JSON.parse(text) as Record<string, unknown>, env };
    });
}

const resultOf = (who: string, ip: string) => ({
  cniVersion: '1.0.0',
  interfaces: [{ name: `${who}0` }, { name: 'eth0', sandbox: '/var/run/netns/x' }],
  ips: [{ address: `${ip}/24`, gateway: '10.1.0.1', interface: 1 }],
});
const A = resultOf('a', '10.1.0.5');
const B = resultOf('b', '10.1.0.6');
const C = resultOf('c', '10.1.0.7');

function list(plugins: CniConfList['plugins'], cniVersion = '1.0.0'): CniConfList {
  return parseConfList(JSON.stringify({ cniVersion, name: 'testnet', plugins }));
}

function rt(over: Partial<CniRuntimeConf> = {}): CniRuntimeConf {
  return {
    containerId: 'c0ffee',
    netns: '/var/run/netns/x',
    ifName: 'eth0',
    args: [
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAMESPACE', 'ns1'],
      ['K8S_POD_NAME', 'p1'],
      ['K8S_POD_INFRA_CONTAINER_ID', 'c0ffee'],
      ['K8S_POD_UID', 'u-1'],
    ],
    binDirs: ['/nonexistent', bin],
    cacheDir: cache,
    ...over,
  };
}

let dirs = 0;
beforeEach(() => {
  const d = join(root, String(++dirs));
  bin = join(d, 'bin');
  calls = join(d, 'calls');
  cache = join(d, 'cache');
  mkdirSync(bin, { recursive: true });
  mkdirSync(calls, { recursive: true });
  writeFileSync(join(calls, 'log'), '');
});

describe('cni runtime', () => {
  const chain = () =>
    list([
      { type: 'a', cniVersion: '0.3.1', capabilities: { portMappings: true, ips: false }, own: 1 },
      { type: 'b' },
      { type: 'c', capabilities: { bandwidth: true, portMappings: false } },
    ]);
  const capabilityArgs = {
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    ips: ['x'],
  };

  test('ADD runs the plugins in order, passing each result on, with runtimeConfig only for declared capabilities', async () => {
    plugin('a', { result: A });
    plugin('b', { result: B });
    plugin('c', { result: C });
    const result = await cniAdd(chain(), rt({ capabilityArgs }));
    expect(result).toEqual(C);

    const got = recorded();
    expect(got.map((c) => `${c.plugin} ${c.command}`)).toEqual(['a ADD', 'b ADD', 'c ADD']);
    const [a, b, c] = got as [Call, Call, Call];
    // name and cniVersion come from the list, over the plugin's own; the plugin's other keys stay
    expect(a.stdin).toEqual({
      type: 'a',
      name: 'testnet',
      cniVersion: '1.0.0',
      capabilities: { portMappings: true, ips: false },
      own: 1,
      runtimeConfig: { portMappings: capabilityArgs.portMappings },
    });
    expect(b.stdin).toEqual({ type: 'b', name: 'testnet', cniVersion: '1.0.0', prevResult: A });
    // bandwidth is declared but not given; portMappings is given but declared false
    expect(c.stdin).toEqual({
      type: 'c',
      name: 'testnet',
      cniVersion: '1.0.0',
      capabilities: { bandwidth: true, portMappings: false },
      prevResult: B,
    });
    for (const call of got) {
      expect(call.env).toEqual({
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: 'c0ffee',
        CNI_NETNS: '/var/run/netns/x',
        CNI_IFNAME: 'eth0',
        CNI_ARGS:
          'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p1;K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=u-1',
        CNI_PATH: `/nonexistent:${bin}`,
      });
    }
    // cached where libcni caches it, in its format
    const file = join(cache, 'results', 'testnet-c0ffee-eth0');
    const entry = JSON.parse(readFileSync(file, 'utf8'));
    expect(entry).toMatchObject({ kind: 'cniCacheV1', containerId: 'c0ffee', ifName: 'eth0', result: C });
    expect(entry.cniArgs).toEqual(rt().args);
  });

  test('CHECK in order and DEL in reverse order get the cached result; DEL drops it and can be repeated', async () => {
    plugin('a', { result: A });
    plugin('b', { result: B });
    plugin('c', { result: C });
    const conf = chain();
    await cniAdd(conf, rt({ capabilityArgs }));
    await cniCheck(conf, rt({ capabilityArgs }));
    await cniDel(conf, rt({ capabilityArgs, netns: '' }));
    expect(cachedResult(conf, rt())).toBeUndefined();
    await cniDel(conf, rt());

    const got = recorded().slice(3);
    expect(got.map((c) => `${c.plugin} ${c.command}`)).toEqual([
      'a CHECK',
      'b CHECK',
      'c CHECK',
      'c DEL',
      'b DEL',
      'a DEL',
      'c DEL',
      'b DEL',
      'a DEL',
    ]);
    for (const call of got.slice(0, 6)) expect(call.stdin.prevResult).toEqual(C);
    expect(got[0]!.stdin.runtimeConfig).toEqual({ portMappings: capabilityArgs.portMappings });
    expect(got[3]!.env.CNI_NETNS).toBe('');
    // the second DEL: nothing cached any more, so no prevResult
    for (const call of got.slice(6)) expect(call.stdin).not.toHaveProperty('prevResult');
  });

  test('a plugin error stops the chain and comes back typed, with code, msg, details and plugin', async () => {
    plugin('a', { result: A });
    plugin('b', {
      error: {
        commands: ['ADD'],
        body: { cniVersion: '1.0.0', code: 101, msg: 'no way', details: 'because' },
      },
    });
    plugin('c', { result: C });
    const err = await cniAdd(chain(), rt()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect(err).toMatchObject({
      command: 'ADD',
      plugin: 'b',
      code: 101,
      msg: 'no way',
      details: 'because',
      origin: 'plugin',
      message: 'plugin type="b" failed (add): no way; because',
    });
    expect(recorded().map((c) => c.plugin)).toEqual(['a', 'b']);
    expect(cachedResult(chain(), rt())).toBeUndefined();
  });

  test('failures without a CNI error: stderr only, a missing binary, a timeout', async () => {
    plugin('a', { stderrOnly: 'kaput' });
    const one = list([{ type: 'a' }]);
    await expect(cniAdd(one, rt())).rejects.toMatchObject({ code: 0, msg: 'netplugin failed: "kaput"' });
    await expect(cniAdd(list([{ type: 'missing' }]), rt())).rejects.toMatchObject({
      origin: 'runtime',
      plugin: 'missing',
      msg: expect.stringContaining('failed to find plugin "missing"'),
    });
    plugin('slow', { sleepS: 5, result: A });
    const started = Date.now();
    await expect(cniAdd(list([{ type: 'slow' }]), rt({ timeoutMs: 300 }))).rejects.toMatchObject({
      origin: 'runtime',
      msg: 'timed out after 300 ms',
    });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  test('spec 0.3.1: DEL gets no prevResult and CHECK does not exist', async () => {
    plugin('a', { result: { ...A, cniVersion: '0.3.1' } });
    const old = list([{ type: 'a' }], '0.3.1');
    await cniAdd(old, rt());
    await expect(cniCheck(old, rt())).rejects.toThrow('does not support the CHECK command');
    await cniDel(old, rt());
    const del = recorded().find((c) => c.command === 'DEL')!;
    expect(del.stdin).not.toHaveProperty('prevResult');
  });

  test('GC: stale cached attachments are DELeted; plugins get GC only at 1.1.0; STATUS only at 1.1.0', async () => {
    plugin('a', { result: A });
    plugin('b', { result: B });
    for (const version of ['1.0.0', '1.1.0']) {
      const conf = list([{ type: 'a' }, { type: 'b' }], version);
      for (const id of ['keep1', 'stale1']) await cniAdd(conf, rt({ containerId: id }));
      const before = recorded().length;
      await cniGc(conf, [{ containerID: 'keep1', ifname: 'eth0' }], { binDirs: [bin], cacheDir: cache });
      await cniStatus(conf, { binDirs: [bin], cacheDir: cache });
      const got = recorded().slice(before);
      const expected = ['b DEL stale1', 'a DEL stale1'];
      if (version === '1.1.0') expected.push('a GC ', 'b GC ', 'a STATUS ', 'b STATUS ');
      expect(got.map((c) => `${c.plugin} ${c.command} ${c.env.CNI_CONTAINERID}`)).toEqual(expected);
      if (version === '1.1.0') {
        expect(got[2]!.stdin['cni.dev/valid-attachments']).toEqual([
          { containerID: 'keep1', ifname: 'eth0' },
        ]);
        expect(got[2]!.stdin).toMatchObject({ name: 'testnet', cniVersion: '1.1.0' });
      }
      expect(readdirSync(join(cache, 'results'))).toEqual(['testnet-keep1-eth0']);
      await cniDel(conf, rt({ containerId: 'keep1' }));
    }
  });

  test('STATUS: the first plugin that is not ready stops it, with its code', async () => {
    plugin('a', { error: { commands: ['STATUS'], body: { code: 50, msg: 'daemon not ready' } } });
    plugin('b', {});
    const err = await cniStatus(list([{ type: 'a' }, { type: 'b' }], '1.1.0'), {
      binDirs: [bin],
      cacheDir: cache,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ command: 'STATUS', plugin: 'a', code: 50, msg: 'daemon not ready' });
    expect(recorded().map((c) => c.plugin)).toEqual(['a']);
  });

  test('bad runtime input is refused before any plugin runs', async () => {
    plugin('a', { result: A });
    const one = list([{ type: 'a' }]);
    await expect(cniAdd(one, rt({ containerId: '../x' }))).rejects.toMatchObject({ code: 4 });
    await expect(cniAdd(one, rt({ ifName: 'a-very-long-interface' }))).rejects.toMatchObject({ code: 4 });
    await expect(cniAdd(one, rt({ netns: '' }))).rejects.toMatchObject({ code: 4 });
    expect(recorded()).toEqual([]);
    expect(() => parseConfList('{"name":"x","cniVersion":"0.2.0","plugins":[{"type":"a"}]}')).toThrow(
      'unsupported cniVersion',
    );
    expect(
      parseConfList(
        '{"name":"x","cniVersion":"0.4.0","cniVersions":["1.0.0","1.1.0","9.0.0"],"plugins":[{"type":"a"}]}',
      ).cniVersion,
    ).toBe('1.1.0');
  });
});
