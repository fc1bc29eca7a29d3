#!/usr/bin/env bash
# Builds promtool (Prometheus' rules checker and tester, for the chart's alerts and
# dashboard) from source through the Go module proxy, at PROMTOOL_VERSION from
# hack/versions.env: the module github.com/prometheus/prometheus, cmd/promtool,
# pinned by the wrapper module hack/tools/promtool. Service discovery plugins are
# left out (-tags remove_all_sd); check and test rules do not use them.
#
# Output goes to its own per-version folder under the cache
# (${RERUNNABLE_CACHE:-~/.cache/rerunnable}/promtool/<version>/promtool), apart from
# hack/k8s-bin.sh's, so a new promtool never rebuilds the control plane. A second call
# finds it there and returns at once. The build runs in a temporary sibling folder that
# is renamed into place only when the binary built and runs.
#
# Prints the path of the binary on stdout (and nothing else).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=hack/versions.env
source "$here/versions.env"

cache_root=${RERUNNABLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rerunnable}
out="$cache_root/promtool/$PROMTOOL_VERSION"

if [[ -x "$out/promtool" ]]; then
  echo "$out/promtool"
  exit 0
fi

log() { echo "promtool: $*" >&2; }

command -v go >/dev/null || { log "go is not on PATH; install Go 1.26+ (see README)"; exit 1; }

# The wrapper module must require what versions.env says, or the cache key lies.
module=github.com/prometheus/prometheus
grep -qE "^(require)?[[:space:]]*$module $PROMTOOL_VERSION( // indirect)?\$" "$here/tools/promtool/go.mod" || {
  log "hack/tools/promtool/go.mod does not require $module $PROMTOOL_VERSION (hack/versions.env)"
  exit 1
}

mkdir -p "$cache_root/promtool"
tmp=$(mktemp -d "$out.partial.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0
start=$(date +%s)
log "building promtool $PROMTOOL_VERSION"
ver=github.com/prometheus/common/version
(cd "$here/tools/promtool" && go build -trimpath -tags remove_all_sd \
  -ldflags "-s -w -X $ver.Version=${PROMTOOL_VERSION#v} -X $ver.Revision=module-$PROMTOOL_VERSION -X $ver.BuildDate=$(date -u +%Y%m%d-%H:%M:%S)" \
  -o "$tmp/promtool" $module/cmd/promtool)

"$tmp/promtool" --version 2>&1 | grep -q "version ${PROMTOOL_VERSION#v}" || {
  log "promtool does not report ${PROMTOOL_VERSION#v}"
  exit 1
}

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
log "built in $(( $(date +%s) - start ))s into $out"
echo "$out/promtool"
