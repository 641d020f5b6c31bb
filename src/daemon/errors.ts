// The daemon's answers to the CNI plugin when something fails: a CNI error code (the spec's, or ours from
// 100 up) with a message the runtime shows the user, e.g. in kubectl describe pod.
import { ErrorCode } from '../cni/errors.ts';

export const DaemonCode = {
  ...ErrorCode,
  /** STATUS: the plugin cannot serve ADDs now (spec 1.1 code 50). */
  NotReady: 50,
  /** The pod's addresses collide with another interface or are malformed. */
  AddressConflict: 100,
  /** CNI_IFNAME already exists in the pod's network namespace. */
  InterfaceExists: 101,
  /** Open_vSwitch refused or failed the port change. */
  OvsFailure: 102,
  /** ovn-controller did not install the port's flows in time. */
  PortNotInstalled: 103,
  /** CHECK found the attachment different from what ADD made. */
  CheckFailed: 104,
} as const;

export class DaemonError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details?: string,
  ) {
    super(message);
    this.name = 'DaemonError';
  }

  toJson(): { code: number; msg: string; details?: string } {
    return { code: this.code, msg: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}
