#!/bin/sh
# The controller container: northbound is the NB server of every OVN central member (OVN_DB_IPS); the client
# writes to whichever is the Raft leader. Other settings come as environment variables (config.ts).
set -eu
. "$(dirname "$0")/ovn-lib.sh"

nb=$(ovn_remotes "${OVN_DB_IPS:-}" "${OVN_NB_PORT:-6641}")
exec node /opt/ovnk/app/dist/src/controller/main.js --ovn-nb-addr="$nb" "$@"
