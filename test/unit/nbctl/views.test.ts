// Corners of the views that ovn-nbctl itself does not let one build (the integration test compares
// everything ovn-nbctl can build with the real binary): rows written by other clients, odd values.
import { describe, expect, test } from 'vitest';
import { ViewError } from '../../../src/nbctl/errors.ts';
import { NB_VIEW_TABLES, runView } from '../../../src/nbctl/views.ts';
import { nbReplica, uuid } from './fixture.ts';

const text = (replica: ReturnType<typeof nbReplica>, name: string, ...args: string[]) =>
  runView(replica, name, args, 'text');

function errorOf(fn: () => unknown): ViewError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ViewError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('lists', () => {
  test('switches with one name: by uuid (ovn-nbctl: its hash order); lsp-list by name', () => {
    const r = nbReplica({
      Logical_Switch: {
        [uuid(3)]: { name: 'dup', ports: [uuid(10), uuid(11)] },
        [uuid(1)]: { name: 'dup' },
        [uuid(2)]: { name: 'a' },
      },
      Logical_Switch_Port: { [uuid(10)]: { name: 'z' }, [uuid(11)]: { name: 'b' } },
    });
    expect(text(r, 'ls-list')).toBe(`${uuid(2)} (a)\n${uuid(1)} (dup)\n${uuid(3)} (dup)\n`);
    expect(text(r, 'lsp-list', uuid(3))).toBe(`${uuid(11)} (b)\n${uuid(10)} (z)\n`);
    expect(errorOf(() => text(r, 'lsp-list', 'dup')).message).toBe(
      "ovn-nbctl: Multiple logical switches named 'dup'.  Use a UUID.",
    );
    expect(runView(r, 'ls-list', [], 'json')).toEqual([
      { uuid: uuid(2), name: 'a' },
      { uuid: uuid(1), name: 'dup' },
      { uuid: uuid(3), name: 'dup' },
    ]);
  });

  test('a reference to a row that is not there is skipped, as the IDL does', () => {
    const r = nbReplica({ Logical_Switch: { [uuid(1)]: { name: 's', ports: [uuid(9)] } } });
    expect(text(r, 'lsp-list', 's')).toBe('');
    expect(text(r, 'show', 's')).toBe(`switch ${uuid(1)} (s)\n`);
  });
});

describe('load balancers', () => {
  test('no protocol prints as glibc prints NULL; a template keeps its VIPs; no VIPs, no entry', () => {
    const r = nbReplica({
      Load_Balancer: {
        [uuid(1)]: { name: 'np', vips: { '10.0.0.1:80': '10.1.0.1:80' } },
        [uuid(2)]: {
          name: 'tpl',
          protocol: 'udp',
          options: { template: 'true' },
          vips: { '^vip:^port': '^b' },
        },
        [uuid(3)]: { name: 'empty' },
      },
    });
    expect(text(r, 'lb-list')).toBe(
      'UUID                                    LB                  PROTO      VIP            IPs\n' +
        `${uuid(1)}    np                  (null)     10.0.0.1:80    10.1.0.1:80\n` +
        `${uuid(2)}    tpl                 udp        ^vip:^port     ^b\n`,
    );
    expect(text(r, 'lb-list', 'empty')).toBe('');
  });
});

describe('routes', () => {
  test('longest prefix first, dst-ip before src-ip; bad prefixes left out; bad nexthops blank', () => {
    const r = nbReplica({
      Logical_Router: {
        [uuid(1)]: { name: 'r', static_routes: [uuid(2), uuid(3), uuid(4), uuid(5), uuid(6)] },
      },
      Logical_Router_Static_Route: {
        [uuid(2)]: { ip_prefix: '10.0.0.0/8', nexthop: '1.1.1.1', policy: 'src-ip' },
        [uuid(3)]: { ip_prefix: '10.0.0.0/8', nexthop: '1.1.1.2' },
        [uuid(4)]: { ip_prefix: 'not-a-prefix', nexthop: '1.1.1.3' },
        [uuid(5)]: { ip_prefix: '10.0.0.0/16', nexthop: 'bogus' },
        [uuid(6)]: { ip_prefix: 'fd00::/8', nexthop: 'fd00::1' },
      },
    });
    expect(text(r, 'lr-route-list', 'r')).toBe(
      'IPv4 Routes\nRoute Table <main>:\n' +
        '              10.0.0.0/16                           dst-ip\n' +
        '               10.0.0.0/8                   1.1.1.2 dst-ip\n' +
        '               10.0.0.0/8                   1.1.1.1 src-ip\n' +
        '\nIPv6 Routes\nRoute Table <main>:\n' +
        '                 fd00::/8                   fd00::1 dst-ip\n',
    );
  });
});

describe('acls', () => {
  test('equal keys keep the uuid order (glibc qsort is stable)', () => {
    const acl = { direction: 'to-lport', priority: 1, match: 'ip4', action: 'drop' } as const;
    const r = nbReplica({
      Logical_Switch: { [uuid(1)]: { name: 's', acls: [uuid(3), uuid(2)] } },
      ACL: { [uuid(2)]: { ...acl, label: 5 }, [uuid(3)]: { ...acl, label: 6 } },
    });
    expect(text(r, 'acl-list', 's')).toBe(
      '  to-lport     1 (ip4) drop label=5\n  to-lport     1 (ip4) drop label=6\n',
    );
  });
});

describe('arguments', () => {
  const r = nbReplica({ Logical_Router: { [uuid(1)]: { name: 'r' } } });

  test.each([
    [['nope'], 'UNKNOWN_VIEW', "ovn-nbctl: unknown command 'nope'; use --help for help"],
    [['lr-route-list'], 'BAD_ARGS', "ovn-nbctl: 'lr-route-list' command requires at least 1 arguments"],
    [['lr-list', 'x'], 'BAD_ARGS', "ovn-nbctl: 'lr-list' command takes at most 0 arguments"],
    [
      ['lr-route-list', '--route-table', 'r'],
      'BAD_ARGS',
      "ovn-nbctl: missing argument to '--route-table' option on 'lr-route-list' command",
    ],
    [['lr-list', '--x'], 'BAD_ARGS', "ovn-nbctl: 'lr-list' command has no '--x' option"],
    [['lr-route-list', 'x'], 'NOT_FOUND', 'ovn-nbctl: x: router name not found'],
    [['list', 'Logical_Router', 'x'], 'NOT_FOUND', 'ovn-nbctl: no row "x" in table Logical_Router'],
    [['toString'], 'UNKNOWN_VIEW', "ovn-nbctl: unknown command 'toString'; use --help for help"],
  ])('%j', ([name, ...rest], code, message) => {
    const options = rest.filter((a) => a.startsWith('--'));
    const args = rest.filter((a) => !a.startsWith('--'));
    const e = errorOf(() => runView(r, name!, [...options, ...args], 'text'));
    expect({ code: e.code, message: e.message }).toEqual({ code, message });
  });

  test('a table the replica does not hold is reported, not crashed on', () => {
    const e = errorOf(() =>
      runView(
        {
          ...r,
          rows: () => {
            throw new Error('table Logical_Router is not monitored');
          },
          get: r.get.bind(r),
          schema: r.schema,
        },
        'lr-list',
        [],
        'text',
      ),
    );
    expect(e.code).toBe('UNAVAILABLE');
  });
});

describe('the tables the views need', () => {
  test('a replica of NB_VIEW_TABLES serves every view but list and find of other tables', () => {
    const r = nbReplica(
      {
        Logical_Switch: {
          [uuid(1)]: { name: 's', ports: [uuid(2)], acls: [uuid(5)], load_balancer: [uuid(6)] },
        },
        Logical_Switch_Port: {
          [uuid(2)]: { name: 'p', addresses: ['router'], options: { 'router-port': 'rp' } },
        },
        Logical_Router: { [uuid(3)]: { name: 'r', ports: [uuid(4)] } },
        Logical_Router_Port: {
          [uuid(4)]: { name: 'rp', mac: '00:00:00:00:00:01', networks: ['10.0.0.1/24'] },
        },
        ACL: { [uuid(5)]: { direction: 'from-lport', priority: 1, match: 'ip', action: 'allow' } },
        Load_Balancer: {
          [uuid(6)]: { name: 'lb', protocol: 'tcp', vips: { '10.96.0.1:80': '10.0.0.2:80' } },
        },
      },
      NB_VIEW_TABLES,
    );
    for (const [name, ...args] of [
      ['show'],
      ['ls-list'],
      ['lr-list'],
      ['lsp-list', 's'],
      ['lrp-list', 'r'],
      ['lsp-show', 'p'],
      ['lr-route-list', 'r'],
      ['lr-policy-list', 'r'],
      ['acl-list', 's'],
      ['lb-list'],
      ['ls-lb-list', 's'],
      ['lr-lb-list', 'r'],
      ['list', 'Logical_Switch'],
    ]) {
      expect(typeof runView(r, name!, args, 'text')).toBe('string');
    }
    expect(text(r, 'lsp-show', 'p')).toContain('effective_addresses : ["00:00:00:00:00:01 10.0.0.1/24"]\n');
    expect(errorOf(() => text(r, 'list', 'NB_Global')).code).toBe('UNAVAILABLE');
  });
});
