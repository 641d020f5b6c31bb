#!/usr/bin/env bash
# `npm run chaos [-- flags]`: installs what the lab needs on a fresh machine, then runs the chaos suite
# (src/chaos/main.ts) on a lab of its own, which it tears down at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >&2
exec node --import tsx src/chaos/main.ts "$@"
