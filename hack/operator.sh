#!/usr/bin/env bash
# Runs the operator from the venv in the background against the local cluster, with
# the report endpoint on https://127.0.0.1:$REPORT_PORT (a CA of its own in .cluster/report-tls).
#   hack/operator.sh start   start it (idempotent); log in .cluster/operator.log
#   hack/operator.sh stop    stop it
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=${CLUSTER_STATE:-$repo/.cluster}  # as in hack/cluster.sh
pidfile="$state/operator.pid"
log="$state/operator.log"
tls="$state/report-tls"
report_port=${REPORT_PORT:-18443}

running() { [[ -f "$pidfile" ]] && kill -0 "$(<"$pidfile")" 2>/dev/null; }

case "${1:-}" in
  start)
    if running; then
      echo "operator: already running (pid $(<"$pidfile"))" >&2
      exit 0
    fi
    mkdir -p "$state"
    [[ -f "$tls/ca.crt" ]] || (cd "$repo" && .venv/bin/python -m tests.e2e.certs "$tls")
    KUBECONFIG="$state/kubeconfig" nohup "$repo/.venv/bin/python" -m rerunnable \
      --all-namespaces --report-port "$report_port" \
      --report-url "https://127.0.0.1:$report_port" --report-cert-dir "$tls" >"$log" 2>&1 &
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
