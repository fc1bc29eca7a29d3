#!/usr/bin/env bash
# `make demo`: on the local cluster (make cluster ran first), install the CRDs,
# start the operator, apply examples/, trigger a manual run, show the results.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$("$repo/hack/k8s-bin.sh")
export PATH="$bin:$PATH" KUBECONFIG="$repo/.cluster/kubeconfig"
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

say "A manual run: kubectl annotate rjob/db-maintenance rerunnable.dev/run=demo-\$(date +%s)"
token="demo-$(date +%s)"
kubectl -n "$ns" annotate rjob/db-maintenance "rerunnable.dev/run=$token" --overwrite
execution=db-maintenance-m$(printf '%s' "$token" | sha256sum | cut -c1-8)
echo "its Execution (and Job) is named $execution"
kubectl -n "$ns" wait "execution/$execution" --for=create --timeout=60s >/dev/null
kubectl -n "$ns" wait "execution/$execution" --for=jsonpath='{.status.phase}'=Succeeded \
  --timeout=120s

say "kubectl get rjob,rjex"
kubectl -n "$ns" get rjob,rjex

say "kubectl describe rjob db-maintenance (status and events)"
kubectl -n "$ns" describe rjob db-maintenance | sed -n '/^Status:/,$p'

cat <<TXT

The operator keeps running in the background (log: .cluster/operator.log):
minute-report runs every minute, failing-export fails every two minutes.
  export KUBECONFIG=$KUBECONFIG PATH=$bin:\$PATH
  kubectl -n $ns get rjob,rjex -w
  kubectl -n $ns annotate rjob/db-maintenance rerunnable.dev/run=again --overwrite
Stop everything with: make cluster-down
TXT
