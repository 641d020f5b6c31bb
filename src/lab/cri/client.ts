// A typed, promise-based client for the Kubernetes CRI (runtime.v1) over a unix socket: the pod sandbox
// lifecycle exactly as kubelet drives it, for testing a CNI plugin under a real runtime (containerd).
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO = fileURLToPath(new URL('./runtime-v1.proto', import.meta.url));

export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';

export interface PodSandboxMetadata {
  name: string;
  namespace: string;
  uid: string;
  attempt?: number;
}

export interface PortMapping {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  containerPort: number;
  hostPort?: number;
  hostIp?: string;
}

/** What kubelet sends in RunPodSandbox (the fields this client knows about). */
export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  logDirectory?: string;
  dnsConfig?: { servers?: string[]; searches?: string[]; options?: string[] };
  portMappings?: PortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: {
    cgroupParent?: string;
    sysctls?: Record<string, string>;
    securityContext?: {
      namespaceOptions?: { network?: NamespaceMode; pid?: NamespaceMode; ipc?: NamespaceMode };
      readonlyRootfs?: boolean;
      privileged?: boolean;
    };
  };
}

export interface VersionInfo {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

export interface PodSandbox {
  id: string;
  metadata: Required<PodSandboxMetadata>;
  state: PodSandboxState;
  /** Nanoseconds since the epoch. */
  createdAt: bigint;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}

export interface PodSandboxStatus extends PodSandbox {
  network: { ip: string; additionalIps: string[] };
  /** The sandbox's network namespace path, from containerd's verbose info (e.g. /var/run/netns/cni-…). */
  netnsPath?: string;
  /** The pause process's pid on the host, from containerd's verbose info (0 once it has stopped). */
  pid?: number;
  /** containerd's verbose info (the "info" key) as parsed JSON, for anything else worth a look. */
  info?: Record<string, unknown>;
}

export interface ImageInfo {
  id: string;
  repoTags: string[];
  repoDigests: string[];
}

/** A failed CRI call: which method, the gRPC status code (grpc.status) and the runtime's message. */
export class CriError extends Error {
  constructor(
    readonly method: string,
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(`CRI ${method}: ${grpc.status[code] ?? code}: ${details}`);
    this.name = 'CriError';
  }
}

// Shapes of the decoded messages (proto-loader with camelCase fields, enums as names, int64 as strings,
// defaults filled in).
interface RawMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}
interface RawPodSandbox {
  id: string;
  metadata: RawMetadata | null;
  state: PodSandboxState;
  createdAt: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}
interface RawStatus extends RawPodSandbox {
  network: { ip: string; additionalIps: { ip: string }[] } | null;
}

type Callback = (err: grpc.ServiceError | null, res: unknown) => void;
type UnaryMethod = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: Callback) => void;

let services: { runtime: grpc.ServiceClientConstructor; image: grpc.ServiceClientConstructor } | undefined;

function loadServices(): NonNullable<typeof services> {
  if (services) return services;
  const def = protoLoader.loadSync(PROTO, { keepCase: false, longs: String, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    runtime: {
      v1: { RuntimeService: grpc.ServiceClientConstructor; ImageService: grpc.ServiceClientConstructor };
    };
  };
  services = { runtime: pkg.runtime.v1.RuntimeService, image: pkg.runtime.v1.ImageService };
  return services;
}

function toSandbox(raw: RawPodSandbox): PodSandbox {
  return {
    id: raw.id,
    metadata: {
      name: raw.metadata?.name ?? '',
      namespace: raw.metadata?.namespace ?? '',
      uid: raw.metadata?.uid ?? '',
      attempt: raw.metadata?.attempt ?? 0,
    },
    state: raw.state,
    createdAt: BigInt(raw.createdAt || '0'),
    labels: raw.labels,
    annotations: raw.annotations,
    runtimeHandler: raw.runtimeHandler,
  };
}

/** The netns path and pid out of containerd's verbose sandbox info (its runtime spec names the netns). */
function fromContainerdInfo(info: Record<string, unknown>): Pick<PodSandboxStatus, 'netnsPath' | 'pid'> {
  const spec = info.runtimeSpec as { linux?: { namespaces?: { type: string; path?: string }[] } } | undefined;
  const netns = spec?.linux?.namespaces?.find((n) => n.type === 'network')?.path;
  return {
    netnsPath: netns || undefined,
    pid: typeof info.pid === 'number' ? info.pid : undefined,
  };
}

export class CriClient {
  private readonly runtime: grpc.Client;
  private readonly image: grpc.Client;

  /**
   * Connects lazily to the runtime's unix socket; every call fails after `timeoutMs`. `cgroupParent` is
   * used for sandboxes whose config names none (kubelet always names one; without it containerd would use
   * /k8s.io/<id>, shared by every containerd on the machine).
   */
  constructor(
    readonly socket: string,
    private readonly opts: { timeoutMs?: number; cgroupParent?: string } = {},
  ) {
    const { runtime, image } = loadServices();
    const target = `unix://${socket}`;
    // a local socket: retry connecting quickly (grpc's default backoff starts at a second)
    const channel = { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 500 };
    this.runtime = new runtime(target, grpc.credentials.createInsecure(), channel);
    this.image = new image(target, grpc.credentials.createInsecure(), channel);
  }

  private call<T>(
    client: grpc.Client,
    method: string,
    req: object,
    timeoutMs = this.opts.timeoutMs ?? 60_000,
  ): Promise<T> {
    const fn = (client as unknown as Record<string, UnaryMethod>)[method];
    if (!fn) throw new Error(`CRI client: no method ${method}`);
    return new Promise<T>((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(new CriError(method, err.code, err.details));
        else resolve(res as T);
      });
    });
  }

  version(timeoutMs?: number): Promise<VersionInfo> {
    return this.call<VersionInfo>(this.runtime, 'Version', { version: 'v1' }, timeoutMs);
  }

  /** Creates and starts a sandbox (containerd runs the CNI ADD inside this call); returns its id. */
  async runPodSandbox(config: PodSandboxConfig, runtimeHandler = ''): Promise<string> {
    const { cgroupParent } = this.opts;
    if (cgroupParent && !config.linux?.cgroupParent)
      config = { ...config, linux: { ...config.linux, cgroupParent } };
    const res = await this.call<{ podSandboxId: string }>(this.runtime, 'RunPodSandbox', {
      config,
      runtimeHandler,
    });
    return res.podSandboxId;
  }

  /** Stops the sandbox and tears its network down (CNI DEL with the netns). Idempotent. */
  async stopPodSandbox(id: string): Promise<void> {
    await this.call(this.runtime, 'StopPodSandbox', { podSandboxId: id });
  }

  /** Removes a stopped sandbox (containerd runs one more CNI DEL, with an empty netns). Idempotent. */
  async removePodSandbox(id: string): Promise<void> {
    await this.call(this.runtime, 'RemovePodSandbox', { podSandboxId: id });
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    const res = await this.call<{ status: RawStatus | null; info: Record<string, string> }>(
      this.runtime,
      'PodSandboxStatus',
      { podSandboxId: id, verbose: true },
    );
    if (!res.status) throw new Error(`CRI PodSandboxStatus: no status for ${id}`);
    const status: PodSandboxStatus = {
      ...toSandbox(res.status),
      network: {
        ip: res.status.network?.ip ?? '',
        additionalIps: res.status.network?.additionalIps.map((p) => p.ip) ?? [],
      },
    };
    const raw = res.info.info;
    if (raw) {
      const info = JSON.parse(raw) as Record<string, unknown>;
      Object.assign(status, fromContainerdInfo(info), { info });
    }
    return status;
  }

  async listPodSandbox(
    filter: { id?: string; state?: PodSandboxState; labels?: Record<string, string> } = {},
  ): Promise<PodSandbox[]> {
    const res = await this.call<{ items: RawPodSandbox[] }>(this.runtime, 'ListPodSandbox', {
      filter: {
        id: filter.id ?? '',
        state: filter.state ? { state: filter.state } : null,
        labelSelector: filter.labels ?? {},
      },
    });
    return res.items.map(toSandbox);
  }

  /** The image as the runtime's CRI image service sees it, or undefined if it does not know it. */
  async imageStatus(ref: string): Promise<ImageInfo | undefined> {
    const res = await this.call<{ image: ImageInfo | null }>(this.image, 'ImageStatus', {
      image: { image: ref },
    });
    if (!res.image) return undefined;
    const { id, repoTags, repoDigests } = res.image;
    return { id, repoTags, repoDigests };
  }

  close(): void {
    this.runtime.close();
    this.image.close();
  }
}
