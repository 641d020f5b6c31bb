#!/usr/bin/env bash
# Installs or upgrades ovnk on the cluster kubectl points at, or prints what it would apply (--render).
#
#   POD_CIDR=10.16.0.0/16 NETWORK_TYPE=geneve deploy/install.sh
#
# Settings (environment; defaults in brackets; docs/install.md says what each one sets):
#   POD_CIDR               the default subnet ovn-default                               [10.16.0.0/16]
#   JOIN_CIDR              node addresses on ovn0                                       [100.64.0.0/16]
#   SERVICE_CIDR           kube-apiserver's --service-cluster-ip-range (checked only)    [10.96.0.0/12]
#   NETWORK_TYPE           geneve or vxlan                                              [geneve]
#   MTU                    pod MTU                                                      [1400]
#   CENTRAL_NODE_SELECTOR  label (key=value, or key= for an empty value) of the OVN central nodes
#                                                             [node-role.kubernetes.io/control-plane=]
#   OVN_DB_IPS             the central nodes' addresses; found from the selector when empty
#   IMAGE                  the ovnk image, NAME:TAG                                     [ovnk/ovnk:0.1.0]
#   KUBECTL                the kubectl to run                                           [kubectl]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
POD_CIDR=${POD_CIDR:-10.16.0.0/16}
JOIN_CIDR=${JOIN_CIDR:-100.64.0.0/16}
SERVICE_CIDR=${SERVICE_CIDR:-10.96.0.0/12}
NETWORK_TYPE=${NETWORK_TYPE:-geneve}
MTU=${MTU:-1400}
CENTRAL_NODE_SELECTOR=${CENTRAL_NODE_SELECTOR:-node-role.kubernetes.io/control-plane=}
OVN_DB_IPS=${OVN_DB_IPS:-}
IMAGE=${IMAGE:-ovnk/ovnk:0.1.0}
KUBECTL=${KUBECTL:-kubectl}

fail() {
  echo "install.sh: $*" >&2
  exit 1
}

render=false
for arg in "$@"; do
  case $arg in
    --render) render=true ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) fail "unknown argument $arg (try --help)" ;;
  esac
done

# ---- settings check -----------------------------------------------------------------------------------

# prints the first and last address of an IPv4 CIDR as integers; fails when it is not one
v4_range() {
  local re='^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2})$'
  [[ $1 =~ $re ]] || return 1
  local i ip=0 prefix=${BASH_REMATCH[5]}
  for i in 1 2 3 4; do
    ((BASH_REMATCH[i] <= 255)) || return 1
    ip=$((ip * 256 + BASH_REMATCH[i]))
  done
  ((prefix <= 32)) || return 1
  local size=$((1 << (32 - prefix)))
  echo "$((ip / size * size)) $((ip / size * size + size - 1))"
}

v6_cidr() {
  local re='^[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,7}/([0-9]{1,3})$'
  [[ $1 =~ $re ]] && ((BASH_REMATCH[2] <= 128))
}

# NAME VALUE: one CIDR, or an IPv4 and an IPv6 CIDR separated by a comma
check_cidrs() {
  local part v4=0 v6=0
  IFS=, read -r -a parts <<<"$2"
  ((${#parts[@]} >= 1 && ${#parts[@]} <= 2)) || fail "$1=$2: one CIDR, or an IPv4 and an IPv6 one"
  for part in "${parts[@]}"; do
    if v4_range "$part" >/dev/null; then
      v4=$((v4 + 1))
    elif v6_cidr "$part"; then
      v6=$((v6 + 1))
    else
      fail "$1=$2: \"$part\" is not a CIDR"
    fi
  done
  ((v4 <= 1 && v6 <= 1)) || fail "$1=$2: at most one CIDR per IP family"
}

v4_part() {
  local part
  IFS=, read -r -a parts <<<"$1"
  for part in "${parts[@]}"; do v4_range "$part" >/dev/null && echo "$part" && return; done
  return 0
}

check_cidrs POD_CIDR "$POD_CIDR"
check_cidrs JOIN_CIDR "$JOIN_CIDR"
check_cidrs SERVICE_CIDR "$SERVICE_CIDR"
# the IPv4 ranges must not overlap: a pod or node address inside the service range is unreachable
names=(POD_CIDR JOIN_CIDR SERVICE_CIDR)
for ((a = 0; a < 3; a++)); do
  for ((b = a + 1; b < 3; b++)); do
    ca=$(v4_part "${!names[a]}")
    cb=$(v4_part "${!names[b]}")
    [[ -n $ca && -n $cb ]] || continue
    read -r sa ea <<<"$(v4_range "$ca")"
    read -r sb eb <<<"$(v4_range "$cb")"
    if ((sa <= eb && sb <= ea)); then fail "${names[a]} $ca overlaps ${names[b]} $cb"; fi
  done
done
[[ $NETWORK_TYPE == geneve || $NETWORK_TYPE == vxlan ]] || fail "NETWORK_TYPE must be geneve or vxlan, not $NETWORK_TYPE"
[[ $MTU =~ ^[0-9]+$ ]] && ((MTU >= 68 && MTU <= 65535)) || fail "MTU must be an integer from 68 to 65535, not $MTU"
[[ $IMAGE == *:* && ${IMAGE##*:} != */* ]] || fail "IMAGE must be NAME:TAG, not $IMAGE"
selector_key=${CENTRAL_NODE_SELECTOR%%=*}
selector_value=${CENTRAL_NODE_SELECTOR#*=}
[[ $CENTRAL_NODE_SELECTOR == *=* && -n $selector_key ]] || fail "CENTRAL_NODE_SELECTOR must be key=value (or key=), not $CENTRAL_NODE_SELECTOR"

# ---- OVN central members --------------------------------------------------------------------------------

if [[ -z $OVN_DB_IPS ]]; then
  # each selected node's first InternalIP
  OVN_DB_IPS=$("$KUBECTL" get nodes -l "$CENTRAL_NODE_SELECTOR" -o go-template \
    --template='{{range .items}}{{range .status.addresses}}{{if eq .type "InternalIP"}}{{.address}} {{end}}{{end}}{{"\n"}}{{end}}' |
    awk 'NF { print $1 }' | paste -sd, -)
  [[ -n $OVN_DB_IPS ]] || fail "no node has the label $CENTRAL_NODE_SELECTOR: label the OVN central nodes, or set OVN_DB_IPS"
fi
IFS=, read -r -a members <<<"$OVN_DB_IPS"
case ${#members[@]} in
  1 | 3 | 5) ;;
  *) fail "OVN central needs 1, 3 or 5 members (a Raft majority), not ${#members[@]}: $OVN_DB_IPS" ;;
esac

# ---- the overlay ----------------------------------------------------------------------------------------

overlay=$(cd "$(mktemp -d)" && pwd -P)
trap 'rm -rf "$overlay"' EXIT
# kustomize takes the base by a relative path only
up=$(echo "${overlay#/}" | sed 's|[^/][^/]*|..|g')
cat >"$overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $up$here
configMapGenerator:
  - name: ovnk-config
    namespace: kube-system
    behavior: merge
    options:
      disableNameSuffixHash: true
    literals:
      - "POD_CIDR=$POD_CIDR"
      - "JOIN_CIDR=$JOIN_CIDR"
      - "SERVICE_CIDR=$SERVICE_CIDR"
      - "NETWORK_TYPE=$NETWORK_TYPE"
      - "MTU=$MTU"
      - "OVN_DB_IPS=$OVN_DB_IPS"
images:
  - name: ovnk/ovnk
    newName: "${IMAGE%:*}"
    newTag: "${IMAGE##*:}"
patches:
  - target: { group: apps, kind: StatefulSet, name: ovn-central }
    patch: |-
      - op: replace
        path: /spec/replicas
        value: ${#members[@]}
      - op: replace
        path: /spec/template/spec/nodeSelector
        value: { "kubernetes.io/os": linux, "$selector_key": "$selector_value" }
EOF

if $render; then
  "$KUBECTL" kustomize "$overlay"
  exit 0
fi

echo "installing ovnk: pods $POD_CIDR, join $JOIN_CIDR, $NETWORK_TYPE, MTU $MTU, OVN central on $OVN_DB_IPS"
"$KUBECTL" apply -k "$overlay"
"$KUBECTL" wait --for=condition=Established --timeout=60s \
  crd/subnets.kubeovn.io crd/vpcs.kubeovn.io crd/ips.kubeovn.io crd/ippools.kubeovn.io
ns=(-n kube-system)
"$KUBECTL" "${ns[@]}" rollout status statefulset/ovn-central --timeout=10m
# ovs-ovn updates OnDelete, which rollout status does not follow: wait until every node's pod is ready
for ((i = 0; ; i++)); do
  read -r desired ready <<<"$("$KUBECTL" "${ns[@]}" get daemonset ovs-ovn \
    -o jsonpath='{.status.desiredNumberScheduled} {.status.numberReady}')"
  if [[ -n ${desired:-} && $desired != 0 && $desired == "${ready:-}" ]]; then break; fi
  ((i < 120)) || fail "DaemonSet ovs-ovn: ${ready:-0} of ${desired:-?} pods ready after 10 minutes"
  sleep 5
done
"$KUBECTL" "${ns[@]}" rollout status deployment/ovnk-controller --timeout=10m
"$KUBECTL" "${ns[@]}" rollout status daemonset/ovnk-daemon --timeout=10m
echo 'ovnk is running. On an upgrade, the ovs-ovn pods keep their old image until you delete them, node by'
echo 'node (docs/install.md, "Upgrade").'
