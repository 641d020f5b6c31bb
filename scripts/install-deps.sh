#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine of this kind, idempotently:
# OVS/OVN and the network tools (tcpdump for the VLAN fabric tests), containerd with the stock CNI plugins and gcc for the pause image (apt),
# and the npm packages. Fast when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(openvswitch-switch ovn-central ovn-host iputils-ping ethtool iproute2 netcat-openbsd
  containerd containernetworking-plugins iputils-arping gcc libc6-dev iperf3 nftables tcpdump)
missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[install] apt: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm: reinstall only when package.json or the lockfile changed since the last install
stamp=node_modules/.install-stamp
want=$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # npm install, not npm ci: npm 11 writes lockfiles without other platforms' optional packages
  # (biome's binaries) and then refuses its own lockfile in `npm ci`.
  echo "[install] npm install" >&2
  npm install --no-audit --no-fund --loglevel=error
  cat package.json package-lock.json | sha256sum | cut -d' ' -f1 >"$stamp"
fi
