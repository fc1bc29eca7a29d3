#!/usr/bin/env bash
# Runs the operator from the venv in the background against the local cluster.
#   hack/operator.sh start   start it (idempotent); log in .cluster/operator.log
#   hack/operator.sh stop    stop it
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=${CLUSTER_STATE:-$repo/.cluster}  # as in hack/cluster.sh
pidfile="$state/operator.pid"
log="$state/operator.log"

running() { [[ -f "$pidfile" ]] && kill -0 "$(<"$pidfile")" 2>/dev/null; }

case "${1:-}" in
  start)
    if running; then
      echo "operator: already running (pid $(<"$pidfile"))" >&2
      exit 0
    fi
    mkdir -p "$state"
    KUBECONFIG="$state/kubeconfig" nohup "$repo/.venv/bin/python" -m rerunnable \
      --all-namespaces >"$log" 2>&1 &
    echo $! >"$pidfile"
    echo "operator: started (pid $!, log $log)" >&2
    ;;
  stop)
    if running; then
      pid=$(<"$pidfile")
      kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
      echo "operator: stopped" >&2
    fi
    rm -f "$pidfile"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 1 ;;
esac
