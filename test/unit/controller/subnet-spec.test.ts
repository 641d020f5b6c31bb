import { describe, expect, test } from 'vitest';
import type { Subnet } from '../../../src/controller/k8s/types.ts';
import { formatSubnet, requireGateway } from '../../../src/controller/subnet-spec.ts';

const format = (cidrBlock: string) =>
  formatSubnet({ metadata: { name: 's' }, spec: { cidrBlock } } as Subnet, 'ovn-cluster');

describe('requireGateway', () => {
  test('a CIDR with no address left for the router port is refused (the API fuzz found it retried silently)', () => {
    for (const cidr of ['172.16.56.0/32', 'fd00::1/128', '10.1.0.0/24,fd00::1/128']) {
      expect(() => requireGateway(format(cidr))).toThrow(
        expect.objectContaining({ name: 'SubnetInvalid', reason: 'InvalidCIDR' }),
      );
    }
  });

  test('the smallest subnets that have one pass: /31, /30 and dual stack', () => {
    for (const cidr of ['172.16.56.0/31', '172.16.56.0/30', '10.1.0.0/24,fd00::/120'])
      expect(() => requireGateway(format(cidr))).not.toThrow();
  });
});
