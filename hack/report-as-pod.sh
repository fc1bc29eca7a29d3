#!/usr/bin/env bash
# Plays a run's pod for the report channel on the local cluster, where kwok's pods
# run nothing: finds the running pod of EXECUTION, takes the URL and CA from its
# env, mints the pod-bound token the kubelet would mount (TokenRequest, audience
# rerunnable.dev), and runs `rerunnable-report` with it, as the pod would.
#   hack/report-as-pod.sh -n NAMESPACE EXECUTION --progress 3/10 --step load
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$("$repo/hack/k8s-bin.sh"):$PATH" KUBECONFIG=${KUBECONFIG:-$repo/.cluster/kubeconfig}
[[ "${1:-}" == "-n" ]] || { echo "usage: $0 -n NAMESPACE EXECUTION [rerunnable-report flags]" >&2; exit 2; }
ns=$2 execution=$3
shift 3
pod=$(kubectl -n "$ns" get pods -l "rerunnable.dev/execution=$execution" \
  --field-selector=status.phase=Running -o jsonpath='{.items[0].metadata.name}')
[[ -n "$pod" ]] || { echo "no running pod of $execution in $ns" >&2; exit 1; }
uid=$(kubectl -n "$ns" get pod "$pod" -o jsonpath='{.metadata.uid}')
env_of() { kubectl -n "$ns" get pod "$pod" -o jsonpath="{.spec.containers[0].env[?(@.name==\"$1\")].value}"; }
token_file=$(mktemp)
trap 'rm -f "$token_file"' EXIT
kubectl -n "$ns" create token default --audience rerunnable.dev \
  --bound-object-kind Pod --bound-object-name "$pod" --bound-object-uid "$uid" >"$token_file"
RERUNNABLE_REPORT_URL=$(env_of RERUNNABLE_REPORT_URL) \
RERUNNABLE_REPORT_CA=$(env_of RERUNNABLE_REPORT_CA) \
RERUNNABLE_REPORT_TOKEN_FILE=$token_file \
  "$repo/.venv/bin/rerunnable-report" "$@"
