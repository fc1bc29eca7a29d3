#!/usr/bin/env bash
# Builds the local control plane from source through the Go module proxy:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok
# and kwokctl, and helm for the chart, at the versions pinned in hack/versions.env.
#
# Output goes to a per-version folder under the cache
# (${RERUNNABLE_CACHE:-~/.cache/rerunnable}/k8s-bin/<versions>/); a second call
# finds it there and returns at once. The build runs in a temporary sibling
# folder that is renamed into place only when every binary built, so a failed
# or interrupted build never leaves a half-filled cache behind.
#
# Prints the folder holding the binaries on stdout (and nothing else).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=hack/versions.env
source "$here/versions.env"

cache_root=${RERUNNABLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rerunnable}
out="$cache_root/k8s-bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-helm-$HELM_VERSION"
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwokctl helm)
# kwok's own stages that the local cluster uses unchanged (hack/cluster.sh adds ours).
upstream_stages=(node/fast/node-initialize node/heartbeat/node-heartbeat pod/fast/pod-ready pod/fast/pod-delete)

complete() {
  local b s
  for b in "${binaries[@]}"; do [[ -x "$out/$b" ]] || return 1; done
  for s in "${upstream_stages[@]}"; do [[ -f "$out/stages/${s##*/}.yaml" ]] || return 1; done
}

if complete; then
  echo "$out"
  exit 0
fi

log() { echo "k8s-bin: $*" >&2; }

command -v go >/dev/null || { log "go is not on PATH; install Go 1.26+ (see README)"; exit 1; }

# The wrapper modules must require what versions.env says, or the cache key lies.
check_pin() {
  local mod=$1 module=$2 version=$3
  grep -qE "^(require)?[[:space:]]*$module $version( // indirect)?\$" "$here/tools/$mod/go.mod" || {
    log "hack/tools/$mod/go.mod does not require $module $version (hack/versions.env)"
    exit 1
  }
}
check_pin kubernetes k8s.io/kubernetes "$K8S_VERSION"
check_pin etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
check_pin kwok sigs.k8s.io/kwok "$KWOK_VERSION"
check_pin helm helm.sh/helm/v4 "$HELM_VERSION"

mkdir -p "$cache_root/k8s-bin"
tmp=$(mktemp -d "$out.partial.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
minor=${K8S_VERSION#v1.}
minor=${minor%%.*}

k8s_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  k8s_ldflags+=" -X $pkg.gitCommit=unknown -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

start=$(date +%s)
log "building Kubernetes $K8S_VERSION (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl)"
(cd "$here/tools/kubernetes" && go build -trimpath -tags selinux,notest \
  -ldflags "-s -w$k8s_ldflags" -o "$tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)

log "building etcd $ETCD_VERSION"
(cd "$here/tools/etcd" && go build -trimpath \
  -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-$ETCD_VERSION" \
  -o "$tmp/etcd" go.etcd.io/etcd/server/v3)

log "building kwok and kwokctl $KWOK_VERSION"
(cd "$here/tools/kwok" && go build -trimpath \
  -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${K8S_VERSION#v}" \
  -o "$tmp/" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl)

log "building helm $HELM_VERSION"
(cd "$here/tools/helm" && go build -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
  -o "$tmp/helm" helm.sh/helm/v4/cmd/helm)

kwok_src=$(cd "$here/tools/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
mkdir "$tmp/stages"
for s in "${upstream_stages[@]}"; do
  cp "$kwok_src/kustomize/stage/$s.yaml" "$tmp/stages/"
done

for b in "${binaries[@]}"; do
  [[ -x "$tmp/$b" ]] || { log "missing $b after build"; exit 1; }
done
"$tmp/kubectl" version --client | grep -q "$K8S_VERSION" || { log "kubectl does not report $K8S_VERSION"; exit 1; }

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
log "built in $(( $(date +%s) - start ))s into $out"
echo "$out"
