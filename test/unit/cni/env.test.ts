// The CNI_* environment per command, and CNI_ARGS as libcni's LoadArgs reads it.
import { describe, expect, test } from 'vitest';
import { checkIfName, parseCniArgs, parseCommand, parseEnv } from '../../../src/cni/env.ts';
import { CniError } from '../../../src/cni/errors.ts';

const POD_ARGS =
  'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc';
const ADD = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'abc123',
  CNI_NETNS: '/var/run/netns/cni-1',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
  CNI_ARGS: `${POD_ARGS};K8S_POD_UID=uid-1`,
};

function codeOf(fn: () => unknown): { code: number; msg: string } | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (!(e instanceof CniError)) throw e;
    return { code: e.code, msg: e.message };
  }
}

describe('CNI_COMMAND', () => {
  test.each(['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'])('%s is known', (c) => {
    expect(parseCommand({ CNI_COMMAND: c })).toBe(c);
  });
  test.each([undefined, '', 'add', 'UPDATE'])('%j is code 4', (c) => {
    expect(codeOf(() => parseCommand({ CNI_COMMAND: c }))?.code).toBe(4);
  });
});

describe('parseCniArgs', () => {
  test('keys in any order, IgnoreUnknown lets other keys through', () => {
    const args = parseCniArgs('K8S_POD_NAME=p;FOO=bar;IgnoreUnknown=true;K8S_POD_NAMESPACE=ns');
    expect(Object.fromEntries(args)).toEqual({
      K8S_POD_NAME: 'p',
      FOO: 'bar',
      IgnoreUnknown: 'true',
      K8S_POD_NAMESPACE: 'ns',
    });
  });
  test('an empty string and empty pairs give nothing; a value may contain "=" and be empty', () => {
    expect(parseCniArgs('').size).toBe(0);
    expect(Object.fromEntries(parseCniArgs('K8S_POD_NAME=a=b;;K8S_POD_UID=;'))).toEqual({
      K8S_POD_NAME: 'a=b',
      K8S_POD_UID: '',
    });
  });
  test('unknown keys without IgnoreUnknown (or with IgnoreUnknown=0) are code 4', () => {
    expect(codeOf(() => parseCniArgs('K8S_POD_NAME=p;FOO=bar'))).toMatchObject({ code: 4 });
    expect(codeOf(() => parseCniArgs('IgnoreUnknown=0;FOO=bar'))?.msg).toContain('FOO');
    expect(codeOf(() => parseCniArgs('IgnoreUnknown=1;FOO=bar'))).toBeUndefined();
    expect(codeOf(() => parseCniArgs('IgnoreUnknown=TRUE;FOO=bar'))).toBeUndefined();
  });
  test.each(['K8S_POD_NAME', '=v', 'IgnoreUnknown=yes', 'a=b;c'])('%j is malformed: code 4', (raw) => {
    expect(codeOf(() => parseCniArgs(raw))?.code).toBe(4);
  });
});

describe('checkIfName', () => {
  test.each(['eth0', 'net1', 'a', '123456789012345'])('%j is valid', (n) => {
    expect(codeOf(() => checkIfName(n))).toBeUndefined();
  });
  test.each(['1234567890123456', '.', '..', 'eth/0', 'eth:0', 'eth 0', 'eth\t0'])('%j is code 4', (n) => {
    expect(codeOf(() => checkIfName(n))?.code).toBe(4);
  });
});

describe('parseEnv', () => {
  test('ADD with everything', () => {
    expect(parseEnv(ADD)).toEqual({
      command: 'ADD',
      containerId: 'abc123',
      netns: '/var/run/netns/cni-1',
      ifName: 'eth0',
      podName: 'web-0',
      podNamespace: 'default',
      podUid: 'uid-1',
    });
  });

  const requirements: [string, string[]][] = [
    ['ADD', ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'K8S_POD_NAME', 'K8S_POD_NAMESPACE']],
    ['CHECK', ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'K8S_POD_NAME', 'K8S_POD_NAMESPACE']],
    ['DEL', ['CNI_CONTAINERID', 'CNI_IFNAME']],
  ];
  for (const [command, needed] of requirements) {
    test.each(needed)(`${command} without %s is code 4 naming it`, (name) => {
      const env: Record<string, string> = { ...ADD, CNI_COMMAND: command };
      if (name.startsWith('K8S_')) env.CNI_ARGS = env.CNI_ARGS!.replace(new RegExp(`${name}=[^;]*;?`), '');
      else delete env[name];
      expect(codeOf(() => parseEnv(env))).toEqual({ code: 4, msg: expect.stringContaining(name) });
      if (!name.startsWith('K8S_')) {
        expect(codeOf(() => parseEnv({ ...env, [name]: '' }))?.code).toBe(4);
      }
    });
  }

  test('DEL may have an empty or absent CNI_NETNS and no pod args', () => {
    const del = { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' };
    expect(parseEnv({ ...del, CNI_NETNS: '' })).toMatchObject({ netns: '', podName: '', podNamespace: '' });
    expect(parseEnv(del)).toMatchObject({ command: 'DEL', containerId: 'c1', netns: '' });
  });

  test('GC and STATUS need nothing, pass no attachment and ignore CNI_ARGS', () => {
    for (const command of ['GC', 'STATUS']) {
      expect(
        parseEnv({ CNI_COMMAND: command, CNI_NETNS: '/x', CNI_CONTAINERID: 'c', CNI_ARGS: 'junk' }),
      ).toEqual({
        command,
        containerId: '',
        netns: '',
        ifName: '',
        podName: '',
        podNamespace: '',
        podUid: '',
      });
    }
  });

  test('a container id outside the spec alphabet is code 4', () => {
    for (const id of ['-abc', 'a b', 'a/b', '_x']) {
      expect(codeOf(() => parseEnv({ ...ADD, CNI_CONTAINERID: id }))?.code).toBe(4);
    }
    expect(parseEnv({ ...ADD, CNI_CONTAINERID: 'A1_b.c-d' }).containerId).toBe('A1_b.c-d');
  });

  test('a malformed CNI_ARGS is code 4 even on DEL', () => {
    expect(codeOf(() => parseEnv({ ...ADD, CNI_COMMAND: 'DEL', CNI_ARGS: 'garbage' }))?.code).toBe(4);
  });
});
