import { describe, expect, test } from 'vitest';
import {
  desiredQos,
  egressShaperArgs,
  egressShaperRemoveArgs,
  maxRateBps,
  parseRate,
  providerOfPort,
  rateKeys,
} from '../../../src/daemon/qos.ts';

describe('parseRate', () => {
  test('Mbit/s as an integer or a decimal', () => {
    expect(parseRate('10')).toEqual({ kind: 'limit', mbps: 10 });
    expect(parseRate(' 2.5 ')).toEqual({ kind: 'limit', mbps: 2.5 });
    expect(parseRate('0.001')).toEqual({ kind: 'limit', mbps: 0.001 });
  });

  test('absent, empty and 0 mean no limit, as in Kube-OVN', () => {
    expect(parseRate(undefined)).toEqual({ kind: 'none' });
    expect(parseRate('')).toEqual({ kind: 'none' });
    expect(parseRate('0')).toEqual({ kind: 'none' });
    expect(parseRate('0.0')).toEqual({ kind: 'none' });
  });

  test('anything else is invalid, with the value kept for the log line', () => {
    for (const v of ['-1', 'ten', '10M', '1e3', '0x10', '1.', '.5', 'NaN', 'Infinity', '0.0001'])
      expect(parseRate(v)).toEqual({ kind: 'invalid', value: v });
  });
});

describe('desiredQos', () => {
  test('reads ovn.kubernetes.io/ingress_rate and egress_rate, each on its own', () => {
    expect(
      desiredQos({ 'ovn.kubernetes.io/ingress_rate': '10', 'ovn.kubernetes.io/egress_rate': 'x' }),
    ).toEqual({ ingress: { kind: 'limit', mbps: 10 }, egress: { kind: 'invalid', value: 'x' } });
    expect(desiredQos(undefined)).toEqual({ ingress: { kind: 'none' }, egress: { kind: 'none' } });
  });

  test("an attachment reads its provider's keys, not the first interface's", () => {
    const ann = { 'ovn.kubernetes.io/egress_rate': '10', 'net1.ns.ovn.kubernetes.io/egress_rate': '3' };
    expect(desiredQos(ann, 'net1.ns.ovn').egress).toEqual({ kind: 'limit', mbps: 3 });
    expect(rateKeys('net1.ns.ovn')).toEqual({
      ingress: 'net1.ns.ovn.kubernetes.io/ingress_rate',
      egress: 'net1.ns.ovn.kubernetes.io/egress_rate',
    });
  });
});

describe('what gets applied', () => {
  test("OVS's max-rate is in bit/s", () => {
    expect(maxRateBps(10)).toBe(10_000_000);
    expect(maxRateBps(0.5)).toBe(500_000);
  });

  test('the pod-side tbf: rate in kbit, a bucket of 20 ms at the rate but at least 32 KiB', () => {
    expect(egressShaperArgs('eth0', 10)).toEqual([
      'qdisc',
      'replace',
      'dev',
      'eth0',
      'root',
      'tbf',
      'rate',
      '10000kbit',
      'burst',
      '32768',
      'latency',
      '50ms',
    ]);
    expect(egressShaperArgs('net1', 1000)).toContain('2500000');
    expect(egressShaperArgs('eth0', 2.5)).toContain('2500kbit');
    expect(egressShaperRemoveArgs('eth0')).toEqual(['qdisc', 'del', 'dev', 'eth0', 'root']);
  });

  test("an attachment's provider comes back from its port's iface-id", () => {
    expect(providerOfPort('web.default', 'default', 'web')).toBeUndefined();
    expect(providerOfPort('web.default.net1.default.ovn', 'default', 'web')).toBe('net1.default.ovn');
    expect(providerOfPort('vm1.default', 'default', 'virt-launcher-vm1-x')).toBeUndefined();
  });
});
