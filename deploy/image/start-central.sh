#!/bin/sh
# OVN central, one container per role in each member's pod:
#   start-central.sh nb|sb   an ovsdb-server for the database, a member of a Raft cluster over OVN_DB_IPS;
#   start-central.sh northd  ovn-northd against every member (the members' northds hold a lock in SB: one
#                            works, the others stand by).
# A member with no database file creates the cluster if it is the first address of OVN_DB_IPS and no other
# member serves the database yet; otherwise it joins the members that do. An existing file is used as it is.
# After a start, a database whose schema is older than the image's is converted (an upgrade of OVN).
set -eu
. "$(dirname "$0")/ovn-lib.sh"

role=${1:?usage: start-central.sh nb|sb|northd}
: "${POD_IP:?POD_IP (this member's node address) is required}"
: "${OVN_DB_IPS:?OVN_DB_IPS (the members' node addresses) is required}"
run_dir=${OVN_RUN_DIR:-/var/run/ovn}
db_dir=${OVN_DB_DIR:-/var/lib/ovn}
schema_dir=${OVN_SCHEMA_DIR:-/usr/share/ovn}
nb_port=${OVN_NB_PORT:-6641}
sb_port=${OVN_SB_PORT:-6642}
mkdir -p "$run_dir" "$db_dir"

if ! ovn_members "$OVN_DB_IPS" | grep -qxF "$POD_IP"; then
  echo "this node ($POD_IP) is not one of the OVN central members ($OVN_DB_IPS)" >&2
  exit 1
fi

if [ "$role" = northd ]; then
  nb=$(ovn_remotes "$OVN_DB_IPS" "$nb_port")
  sb=$(ovn_remotes "$OVN_DB_IPS" "$sb_port")
  export OVN_RUNDIR="$run_dir"
  exec ovn-northd --ovnnb-db="$nb" --ovnsb-db="$sb" --pidfile="$run_dir/ovn-northd.pid"
fi

case $role in
  nb) db=OVN_Northbound name=ovnnb_db schema=$schema_dir/ovn-nb.ovsschema port=$nb_port raft=${OVN_NB_RAFT_PORT:-6643} ;;
  sb) db=OVN_Southbound name=ovnsb_db schema=$schema_dir/ovn-sb.ovsschema port=$sb_port raft=${OVN_SB_RAFT_PORT:-6644} ;;
  *) echo "unknown role $role: nb, sb or northd" >&2; exit 2 ;;
esac
file=$db_dir/$name.db
sock=$run_dir/$name.sock

# another member already serves the database: the cluster exists
cluster_exists() {
  for ip in $(ovn_members "$OVN_DB_IPS"); do
    [ "$ip" = "$POD_IP" ] && continue
    if ovsdb-client --timeout=5 list-dbs "tcp:[$ip]:$port" 2>/dev/null | grep -qxF "$db"; then return 0; fi
  done
  return 1
}

if [ ! -s "$file" ]; then
  rm -f "$file"
  first=$(ovn_members "$OVN_DB_IPS" | head -n 1)
  if [ "$POD_IP" = "$first" ] && ! cluster_exists; then
    echo "creating the $db cluster"
    ovsdb-tool create-cluster "$file" "$schema" "tcp:[$POD_IP]:$raft"
  else
    peers=''
    for ip in $(ovn_members "$OVN_DB_IPS"); do
      [ "$ip" = "$POD_IP" ] || peers="$peers tcp:[$ip]:$raft"
    done
    echo "joining the $db cluster through$peers"
    # shellcheck disable=SC2086 # one argument per peer
    ovsdb-tool join-cluster "$file" "$db" "tcp:[$POD_IP]:$raft" $peers
  fi
fi

rm -f "$sock" "$run_dir/$name.ctl"
ovsdb-server "$file" \
  --remote="punix:$sock" \
  --remote="ptcp:$port:[$POD_IP]" \
  --unixctl="$run_dir/$name.ctl" \
  --pidfile="$run_dir/$name.pid" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null' TERM INT

# an image with a newer OVN: convert the database once this member is in the cluster (best effort; any member
# may do it, and a second conversion finds nothing to do)
upgrade_schema() {
  for _ in $(seq 60); do
    [ -S "$sock" ] && break
    sleep 1
  done
  if [ "$(ovsdb-client --timeout=120 needs-conversion "unix:$sock" "$schema" 2>/dev/null)" = yes ]; then
    echo "converting $db to $schema"
    ovsdb-client --timeout=120 convert "unix:$sock" "$schema" || echo "conversion failed; another member may do it"
  fi
}
upgrade_schema &
upgrader=$!

# wait returns early when the trap runs: wait again until the server is gone, then exit with its status
while :; do
  wait "$server" && status=0 || status=$?
  if ! kill -0 "$server" 2>/dev/null; then
    kill "$upgrader" 2>/dev/null || true
    exit "$status"
  fi
done
