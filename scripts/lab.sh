#!/usr/bin/env bash
# `npm run lab -- <up|down|status|kubeconfig|exec>`: installs what the lab needs on a fresh machine, then runs
# the lab CLI (src/lab/cluster-cli.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >&2
exec node --import tsx src/lab/cluster-cli.ts "$@"
