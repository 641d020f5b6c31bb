#!/bin/sh
# The per-node OVS/OVN agent (DaemonSet ovs-ovn): the node's Open_vSwitch database and ovs-vswitchd on the
# kernel datapath, started by Debian's ovs-ctl (which loads the openvswitch module, creates or upgrades
# conf.db), and ovn-controller, attached to every OVN central member's SB and tunnelling from this node's
# address with NETWORK_TYPE (geneve or vxlan). The chassis is named after the node. On SIGTERM ovn-controller
# exits with --restart (its chassis and flows stay for the next start) and OVS stops without removing the
# datapath, so pods keep their established flows while the agent restarts.
set -eu
. "$(dirname "$0")/ovn-lib.sh"

: "${NODE_NAME:?NODE_NAME is required}"
: "${POD_IP:?POD_IP (this node's address, the tunnel endpoint) is required}"
network_type=${NETWORK_TYPE:-geneve}
case $network_type in
  geneve | vxlan) ;;
  *) echo "NETWORK_TYPE must be geneve or vxlan, not $network_type" >&2; exit 2 ;;
esac
sb=$(ovn_remotes "${OVN_DB_IPS:-}" "${OVN_SB_PORT:-6642}")
ovs_ctl=/usr/share/openvswitch/scripts/ovs-ctl
ovn_ctl=/usr/share/ovn/scripts/ovn-ctl

stop() {
  ovn-appctl -t ovn-controller exit --restart || true
  "$ovs_ctl" stop || true
  exit 0
}
trap stop TERM INT

"$ovs_ctl" start --system-id="$NODE_NAME"
ovs-vsctl set Open_vSwitch . \
  external_ids:hostname="$NODE_NAME" \
  external_ids:ovn-remote="$sb" \
  external_ids:ovn-encap-type="$network_type" \
  external_ids:ovn-encap-ip="$POD_IP"
"$ovn_ctl" start_controller

# stay in the foreground while the daemons run; the container restarts if one dies
while "$ovs_ctl" status >/dev/null && "$ovn_ctl" status_controller >/dev/null; do
  sleep 5 &
  wait $! || true
done
echo 'an OVS or OVN daemon exited' >&2
"$ovn_ctl" status_controller >&2 || true
"$ovs_ctl" status >&2 || true
exit 1
