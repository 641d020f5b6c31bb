// ADD's 1.0.0-shaped result from the daemon, in each version a runtime may call with.
import { expect, test } from 'vitest';
import { CniError } from '../../../src/cni/errors.ts';
import { resultForVersion } from '../../../src/cni/result.ts';

const RESULT = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eth0', mac: '0a:58:0a:10:00:05', sandbox: '/var/run/netns/x', mtu: 1400 }],
  ips: [
    { address: '10.16.0.5/16', gateway: '10.16.0.1', interface: 0 },
    { address: 'fd00:10:16::5/64', gateway: 'fd00:10:16::1', interface: 0 },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.16.0.1', mtu: 1400 },
    { dst: '::/0', gw: 'fd00:10:16::1' },
  ],
  dns: { nameservers: ['10.96.0.10'], search: ['default.svc.cluster.local'] },
};

test('1.0.0 and 1.1.0 keep the 1.0.0 shape, with the caller version', () => {
  for (const v of ['1.0.0', '1.1.0']) {
    expect(resultForVersion(RESULT, v)).toEqual({ ...RESULT, cniVersion: v });
  }
});

test('0.3.0, 0.3.1 and 0.4.0 get "version" on every IP and only the fields those versions know', () => {
  for (const v of ['0.3.0', '0.3.1', '0.4.0']) {
    expect(resultForVersion(RESULT, v)).toEqual({
      cniVersion: v,
      interfaces: [{ name: 'eth0', mac: '0a:58:0a:10:00:05', sandbox: '/var/run/netns/x' }],
      ips: [
        { version: '4', address: '10.16.0.5/16', gateway: '10.16.0.1', interface: 0 },
        { version: '6', address: 'fd00:10:16::5/64', gateway: 'fd00:10:16::1', interface: 0 },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '10.16.0.1' },
        { dst: '::/0', gw: 'fd00:10:16::1' },
      ],
      dns: RESULT.dns,
    });
  }
});

test('absent lists stay absent', () => {
  expect(resultForVersion({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] }, '0.4.0')).toEqual({
    cniVersion: '0.4.0',
    ips: [{ version: '4', address: '10.0.0.2/24' }],
  });
  expect(resultForVersion({}, '1.0.0')).toEqual({ cniVersion: '1.0.0' });
});

test('a malformed result is a bug of the daemon: code 999', () => {
  for (const bad of [null, [], 'x', { ips: 'x' }, { ips: [{}] }, { interfaces: [1] }, { routes: {} }]) {
    let error: unknown;
    try {
      resultForVersion(bad, '1.0.0');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CniError);
    expect((error as CniError).code).toBe(999);
  }
});
