// Errors of the kernel side of pod interfaces. Each has a stable `code`: match on the class or the code,
// not on the message.

export type NetdevErrorCode =
  | 'NETDEV_COMMAND' // ip, ethtool or nsenter failed; carries the command line and its stderr
  | 'NETDEV_INTERFACE_EXISTS' // the pod's interface name is taken in its netns by a device that is not ours
  | 'NETDEV_NETNS_MISSING' // the network namespace path does not exist
  | 'NETDEV_INVALID'; // a name, address or MAC that must not reach a command line

export class NetdevError extends Error {
  constructor(
    readonly code: NetdevErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class CommandFailedError extends NetdevError {
  constructor(
    /** The program and its arguments, as spawned (nsenter included when it was used). */
    readonly command: string[],
    readonly stderr: string,
    readonly exitCode: number | undefined,
    /** What was fed on stdin (an `ip -batch -` script), if anything. */
    readonly input?: string,
    options?: { cause?: unknown },
  ) {
    super(
      'NETDEV_COMMAND',
      `${command.join(' ')} failed (exit ${exitCode ?? '?'}): ${stderr.trim()}`,
      options,
    );
  }
}

export class InterfaceExistsError extends NetdevError {
  constructor(
    readonly ifName: string,
    readonly netns: string,
  ) {
    super('NETDEV_INTERFACE_EXISTS', `interface ${ifName} already exists in ${netns} and is not ours`);
  }
}

export class NetnsNotFoundError extends NetdevError {
  constructor(readonly netns: string) {
    super('NETDEV_NETNS_MISSING', `network namespace ${netns} does not exist`);
  }
}

export class InvalidArgumentError extends NetdevError {
  constructor(message: string) {
    super('NETDEV_INVALID', message);
  }
}
