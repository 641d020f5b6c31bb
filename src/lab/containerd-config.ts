// The config.toml of a private containerd: every path it writes under one directory, nothing listening on
// the network but loopback, no plugin that would reach into the machine's shared state, and a CRI plugin
// set up as kubelet's runtime with the given CNI directories. Keys that are not set keep containerd's
// defaults (it decodes a version 2 config over each plugin's default config).
import { join } from 'node:path';

export interface ContainerdConfigOptions {
  dir: string;
  socket: string;
  sandboxImage: string;
  snapshotter: string;
  cniBinDir: string;
  cniConfDir: string;
}

/** Plugins that would probe or write outside the directory (or are simply not needed) and add start-up time. */
const DISABLED_PLUGINS = [
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.zfs',
  'io.containerd.snapshotter.v1.overlayfs',
  'io.containerd.tracing.processor.v1.otlp',
  'io.containerd.internal.v1.tracing',
];

// JSON strings are valid TOML basic strings
const q = (s: string): string => JSON.stringify(s);

export function containerdConfig(o: ContainerdConfigOptions): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = ${q(join(o.dir, 'root'))}
state = ${q(join(o.dir, 'state'))}
disabled_plugins = [${DISABLED_PLUGINS.map(q).join(', ')}]

[grpc]
  address = ${q(o.socket)}

[ttrpc]
  address = ${q(`${o.socket}.ttrpc`)}

# the legacy runtime is not used (CRI runs io.containerd.runc.v2) but the tasks service needs it loaded
[plugins."io.containerd.runtime.v1.linux"]
  runtime_root = ${q(join(o.dir, 'runc-v1'))}

# the default would create /opt/containerd
[plugins."io.containerd.internal.v1.opt"]
  path = ${q(join(o.dir, 'opt'))}

[${cri}]
  sandbox_image = ${q(o.sandboxImage)}
  # without it runc fails on these machines with "can't get final child's PID from pipe"
  restrict_oom_score_adj = true
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # pod netns under /var/run/netns/cni-*, where kubelet's containerd puts them
  netns_mounts_under_state_dir = false

[${cri}.cni]
  bin_dir = ${q(o.cniBinDir)}
  conf_dir = ${q(o.cniConfDir)}
  max_conf_num = 1

[${cri}.containerd]
  snapshotter = ${q(o.snapshotter)}
  default_runtime_name = "runc"
  disable_snapshot_annotations = true

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

# runc's state (default /run/containerd/runc)
[${cri}.containerd.runtimes.runc.options]
  Root = ${q(join(o.dir, 'runc'))}
`;
}
