import { describe, expect, test } from 'vitest';
import { ConnectionError } from '../../../src/ovsdb/errors.ts';
import { versionCompatible } from '../../../src/ovsdb/schema.ts';
import { parseRemote, parseRemotes } from '../../../src/ovsdb/transport.ts';

describe('remotes', () => {
  test('the forms ovn-nbctl accepts', () => {
    expect(parseRemote('tcp:127.0.0.1:6641')).toMatchObject({ kind: 'tcp', host: '127.0.0.1', port: 6641 });
    expect(parseRemote('ssl:[::1]:6641')).toMatchObject({ kind: 'ssl', host: '::1', port: 6641 });
    expect(parseRemote('unix:/run/ovn/ovnnb_db.sock')).toMatchObject({
      kind: 'unix',
      path: '/run/ovn/ovnnb_db.sock',
    });
    expect(parseRemotes('tcp:a:1, tcp:b:2,unix:/x').map((r) => r.text)).toEqual([
      'tcp:a:1',
      'tcp:b:2',
      'unix:/x',
    ]);
  });
  test.each(['', 'tcp:host', 'tcp:host:0', 'tcp:host:70000', 'unix:', 'http://x:1', 'ptcp:6641'])(
    '%j is refused',
    (s) => {
      expect(() => parseRemotes(s)).toThrow(ConnectionError);
    },
  );
});

describe('schema versions', () => {
  test('same major, server not older', () => {
    expect(versionCompatible('7.0.0', '7.0.0')).toBe(true);
    expect(versionCompatible('7.0.0', '7.3.1')).toBe(true);
    expect(versionCompatible('7.1.0', '7.0.9')).toBe(false);
    expect(versionCompatible('7.0.0', '8.0.0')).toBe(false);
  });
});
