#!/usr/bin/env bash
# Builds one of the test tools from source through the Go module proxy, at the version
# hack/versions.env pins, from the wrapper module hack/tools/<tool> that requires it:
#
#   promtool  github.com/prometheus/prometheus cmd/promtool (PROMTOOL_VERSION): checks and
#             unit-tests the chart's alerts and the dashboard's queries. Service discovery
#             is left out (-tags remove_all_sd); check and test rules do not use it.
#   krew      sigs.k8s.io/krew cmd/krew (KREW_VERSION): tests/packaging installs the
#             plugin's manifest with it (`krew install --manifest --archive`), as a user would.
#
# Output goes to a per-version folder under the cache
# (${RERUNNABLE_CACHE:-~/.cache/rerunnable}/<tool>/<version>/<tool>), apart from
# hack/k8s-bin.sh's, so a new tool never rebuilds the control plane. A second call finds
# it there and returns at once. The build runs in a temporary sibling folder that is
# renamed into place only when the binary built and reports its version.
#
# Usage: hack/go-tool.sh promtool|krew. Prints the path of the binary on stdout (and
# nothing else).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=hack/versions.env
source "$here/versions.env"

tool=${1:-}
case "$tool" in
  promtool)
    version=$PROMTOOL_VERSION
    module=github.com/prometheus/prometheus
    ver=github.com/prometheus/common/version
    tags=(-tags remove_all_sd)
    ldflags="-s -w -X $ver.Version=${version#v} -X $ver.Revision=module-$version"
    reports() { "$1" --version 2>&1 | grep -q "version ${version#v}"; }
    ;;
  krew)
    version=$KREW_VERSION
    module=sigs.k8s.io/krew
    tags=()
    ldflags="-s -w -X $module/internal/version.gitTag=$version -X $module/internal/version.gitCommit=module-$version"
    reports() { "$1" version 2>/dev/null | grep -q "GitTag.*$version"; }
    ;;
  *)
    echo "usage: hack/go-tool.sh promtool|krew" >&2
    exit 2
    ;;
esac

cache_root=${RERUNNABLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rerunnable}
out="$cache_root/$tool/$version"

if [[ -x "$out/$tool" ]]; then
  echo "$out/$tool"
  exit 0
fi

log() { echo "$tool: $*" >&2; }

command -v go >/dev/null || { log "go is not on PATH; install Go 1.26+ (see README)"; exit 1; }

# The wrapper module must require what versions.env says, or the cache key lies.
grep -qE "^(require)?[[:space:]]*$module $version( // indirect)?\$" "$here/tools/$tool/go.mod" || {
  log "hack/tools/$tool/go.mod does not require $module $version (hack/versions.env)"
  exit 1
}

mkdir -p "$cache_root/$tool"
tmp=$(mktemp -d "$out.partial.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0
start=$(date +%s)
log "building $tool $version"
(cd "$here/tools/$tool" && go build -trimpath "${tags[@]}" -ldflags "$ldflags" \
  -o "$tmp/$tool" "$module/cmd/$tool")

reports "$tmp/$tool" || {
  log "the binary built does not report $version"
  exit 1
}

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
log "built in $(( $(date +%s) - start ))s into $out"
echo "$out/$tool"
