#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, then runs the demo (src/lab/demo.ts): the
# native OVSDB client driving a real multi-node OVN network in network namespaces, torn down at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
exec node --import tsx src/lab/demo.ts
