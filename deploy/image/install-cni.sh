#!/bin/sh
# The node daemon's init container: puts the CNI plugin and the network configuration on the host.
#   OVNK_HOST_DIR/runtime-<version>/  the plugin (one JavaScript file) and a Node runtime with its own loader
#                                     and libraries; named by content, so an upgrade never changes files a
#                                     running plugin reads
#   CNI_BIN_DIR/ovnk                  a launcher that runs the plugin with that runtime
#   CNI_CONF_DIR/10-ovnk.conflist     the network configuration (deploy/cni/10-ovnk.conflist)
# The launcher and the configuration are replaced by rename, so a runtime never reads half a file. Paths are
# as the host sees them; HOST_ROOT is where the host's / is mounted in this container.
set -eu
image_dir=${OVNK_IMAGE_DIR:-/opt/ovnk}
host_root=${HOST_ROOT-/host}
cni_bin_dir=${CNI_BIN_DIR:-/opt/cni/bin}
cni_conf_dir=${CNI_CONF_DIR:-/etc/cni/net.d}
host_dir=${OVNK_HOST_DIR:-/opt/ovnk}

version=$(cat "$image_dir/cni/ovnk" "$image_dir/host-runtime/bin/node" | sha256sum | cut -c1-16)
runtime=$host_dir/runtime-$version
if [ ! -d "$host_root$runtime" ]; then
  staging=$host_root$runtime.tmp.$$
  rm -rf "$staging"
  mkdir -p "$staging"
  cp -R "$image_dir/host-runtime/." "$staging/"
  # the bundle is CommonJS; the marker keeps it so whatever package.json lies above it on the host
  cp "$image_dir/cni/ovnk" "$image_dir/cni/package.json" "$staging/"
  mv "$staging" "$host_root$runtime"
fi
loader=$(cd "$host_root$runtime/lib" && ls ld-linux-*.so.* | head -n 1)

mkdir -p "$host_root$cni_bin_dir" "$host_root$cni_conf_dir"
launcher=$host_root$cni_bin_dir/ovnk
cat >"$launcher.tmp.$$" <<LAUNCHER
#!/bin/sh
# ovnk CNI plugin, installed by the ovnk-daemon DaemonSet: runs the plugin with the Node runtime installed
# with it. NODE_OPTIONS could load anything into the plugin; NODE_EXTRA_CA_CERTS slows its start.
unset NODE_OPTIONS NODE_EXTRA_CA_CERTS
exec $runtime/lib/$loader --library-path $runtime/lib $runtime/bin/node $runtime/ovnk "\$@"
LAUNCHER
chmod 755 "$launcher.tmp.$$"
mv -f "$launcher.tmp.$$" "$launcher"

conf=$host_root$cni_conf_dir/10-ovnk.conflist
cp "$image_dir/cni/10-ovnk.conflist" "$conf.tmp.$$"
mv -f "$conf.tmp.$$" "$conf"

# runtimes of earlier versions: the launcher no longer names them
for old in "$host_root$host_dir"/runtime-*; do
  [ "$old" = "$host_root$runtime" ] || rm -rf "$old"
done
echo "installed $launcher (runtime $runtime) and $conf"
