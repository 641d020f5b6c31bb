import { describe, expect, test } from 'vitest';
import {
  AttachmentSyntaxError,
  attachmentKey,
  parseNetworks,
  providerOf,
} from '../../../src/controller/attachments.ts';

describe('k8s.v1.cni.cncf.io/networks', () => {
  test('the short form: name, namespace/name, @interface, comma-separated', () => {
    expect(parseNetworks('attachnet, other/net2@eth9', 'default')).toEqual([
      { namespace: 'default', name: 'attachnet', ifName: undefined },
      { namespace: 'other', name: 'net2', ifName: 'eth9' },
    ]);
    expect(parseNetworks(undefined, 'x')).toEqual([]);
    expect(parseNetworks('  ', 'x')).toEqual([]);
  });

  test("Multus's JSON form", () => {
    expect(parseNetworks('[{"name":"a","interface":"net5"},{"name":"b","namespace":"n2"}]', 'ns')).toEqual([
      { namespace: 'ns', name: 'a', ifName: 'net5' },
      { namespace: 'n2', name: 'b', ifName: undefined },
    ]);
  });

  test('malformed values are errors', () => {
    for (const bad of ['a/b/c', 'Bad_Name', '[{"interface":"x"}]', '[nope', '{"name":"a"}'])
      expect(() => parseNetworks(bad, 'ns')).toThrow(AttachmentSyntaxError);
  });

  test("Kube-OVN's provider and annotation names", () => {
    const p = providerOf({ namespace: 'default', name: 'attachnet' });
    expect(p).toBe('attachnet.default.ovn');
    expect(attachmentKey(p, 'ip_address')).toBe('attachnet.default.ovn.kubernetes.io/ip_address');
  });
});
