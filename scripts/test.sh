#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, then typecheck, lint and every test
# (unit tests and integration tests against real ovsdb-server / OVS / OVN daemons).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
npx tsc -p tsconfig.json --noEmit
npx biome check .
npx vitest run "$@"
