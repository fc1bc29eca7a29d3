#!/usr/bin/env bash
# `make demo`: on the local cluster (make cluster ran first), install the CRDs,
# start the operator, apply examples/, trigger a manual run, show the results.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$("$repo/hack/k8s-bin.sh")
export PATH="$bin:$repo/.venv/bin:$PATH" KUBECONFIG="$repo/.cluster/kubeconfig"
ns=demo
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "CRDs"
kubectl apply --server-side -f "$repo/crds/" >/dev/null
kubectl wait --for=condition=Established --timeout=60s -f "$repo/crds/" >/dev/null
kubectl get crd rerunnablejobs.rerunnable.dev executions.rerunnable.dev

say "Operator (all namespaces)"
"$repo/hack/operator.sh" start

say "RerunnableJobs from examples/ in namespace $ns"
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n "$ns" apply -f "$repo/examples/"

say "Pod logs: kwok plays .cluster/demo-logs/vacuum.log as the log of the pods in $ns"
mkdir -p "$repo/.cluster/demo-logs"
logfile="$repo/.cluster/demo-logs/vacuum.log"
: >"$logfile"
for line in "vacuum: 14 tables, 2.1 GiB" "analyze: statistics updated" "done in 2.8s"; do
  printf '%s stdout F %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" "$line" >>"$logfile"
done
kubectl apply -f - <<YAML
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: demo-logs
spec:
  selector:
    matchNamespaces: [$ns]
  logs:
    - logsFile: $logfile
YAML

say "A manual run: kubectl annotate rjob/db-maintenance rerunnable.dev/run=demo-\$(date +%s)"
token="demo-$(date +%s)"
kubectl -n "$ns" annotate rjob/db-maintenance "rerunnable.dev/run=$token" --overwrite
execution=db-maintenance-m$(printf '%s' "$token" | sha256sum | cut -c1-8)
echo "its Execution (and Job) is named $execution"
kubectl -n "$ns" wait "execution/$execution" --for=create --timeout=60s >/dev/null
kubectl -n "$ns" wait "execution/$execution" --for=jsonpath='{.status.phase}'=Succeeded \
  --timeout=120s

say "kubectl rerun logs $execution"
kubectl rerun logs "$execution" -n "$ns" --prefix

say "kubectl get rjob,rjex"
kubectl -n "$ns" get rjob,rjex

say "kubectl describe rjob db-maintenance (status and events)"
kubectl -n "$ns" describe rjob db-maintenance | sed -n '/^Status:/,$p'

cat <<TXT

The operator keeps running in the background (log: .cluster/operator.log):
minute-report runs every minute, failing-export fails every two minutes.
  export KUBECONFIG=$KUBECONFIG PATH=$bin:$repo/.venv/bin:\$PATH
  kubectl -n $ns get rjob,rjex -w
  kubectl -n $ns annotate rjob/db-maintenance rerunnable.dev/run=again --overwrite
  kubectl rerun run db-maintenance -n $ns --wait --logs
Stop everything with: make cluster-down
TXT
