#!/bin/sh
# collect-node-runtime.sh NODE OUT: copies the Node binary to OUT/bin/node and every shared library it loads,
# the dynamic loader included, to OUT/lib. The CNI plugin runs on the host through that loader with
# --library-path OUT/lib, so it needs neither a Node nor a matching C++ runtime on the host.
set -eu
node=${1:?usage: collect-node-runtime.sh NODE OUT}
out=${2:?usage: collect-node-runtime.sh NODE OUT}
mkdir -p "$out/bin" "$out/lib"
cp -L "$node" "$out/bin/node"
# ldd lines: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
libs=$(ldd "$node" | sed -n -e 's/^.*=> \(\/[^ ]*\) (0x.*$/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) (0x.*$/\1/p')
[ -n "$libs" ] || { echo "ldd found no libraries for $node" >&2; exit 1; }
for lib in $libs; do
  cp -L "$lib" "$out/lib/"
done
ls "$out"/lib/ld-linux-*.so.* >/dev/null || { echo "no dynamic loader among $libs" >&2; exit 1; }
