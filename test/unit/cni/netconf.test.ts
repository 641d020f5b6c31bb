// Decoding and validating the network configuration, version negotiation and VERSION's answer.
import { describe, expect, test } from 'vitest';
import type { CniCommand } from '../../../src/cni/env.ts';
import { CniError } from '../../../src/cni/errors.ts';
import {
  callerVersion,
  decodeConfig,
  parseNetConf,
  SUPPORTED_VERSIONS,
  versionInfo,
} from '../../../src/cni/netconf.ts';

const CONF = { cniVersion: '1.0.0', name: 'ovnk', type: 'ovnk', server_socket: '/run/ovnk/daemon.sock' };

function errorOf(stdin: string, command: CniCommand = 'ADD'): { code: number; msg: string } | undefined {
  try {
    parseNetConf(stdin, command);
    return undefined;
  } catch (e) {
    if (!(e instanceof CniError)) throw e;
    return { code: e.code, msg: e.message };
  }
}

test('a valid config keeps everything, with the default timeout of 120 s', () => {
  const raw = { ...CONF, prevResult: { ips: [] }, runtimeConfig: { portMappings: [] }, extra: 1 };
  expect(parseNetConf(JSON.stringify(raw), 'ADD')).toEqual({
    cniVersion: '1.0.0',
    serverSocket: '/run/ovnk/daemon.sock',
    timeoutMs: 120_000,
    daemonWaitMs: 0,
    raw,
  });
});

test('timeout_seconds is read, fractions included, and capped to what a timer can hold', () => {
  expect(parseNetConf(JSON.stringify({ ...CONF, timeout_seconds: 0.25 }), 'ADD').timeoutMs).toBe(250);
  expect(parseNetConf(JSON.stringify({ ...CONF, timeout_seconds: 1e9 }), 'ADD').timeoutMs).toBe(2 ** 31 - 1);
  for (const bad of [0, -1, '5', null]) {
    expect(errorOf(JSON.stringify({ ...CONF, timeout_seconds: bad }))?.code).toBe(7);
  }
});

test('daemon_wait_seconds: 0 by default, never beyond timeout_seconds, code 7 unless a number >= 0', () => {
  expect(parseNetConf(JSON.stringify(CONF), 'ADD').daemonWaitMs).toBe(0);
  expect(parseNetConf(JSON.stringify({ ...CONF, daemon_wait_seconds: 2.5 }), 'ADD').daemonWaitMs).toBe(2500);
  const capped = { ...CONF, daemon_wait_seconds: 600, timeout_seconds: 30 };
  expect(parseNetConf(JSON.stringify(capped), 'ADD').daemonWaitMs).toBe(30_000);
  for (const bad of [-1, '5', null, true]) {
    expect(errorOf(JSON.stringify({ ...CONF, daemon_wait_seconds: bad }))?.code).toBe(7);
  }
});

describe('decoding: code 6', () => {
  test.each(['', 'not json', '{"a":', '[]', '"s"', '42', 'null'])('%j', (stdin) => {
    expect(errorOf(stdin)?.code).toBe(6);
    expect(() => decodeConfig(stdin)).toThrow(CniError);
  });
});

describe('versions', () => {
  test.each([...SUPPORTED_VERSIONS])('%s is accepted for ADD', (v) => {
    expect(parseNetConf(JSON.stringify({ ...CONF, cniVersion: v }), 'ADD').cniVersion).toBe(v);
  });
  test.each(['0.1.0', '0.2.0', '1.0.1', '2.0.0', ''])('%j is code 1', (v) => {
    expect(errorOf(JSON.stringify({ ...CONF, cniVersion: v }))?.code).toBe(1);
  });
  test('an absent cniVersion means 0.1.0: code 1; a non-string one is code 7', () => {
    const { cniVersion: _, ...noVersion } = CONF;
    expect(errorOf(JSON.stringify(noVersion))).toEqual({ code: 1, msg: expect.stringContaining('0.1.0') });
    expect(errorOf(JSON.stringify({ ...CONF, cniVersion: 1 }))?.code).toBe(7);
  });
  test('STATUS and GC need 1.1.0', () => {
    for (const command of ['STATUS', 'GC'] as const) {
      expect(errorOf(JSON.stringify(CONF), command)?.code).toBe(1);
      expect(errorOf(JSON.stringify({ ...CONF, cniVersion: '1.1.0' }), command)).toBeUndefined();
    }
  });
});

describe('invalid network config: code 7', () => {
  test.each(['name', 'type', 'server_socket'])('%s missing, empty or not a string', (key) => {
    const without: Record<string, unknown> = { ...CONF };
    delete without[key];
    expect(errorOf(JSON.stringify(without))).toEqual({ code: 7, msg: expect.stringContaining(key) });
    expect(errorOf(JSON.stringify({ ...CONF, [key]: '' }))?.code).toBe(7);
    expect(errorOf(JSON.stringify({ ...CONF, [key]: 5 }))?.code).toBe(7);
  });

  test('server_socket must be an absolute path a unix socket can have (107 bytes at most)', () => {
    for (const bad of ['daemon.sock', './daemon.sock', `/${'x'.repeat(107)}`, '/run/a\0b'])
      expect(errorOf(JSON.stringify({ ...CONF, server_socket: bad }))).toEqual({
        code: 7,
        msg: expect.stringContaining('server_socket'),
      });
    expect(errorOf(JSON.stringify({ ...CONF, server_socket: `/${'x'.repeat(106)}` }))).toBeUndefined();
  });
});

describe('VERSION', () => {
  test('answers in the caller version, or 1.0.0 when stdin does not say or says something unknown', () => {
    expect(versionInfo('{"cniVersion":"0.4.0"}')).toEqual({
      cniVersion: '0.4.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
    for (const stdin of ['', '{}', 'garbage', '{"cniVersion":"9.9.9"}', 'null', '{"cniVersion":7}']) {
      expect(versionInfo(stdin).cniVersion).toBe('1.0.0');
    }
  });
  test('callerVersion picks a supported version out of any stdin', () => {
    expect(callerVersion(JSON.stringify({ cniVersion: '1.1.0', name: 5 }))).toBe('1.1.0');
    expect(callerVersion('[1]')).toBe('1.0.0');
  });
});
