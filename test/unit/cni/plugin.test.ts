// One invocation end to end with the daemon call replaced: what is asked of the daemon, and what is printed.
import { expect, test } from 'vitest';
import type { DaemonRequest } from '../../../src/cni/daemon-client.ts';
import { CniError } from '../../../src/cni/errors.ts';
import { type CallDaemon, runPlugin } from '../../../src/cni/plugin.ts';

const CONF = {
  cniVersion: '0.4.0',
  name: 'ovnk',
  type: 'ovnk',
  server_socket: '/s.sock',
  timeout_seconds: 3,
};
const ENV = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/x',
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'K8S_POD_UID=u1;K8S_POD_NAME=p;K8S_POD_NAMESPACE=ns',
};

function recorder(answer: (body: DaemonRequest) => Record<string, unknown>) {
  const calls: { socketPath: string; body: DaemonRequest; timeoutMs: number }[] = [];
  const call: CallDaemon = async (socketPath, body, timeoutMs) => {
    calls.push({ socketPath, body, timeoutMs });
    return answer(body);
  };
  return { calls, call };
}

test('ADD sends the whole invocation and prints the result in the caller version', async () => {
  const { calls, call } = recorder(() => ({ cniVersion: '1.0.0', ips: [{ address: '10.16.0.5/16' }] }));
  const out = await runPlugin(ENV, JSON.stringify(CONF), call);
  expect(calls).toEqual([
    {
      socketPath: '/s.sock',
      timeoutMs: 3000,
      body: {
        command: 'ADD',
        cniVersion: '0.4.0',
        containerId: 'c1',
        netns: '/var/run/netns/x',
        ifName: 'eth0',
        podName: 'p',
        podNamespace: 'ns',
        podUid: 'u1',
        config: CONF,
      },
    },
  ]);
  expect(out).toEqual({
    exitCode: 0,
    output: { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.16.0.5/16' }] },
  });
});

test('DEL, CHECK, GC and STATUS print nothing on success', async () => {
  const conf = JSON.stringify({ ...CONF, cniVersion: '1.1.0' });
  for (const command of ['DEL', 'CHECK', 'GC', 'STATUS']) {
    const { calls, call } = recorder(() => ({}));
    expect(await runPlugin({ ...ENV, CNI_COMMAND: command }, conf, call)).toEqual({ exitCode: 0 });
    expect(calls[0]!.body.command).toBe(command);
  }
});

test("the daemon's error is printed with the caller's version", async () => {
  const call: CallDaemon = async () => {
    throw new CniError(103, 'port not installed', 'ovn-controller');
  };
  const out = await runPlugin(ENV, JSON.stringify(CONF), call);
  expect(out.exitCode).toBe(1);
  expect(out.output).toEqual({
    cniVersion: '0.4.0',
    code: 103,
    msg: 'port not installed',
    details: 'ovn-controller',
  });
});

test('errors found before the call never reach the daemon; a thrown non-CniError is code 999', async () => {
  const { calls, call } = recorder(() => ({}));
  expect((await runPlugin({ ...ENV, CNI_NETNS: '' }, JSON.stringify(CONF), call)).output).toMatchObject({
    cniVersion: '0.4.0',
    code: 4,
  });
  expect((await runPlugin(ENV, '{', call)).output).toMatchObject({ cniVersion: '1.0.0', code: 6 });
  expect(calls).toEqual([]);
  const broken: CallDaemon = async () => {
    throw new TypeError('boom');
  };
  expect((await runPlugin(ENV, JSON.stringify(CONF), broken)).output).toMatchObject({ code: 999 });
});

test('VERSION needs no config and never calls the daemon', async () => {
  const { calls, call } = recorder(() => ({}));
  expect(await runPlugin({ CNI_COMMAND: 'VERSION' }, '', call)).toEqual({
    exitCode: 0,
    output: { cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] },
  });
  expect(calls).toEqual([]);
});
