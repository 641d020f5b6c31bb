// Why a view could not be produced. The message is what the stock tool prints on stderr for the same
// request ("ovn-nbctl: foo: router name not found"); the code tells an HTTP layer which status to send.

export type ViewErrorCode =
  /** No such view (ovn-nbctl: unknown command). */
  | 'UNKNOWN_VIEW'
  /** Wrong number of arguments, a bad option or an unparsable condition. */
  | 'BAD_ARGS'
  /** The named switch, router, port, table or record does not exist. */
  | 'NOT_FOUND'
  /** A name matches several rows, or a partial name several tables or columns. */
  | 'AMBIGUOUS'
  /** The replica does not hold a table the view needs. */
  | 'UNAVAILABLE';

export type Tool = 'ovn-nbctl' | 'ovs-vsctl';

export class ViewError extends Error {
  override name = 'ViewError';

  constructor(
    readonly code: ViewErrorCode,
    /** The tool's error text without its "ovn-nbctl: " prefix. */
    readonly detail: string,
    readonly tool: Tool = 'ovn-nbctl',
  ) {
    super(`${tool}: ${detail}`);
  }

  /** The same error as another tool reports it. */
  forTool(tool: Tool): ViewError {
    return tool === this.tool ? this : new ViewError(this.code, this.detail, tool);
  }
}
