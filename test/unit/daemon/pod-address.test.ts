import { describe, expect, test } from 'vitest';
import { Ann } from '../../../src/controller/k8s/annotations.ts';
import { isAddressed, podAddress } from '../../../src/daemon/pod-address.ts';

const base = {
  [Ann.allocated]: 'true',
  [Ann.routed]: 'true',
  [Ann.ipAddress]: '10.16.0.5',
  [Ann.macAddress]: '0A:00:00:00:00:05',
  [Ann.cidr]: '10.16.0.0/16',
  [Ann.gateway]: '10.16.0.1',
  [Ann.logicalSwitch]: 'ovn-default',
};

describe('pod address from annotations', () => {
  test('ready only once allocated, routed, ip and mac are all there', () => {
    expect(isAddressed(base)).toBe(true);
    expect(isAddressed({ ...base, [Ann.routed]: 'false' })).toBe(false);
    const { [Ann.macAddress]: _, ...noMac } = base;
    expect(isAddressed(noMac)).toBe(false);
    expect(isAddressed(undefined)).toBe(false);
  });

  test('IPv4: address with the subnet prefix, gateway, lower-case MAC', () => {
    expect(podAddress(base)).toEqual({
      mac: '0a:00:00:00:00:05',
      addresses: ['10.16.0.5/16'],
      gateways: ['10.16.0.1'],
      subnet: 'ovn-default',
    });
  });

  test('dual stack pairs each address with its family cidr and gateway, whatever their order', () => {
    const a = podAddress({
      ...base,
      [Ann.ipAddress]: '10.16.0.5,fd00:10:16::5',
      [Ann.cidr]: 'fd00:10:16::/64,10.16.0.0/16',
      [Ann.gateway]: '10.16.0.1,fd00:10:16::1',
    });
    expect(a.addresses).toEqual(['10.16.0.5/16', 'fd00:10:16::5/64']);
    expect(a.gateways).toEqual(['10.16.0.1', 'fd00:10:16::1']);
  });

  test('malformed annotations are errors naming the field', () => {
    expect(() => podAddress({ ...base, [Ann.macAddress]: 'zz' })).toThrow(/mac_address/);
    expect(() => podAddress({ ...base, [Ann.ipAddress]: '10.16.0.300' })).toThrow(/ip_address/);
    expect(() => podAddress({ ...base, [Ann.cidr]: 'fd00::/64' })).toThrow(/IPv4 cidr/);
    expect(() => podAddress({ ...base, [Ann.gateway]: '' })).toThrow(/gateway/);
  });
});
