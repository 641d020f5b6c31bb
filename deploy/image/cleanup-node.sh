#!/bin/sh
# Removes what ovnk leaves on a node once it is uninstalled (`kubectl delete -k deploy/`; docs/install.md,
# "Uninstall"). Run on each node with the host's / at HOST_ROOT, from the ovnk image:
#   kubectl debug node/NODE -it --profile=sysadmin --image=IMAGE -- /opt/ovnk/scripts/cleanup-node.sh
# It assumes ovnk's node agent was the only user of OVS on the node.
set -eu
host_root=${HOST_ROOT-/host}

# the kernel datapath with all its ports: ovn0, the tunnel devices, host ends of pods still running
if ovs-dpctl dump-dps 2>/dev/null | grep -qx 'system@ovs-system'; then
  ovs-dpctl del-dp ovs-system
  echo 'removed the datapath ovs-system'
fi
for path in \
  /opt/cni/bin/ovnk /etc/cni/net.d/10-ovnk.conflist /opt/ovnk /run/ovnk \
  /etc/openvswitch /var/log/openvswitch /run/openvswitch /var/log/ovn /run/ovn /var/lib/ovn; do
  if [ -e "$host_root$path" ]; then
    rm -rf "$host_root$path"
    echo "removed $path"
  fi
done
