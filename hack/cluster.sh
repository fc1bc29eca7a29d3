#!/usr/bin/env bash
# The local cluster of DESIGN.md §4: a real control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler) with kwok simulating nodes and pods.
#
#   hack/cluster.sh up      start it (idempotent: reports a running cluster)
#   hack/cluster.sh down    stop it and remove its state
#   hack/cluster.sh status  say whether it runs, show nodes and versions
#
# CLUSTER=kwok (default) runs every component as a local process built from
# source by hack/k8s-bin.sh. CLUSTER=kind runs the same stages with kwokctl's
# kind runtime (needs docker and kind on PATH). Either way the kubeconfig is
# .cluster/kubeconfig.
#
# For a second, separate cluster (the benchmark's, bench/): CLUSTER_NAME names it,
# CLUSTER_STATE moves its state folder (default .cluster; the kubeconfig is
# $CLUSTER_STATE/kubeconfig), and CLUSTER_EXTRA_ARGS passes extra component flags
# to kwokctl as space-separated component=flag=value words, e.g.
# "kube-controller-manager=kube-api-qps=500". kwokctl picks free ports, so two
# clusters run side by side. Unset, everything is as described above.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=hack/versions.env
source "$repo/hack/versions.env"

name=${CLUSTER_NAME:-rerunnable}
kind=${CLUSTER:-kwok}
nodes=${CLUSTER_NODES:-2}
state=${CLUSTER_STATE:-$repo/.cluster}
# One controller manager and one scheduler, without leader election: with it, each
# exits when the API server is away longer than its renew deadline (a kubelet would
# restart it; nothing does here), and the tests restart the API server on purpose.
read -r -a extra_args <<<"kube-controller-manager=leader-elect=false kube-scheduler=leader-elect=false ${CLUSTER_EXTRA_ARGS:-}"
kubeconfig="$state/kubeconfig"
export KWOK_WORKDIR="$state/kwok"

log() { echo "cluster: $*" >&2; }
die() { log "$*"; exit 1; }

case "$kind" in
  kwok) ;;
  kind)
    command -v docker >/dev/null && command -v kind >/dev/null ||
      die "CLUSTER=kind needs docker and kind on PATH; use the default CLUSTER=kwok"
    ;;
  *) die "unknown CLUSTER=$kind (kwok or kind)" ;;
esac

bin=$("$repo/hack/k8s-bin.sh")
export PATH="$bin:$PATH"

kctl() { kubectl --kubeconfig "$kubeconfig" "$@"; }

running() {
  [[ -f "$kubeconfig" ]] && kwokctl get clusters 2>/dev/null | grep -qx "$name" &&
    kctl get --raw /readyz >/dev/null 2>&1
}

write_config() {
  local config="$state/kwokctl.yaml" runtime=binary
  [[ "$kind" == kind ]] && runtime=kind
  {
    cat <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: $runtime
  kubeVersion: $K8S_VERSION
  etcdVersion: ${ETCD_VERSION#v}
  kwokVersion: $KWOK_VERSION
  kubeAuthorization: true
  kubeAdmission: true
  # Pods' logs are played from files (ClusterLogs, Logs): kubectl rerun logs is tested on them.
  enableCRDs: [Logs, ClusterLogs]
EOF
    if [[ "$runtime" == binary ]]; then
      cat <<EOF
  etcdBinary: $bin/etcd
  kubeApiserverBinary: $bin/kube-apiserver
  kubeControllerManagerBinary: $bin/kube-controller-manager
  kubeSchedulerBinary: $bin/kube-scheduler
  kubectlBinary: $bin/kubectl
  kwokControllerBinary: $bin/kwok
EOF
    fi
    for f in "$bin"/stages/*.yaml "$repo"/hack/kwok/*.yaml; do
      echo "---"
      cat "$f"
    done
  } >"$config"
  echo "$config"
}

wait_nodes_ready() {
  local deadline=$((SECONDS + 120)) ready
  while ((SECONDS < deadline)); do
    ready=$(kctl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null | grep -c True || true)
    ((ready >= nodes)) && return 0
    sleep 1
  done
  die "nodes not Ready after 120s: $(kctl get nodes 2>&1)"
}

status() {
  if ! running; then
    log "not running (start it with: make cluster)"
    return 1
  fi
  echo "cluster '$name' is running; kubeconfig: $kubeconfig"
  kctl version
  kctl get nodes
}

up() {
  if running; then
    log "already running"
    status
    return 0
  fi
  mkdir -p "$state"
  # A stopped or half-created cluster of the same name is in the way: clear it.
  kwokctl delete cluster --name "$name" >/dev/null 2>&1 || true
  rm -f "$kubeconfig"
  local config start=$SECONDS
  config=$(write_config)
  log "creating cluster '$name' (runtime $kind, Kubernetes $K8S_VERSION)"
  local extra=() arg
  for arg in "${extra_args[@]}"; do extra+=(--extra-args "$arg"); done
  if ! kwokctl create cluster --name "$name" --config "$config" "${extra[@]}" \
    --kubeconfig "$kubeconfig" --wait 2m >"$state/create.log" 2>&1; then
    cat "$state/create.log" >&2
    kwokctl delete cluster --name "$name" >/dev/null 2>&1 || true
    die "could not create the cluster (log above; component logs under $KWOK_WORKDIR/clusters/$name/logs)"
  fi
  kwokctl scale node --name "$name" --replicas "$nodes" >>"$state/create.log" 2>&1 ||
    die "could not create $nodes nodes: $(cat "$state/create.log")"
  wait_nodes_ready
  log "ready in $((SECONDS - start))s"
  status
}

# kwokctl signals the components and returns; wait until they have exited so
# that "down" means no process is left (SIGKILL after a deadline).
wait_exited() {
  local deadline=$((SECONDS + 30)) pid alive
  while true; do
    alive=()
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    ((${#alive[@]} == 0)) && return 0
    if ((SECONDS >= deadline)); then
      log "killing components that did not stop: ${alive[*]}"
      kill -9 "${alive[@]}" 2>/dev/null || true
      return 0
    fi
    sleep 0.2
  done
}

down() {
  local pids=() f
  CLUSTER_STATE=$state "$repo/hack/operator.sh" stop
  for f in "$KWOK_WORKDIR/clusters/$name"/pids/*.pid; do
    [[ -f "$f" ]] && pids+=("$(<"$f")")
  done
  if kwokctl get clusters 2>/dev/null | grep -qx "$name"; then
    kwokctl delete cluster --name "$name" >"$state/delete.log" 2>&1 ||
      die "kwokctl could not delete the cluster: $(cat "$state/delete.log")"
    log "stopped cluster '$name'"
  else
    log "no cluster '$name'"
  fi
  ((${#pids[@]} == 0)) || wait_exited "${pids[@]}"
  rm -rf "$kubeconfig" "$KWOK_WORKDIR"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) die "usage: $0 up|down|status" ;;
esac
