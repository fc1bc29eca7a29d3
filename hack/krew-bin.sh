#!/usr/bin/env bash
# Builds krew (kubectl's plugin manager) from source through the Go module proxy, at
# KREW_VERSION from hack/versions.env: the module sigs.k8s.io/krew, cmd/krew, pinned by
# the wrapper module hack/tools/krew. tests/packaging installs the plugin's manifest with
# it (`krew install --manifest --archive`), as a user would.
#
# Output goes to its own per-version folder under the cache
# (${RERUNNABLE_CACHE:-~/.cache/rerunnable}/krew/<version>/krew); a second call finds it
# there and returns at once. The build (about 40 s) runs in a temporary sibling folder that
# is renamed into place only when the binary built and runs.
#
# Prints the path of the binary on stdout (and nothing else).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=hack/versions.env
source "$here/versions.env"

cache_root=${RERUNNABLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rerunnable}
out="$cache_root/krew/$KREW_VERSION"

if [[ -x "$out/krew" ]]; then
  echo "$out/krew"
  exit 0
fi

log() { echo "krew-bin: $*" >&2; }

command -v go >/dev/null || { log "go is not on PATH; install Go 1.26+ (see README)"; exit 1; }

# The wrapper module must require what versions.env says, or the cache key lies.
module=sigs.k8s.io/krew
grep -qE "^(require)?[[:space:]]*$module $KREW_VERSION( // indirect)?\$" "$here/tools/krew/go.mod" || {
  log "hack/tools/krew/go.mod does not require $module $KREW_VERSION (hack/versions.env)"
  exit 1
}

mkdir -p "$cache_root/krew"
tmp=$(mktemp -d "$out.partial.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0
start=$(date +%s)
log "building krew $KREW_VERSION"
(cd "$here/tools/krew" && go build -trimpath \
  -ldflags "-s -w -X $module/internal/version.gitTag=$KREW_VERSION -X $module/internal/version.gitCommit=module-$KREW_VERSION" \
  -o "$tmp/krew" $module/cmd/krew)

"$tmp/krew" version 2>/dev/null | grep -q "GitTag.*$KREW_VERSION" || {
  log "krew does not report $KREW_VERSION"
  exit 1
}

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
log "built in $(( $(date +%s) - start ))s into $out"
echo "$out/krew"
