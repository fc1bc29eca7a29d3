#!/usr/bin/env bash
# `make demo`: the local cluster is up (make cluster ran first); show it.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$("$repo/hack/k8s-bin.sh")
export PATH="$bin:$PATH" KUBECONFIG="$repo/.cluster/kubeconfig"

echo
echo "== The local cluster: a real control plane with simulated nodes"
kubectl get nodes -o wide
echo
echo "== A Job whose pod runs 2s and succeeds, and one whose pod exits 3"
ns=demo
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n "$ns" delete job demo-ok demo-fail --ignore-not-found >/dev/null
for spec in "demo-ok 0" "demo-fail 3"; do
  read -r name code <<<"$spec"
  kubectl -n "$ns" apply -f - >/dev/null <<YAML
apiVersion: batch/v1
kind: Job
metadata: {name: $name}
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations: {sim.rerunnable.dev/duration: 2s, sim.rerunnable.dev/exit-code: "$code"}
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox:1.36}]
YAML
done
kubectl -n "$ns" wait job/demo-ok --for=condition=Complete --timeout=120s
kubectl -n "$ns" wait job/demo-fail --for=condition=Failed --timeout=120s
kubectl -n "$ns" get jobs,pods
echo
echo "The operator itself is not built yet: next comes the RerunnableJob and"
echo "Execution resources and the controller that runs them on this cluster."
echo "Use the cluster yourself:  export KUBECONFIG=$KUBECONFIG PATH=$bin:\$PATH"
echo "Stop it with:              make cluster-down"
