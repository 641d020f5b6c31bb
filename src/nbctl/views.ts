// The views by ovn-nbctl command name, with ovn-nbctl's argument checking: runView(replica, 'lsp-list',
// ['ovn-default'], 'text') prints what `ovn-nbctl lsp-list ovn-default` prints; 'json' gives the same
// data as an object. Command options precede the arguments, as on ovn-nbctl's command line
// (['--route-table=rtb', 'vpc-a']). runOvsView does the same for a node's Open_vSwitch database.
import { aclList, lbList, lrLbList, lsLbList, renderAclList, renderLbList } from './acls-lbs.ts';
import { type Tool, ViewError } from './errors.ts';
import {
  findRecords,
  listRecords,
  NB_ROW_IDS,
  OVS_ROW_IDS,
  type RecordList,
  type RowId,
  renderRecordList,
} from './generic.ts';
import { lrList, lrpList, lsList, lspList, renderNamedList } from './lists.ts';
import { ovsShow, ovsShowJson } from './ovs-show.ts';
import { portDetail, renderPortDetail } from './port.ts';
import { lrPolicyList, lrRouteList, renderPolicyList, renderRouteList } from './routes.ts';
import { renderShow, showModel } from './show.ts';
import { type NbSource, type OvsSource, type RowSource, unmonitoredTable } from './source.ts';

export type ViewFormat = 'text' | 'json';

/**
 * The northbound tables the ovn-nbctl views read, each with all its columns: a replica for runView
 * should monitor at least these (list and find work on whatever tables the replica holds).
 */
export const NB_VIEW_TABLES = [
  'ACL',
  'Gateway_Chassis',
  'Load_Balancer',
  'Load_Balancer_Group',
  'Logical_Router',
  'Logical_Router_Policy',
  'Logical_Router_Port',
  'Logical_Router_Static_Route',
  'Logical_Switch',
  'Logical_Switch_Port',
  'NAT',
  'Port_Group',
] as const;

interface ViewSpec<S> {
  minArgs: number;
  maxArgs: number;
  /** Options as ovn-nbctl declares them: "--name=" takes a value, "--name" does not. */
  options?: string[];
  summary: string;
  model(src: S, args: string[], options: Map<string, string | undefined>): unknown;
  text(model: never, src: S): string;
}

/** A view spec, typed by its model so that the model and its renderer agree. */
function view<S, M>(spec: {
  minArgs: number;
  maxArgs: number;
  options?: string[];
  summary: string;
  model(src: S, args: string[], options: Map<string, string | undefined>): M;
  text(model: M, src: S): string;
}): ViewSpec<S> {
  return spec as ViewSpec<S>;
}

const genericViews = <S extends RowSource>(rowIds: Record<string, RowId[]>) => ({
  list: view<S, RecordList>({
    minArgs: 1,
    maxArgs: Number.POSITIVE_INFINITY,
    options: ['--columns=', '--if-exists'],
    summary: 'list TABLE [RECORD...]',
    model: (src, [table, ...records], o) =>
      listRecords(src as never, rowIds, table!, records, {
        columns: o.get('--columns'),
        ifExists: o.has('--if-exists'),
      }),
    text: (m, src) => renderRecordList(src, m),
  }),
  find: view<S, RecordList>({
    minArgs: 1,
    maxArgs: Number.POSITIVE_INFINITY,
    options: ['--columns='],
    summary: 'find TABLE [COLUMN[:KEY]=VALUE...]',
    model: (src, [table, ...conditions], o) =>
      findRecords(src as never, table!, conditions, { columns: o.get('--columns') }),
    text: (m, src) => renderRecordList(src, m),
  }),
});

export const NB_VIEWS: Record<string, ViewSpec<NbSource>> = {
  show: view({
    minArgs: 0,
    maxArgs: 1,
    summary: 'show [SWITCH|ROUTER]',
    model: (src: NbSource, [id]) => showModel(src, id),
    text: renderShow,
  }),
  'ls-list': view({
    minArgs: 0,
    maxArgs: 0,
    summary: 'ls-list',
    model: (src: NbSource) => lsList(src),
    text: renderNamedList,
  }),
  'lr-list': view({
    minArgs: 0,
    maxArgs: 0,
    summary: 'lr-list',
    model: (src: NbSource) => lrList(src),
    text: renderNamedList,
  }),
  'lsp-list': view({
    minArgs: 1,
    maxArgs: 1,
    summary: 'lsp-list SWITCH',
    model: (src: NbSource, [ls]) => lspList(src, ls!),
    text: renderNamedList,
  }),
  'lrp-list': view({
    minArgs: 1,
    maxArgs: 1,
    summary: 'lrp-list ROUTER',
    model: (src: NbSource, [lr]) => lrpList(src, lr!),
    text: renderNamedList,
  }),
  'lsp-show': view({
    minArgs: 1,
    maxArgs: 1,
    summary: 'lsp-show PORT (not in ovn-nbctl: lsp-get-* in one)',
    model: (src: NbSource, [port]) => portDetail(src, port!),
    text: renderPortDetail,
  }),
  'lr-route-list': view({
    minArgs: 1,
    maxArgs: 1,
    options: ['--route-table='],
    summary: '[--route-table=TABLE] lr-route-list ROUTER',
    model: (src: NbSource, [lr], o) => lrRouteList(src, lr!, o.get('--route-table')),
    text: renderRouteList,
  }),
  'lr-policy-list': view({
    minArgs: 1,
    maxArgs: 1,
    summary: 'lr-policy-list ROUTER',
    model: (src: NbSource, [lr]) => lrPolicyList(src, lr!),
    text: renderPolicyList,
  }),
  'acl-list': view({
    minArgs: 1,
    maxArgs: 1,
    options: ['--type='],
    summary: '[--type={switch | port-group}] acl-list {SWITCH | PORTGROUP}',
    model: (src: NbSource, [id], o) => aclList(src, id!, o.get('--type')),
    text: renderAclList,
  }),
  'lb-list': view({
    minArgs: 0,
    maxArgs: 1,
    summary: 'lb-list [LB]',
    model: (src: NbSource, [lb]) => lbList(src, lb),
    text: renderLbList,
  }),
  'ls-lb-list': view({
    minArgs: 1,
    maxArgs: 1,
    summary: 'ls-lb-list SWITCH',
    model: (src: NbSource, [ls]) => lsLbList(src, ls!),
    text: renderLbList,
  }),
  'lr-lb-list': view({
    minArgs: 1,
    maxArgs: 1,
    summary: 'lr-lb-list ROUTER',
    model: (src: NbSource, [lr]) => lrLbList(src, lr!),
    text: renderLbList,
  }),
  ...genericViews<NbSource>(NB_ROW_IDS),
};

export const OVS_VIEWS: Record<string, ViewSpec<OvsSource>> = {
  show: view({
    minArgs: 0,
    maxArgs: 0,
    summary: 'show',
    model: (src: OvsSource) => ovsShowJson(src),
    text: (_m, src) => ovsShow(src),
  }),
  ...genericViews<OvsSource>(OVS_ROW_IDS),
};

/** ctl's command-line checks: leading --options the command knows, then the argument count. */
function parseArgs(
  name: string,
  spec: ViewSpec<unknown>,
  argv: string[],
): { args: string[]; options: Map<string, string | undefined> } {
  const options = new Map<string, string | undefined>();
  let i = 0;
  for (; i < argv.length && argv[i]!.startsWith('-'); i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    const eq = a.indexOf('=');
    const key = eq < 0 ? a : a.slice(0, eq);
    const value = eq < 0 ? undefined : a.slice(eq + 1);
    if (options.has(key)) throw new ViewError('BAD_ARGS', `'${a}' option specified multiple times`);
    const declared = spec.options?.find((o) => o === key || o === `${key}=`);
    if (!declared) throw new ViewError('BAD_ARGS', `'${name}' command has no '${key}' option`);
    if (declared.endsWith('=') && value === undefined)
      throw new ViewError('BAD_ARGS', `missing argument to '${key}' option on '${name}' command`);
    if (!declared.endsWith('=') && value !== undefined)
      throw new ViewError('BAD_ARGS', `'${key}' option on '${name}' does not accept an argument`);
    options.set(key, value);
  }
  const args = argv.slice(i);
  if (args.length < spec.minArgs)
    throw new ViewError('BAD_ARGS', `'${name}' command requires at least ${spec.minArgs} arguments`);
  if (args.length > spec.maxArgs)
    throw new ViewError('BAD_ARGS', `'${name}' command takes at most ${spec.maxArgs} arguments`);
  return { args, options };
}

function run<S>(
  views: Record<string, ViewSpec<S>>,
  tool: Tool,
  src: S,
  name: string,
  argv: string[],
  format: ViewFormat,
): unknown {
  try {
    const spec = Object.hasOwn(views, name) ? views[name] : undefined;
    if (!spec) throw new ViewError('UNKNOWN_VIEW', `unknown command '${name}'; use --help for help`);
    const { args, options } = parseArgs(name, spec as ViewSpec<unknown>, argv);
    const model = spec.model(src, args, options);
    return format === 'json' ? model : spec.text(model as never, src);
  } catch (e) {
    const error = e instanceof ViewError ? e : (unmonitoredTable(e) ?? e);
    throw error instanceof ViewError ? error.forTool(tool) : error;
  }
}

/** An ovn-nbctl view of a northbound replica; throws ViewError with ovn-nbctl's message. */
export function runView(src: NbSource, name: string, args: string[], format: 'text'): string;
export function runView(src: NbSource, name: string, args: string[], format: 'json'): unknown;
export function runView(src: NbSource, name: string, args: string[], format: ViewFormat): unknown;
export function runView(src: NbSource, name: string, args: string[], format: ViewFormat): unknown {
  return run(NB_VIEWS, 'ovn-nbctl', src, name, args, format);
}

/** An ovs-vsctl view (show, list, find) of an Open_vSwitch replica; errors read "ovs-vsctl: ...". */
export function runOvsView(src: OvsSource, name: string, args: string[], format: 'text'): string;
export function runOvsView(src: OvsSource, name: string, args: string[], format: 'json'): unknown;
export function runOvsView(src: OvsSource, name: string, args: string[], format: ViewFormat): unknown;
export function runOvsView(src: OvsSource, name: string, args: string[], format: ViewFormat): unknown {
  return run(OVS_VIEWS, 'ovs-vsctl', src, name, args, format);
}

/** The view names and their usage lines, for an index page. */
export function viewSummaries(views: Record<string, ViewSpec<never>>): Record<string, string> {
  return Object.fromEntries(Object.entries(views).map(([k, v]) => [k, v.summary]));
}
