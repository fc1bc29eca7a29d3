#!/usr/bin/env bash
# Builds kubectl rerun for krew into dist/krew/: one archive per platform,
# kubectl-rerun_<os>_<arch>.tar.gz (linux and darwin, amd64 and arm64), and the plugin
# manifest dist/krew/rerun.yaml rendered from hack/krew/rerun.yaml.tmpl with each
# archive's uri and sha256 (computed from the archive just written).
#
# Each archive holds kubectl-rerun, a zipapp made by shiv (SHIV_VERSION in
# hack/versions.env) that needs only python3 on the user's machine: the project's wheel
# and its dependencies, installed from PyPI's wheels for that platform and for each Python
# of PYTHONS (the compiled modules of pydantic-core, google-re2, aiohttp... are per
# Python and per platform; their file names differ, so they sit side by side in one
# site-packages). At its first run it unpacks itself into ~/.shiv. Also, if pyproject.toml
# declares the console script kubectl_complete-rerun, a wrapper of that name running the
# same zipapp with that entry point, and LICENSE if the repository has one.
#
# Every dependency is pinned to what pip resolves for the first platform and Python, so
# all of them carry the same versions. Archives are reproducible from the same inputs
# (zip and tar timestamps are SOURCE_DATE_EPOCH, default the last commit's time).
#
# Usage: hack/krew.sh [--host] [--out DIR]
#   --host     only the platform of this machine (the tests' build)
#   --out DIR  where the archives and rerun.yaml go (default dist/krew, emptied first)
# KREW_BASE_URL: where the archives will be downloaded from (the manifest's uri is
#   KREW_BASE_URL/<archive>); default the GitHub release of the package's version.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=hack/versions.env
source "$here/versions.env"

log() { echo "krew: $*" >&2; }

PYTHONS=(3.11 3.12 3.13 3.14)
platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64)
out="$root/dist/krew"
while (($#)); do
  case $1 in
    --host)
      case $(uname -s) in Linux) os=linux ;; Darwin) os=darwin ;; *) log "unsupported OS $(uname -s)"; exit 1 ;; esac
      case $(uname -m) in x86_64 | amd64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) log "unsupported arch $(uname -m)"; exit 1 ;; esac
      platforms=("$os/$arch")
      ;;
    --out) out=$2; shift ;;
    *) log "unknown argument $1 (usage: hack/krew.sh [--host] [--out DIR])"; exit 2 ;;
  esac
  shift
done

python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { log "$python must be 3.11+"; exit 1; }
# The one source of the version and of the console scripts: pyproject.toml.
read -r version entry complete_entry < <("$python" - "$root/pyproject.toml" <<'EOF'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
scripts = project["scripts"]
print(project["version"], scripts["kubectl-rerun"], scripts.get("kubectl_complete-rerun", "-"))
EOF
)
[[ -n ${version:-} && -n ${entry:-} ]] || { log "no version or kubectl-rerun script in pyproject.toml"; exit 1; }
base_url=${KREW_BASE_URL:-https://github.com/rerunnable/rerunnable/releases/download/v$version}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 315532800)}
start=$(date +%s)

# shiv and a recent pip, in their own venv in the cache (kept between builds).
cache_root=${RERUNNABLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rerunnable}
tools="$cache_root/krew-tools/shiv-$SHIV_VERSION-py$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [[ ! -f "$tools/.complete" ]]; then
  log "installing shiv $SHIV_VERSION into $tools"
  rm -rf "$tools"
  "$python" -m venv "$tools"
  "$tools/bin/python" -m pip install --quiet --upgrade pip
  "$tools/bin/python" -m pip install --quiet "shiv==$SHIV_VERSION"
  touch "$tools/.complete"
fi
pip=("$tools/bin/python" -m pip --disable-pip-version-check)

work=$(mktemp -d "${TMPDIR:-/tmp}/rerunnable-krew.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The project's wheel, built from a copy of the sources (not in the work tree).
mkdir -p "$work/src"
cp "$root/pyproject.toml" "$root/README.md" "$work/src/"
(cd "$root" && tar -cf - --exclude=__pycache__ --exclude='*.egg-info' operator) | tar -xf - -C "$work/src"
"${pip[@]}" wheel --quiet --no-deps -w "$work/wheel" "$work/src"
wheel=$(echo "$work"/wheel/rerunnable-*.whl)

# pip's platform tags for <os>/<arch>: the oldest glibc or macOS the wheels need (google-re2:
# manylinux_2_27, macOS 13 on x86_64 and 14 on arm64) and every older tag.
platform_args() {
  local os=${1%/*} arch=${1#*/} m i
  case $os/$arch in
    linux/*)
      m=$([[ $arch == amd64 ]] && echo x86_64 || echo aarch64)
      for ((i = 28; i >= 5; i--)); do echo "--platform=manylinux_2_${i}_$m"; done
      echo "--platform=manylinux2014_$m"
      [[ $arch == amd64 ]] && echo "--platform=manylinux2010_$m" "--platform=manylinux1_$m"
      ;;
    darwin/amd64) echo "--platform=macosx_13_0_x86_64" ;;
    darwin/arm64) echo "--platform=macosx_14_0_arm64" ;;
  esac
  return 0
}
install_args() { # PLATFORM PYTHON
  local py=$2
  # shellcheck disable=SC2046
  echo --only-binary=:all: --implementation=cp "--python-version=$py" "--abi=cp${py/./}" $(platform_args "$1")
}

# The pins: what the first platform and Python resolve to.
# shellcheck disable=SC2046
"${pip[@]}" install --quiet --dry-run --ignore-installed --report "$work/report.json" \
  $(install_args "${platforms[0]}" "${PYTHONS[0]}") "$wheel"
"$python" "$here/krew/pack.py" pins "$work/report.json" "$work/pins.txt"

supported=$(printf '(%s), ' "${PYTHONS[@]/./, }")
sed "s/^SUPPORTED = .*/SUPPORTED = [${supported%, }]/" "$here/krew/preamble.py" > "$work/preamble.py"

stages=()
for platform in "${platforms[@]}"; do
  name=${platform/\//_}
  site="$work/$name/site-packages"
  stage="$work/stage/$name"
  mkdir -p "$site" "$stage"
  for py in "${PYTHONS[@]}"; do
    log "$platform: wheels for Python $py"
    # shellcheck disable=SC2046
    "${pip[@]}" install --quiet --no-compile --target "$work/$name/py$py" -c "$work/pins.txt" \
      $(install_args "$platform" "$py") "$wheel"
    "$python" "$here/krew/pack.py" merge "$work/$name/py$py" "$site"
  done
  # Scripts made for this machine's Python, and the path of the wheel in this build.
  "$python" "$here/krew/pack.py" clean "$site"
  "$tools/bin/shiv" --site-packages "$site" -e "$entry" -p "/usr/bin/env python3" \
    --reproducible --preamble "$work/preamble.py" -o "$stage/kubectl-rerun" >&2
  if [[ $complete_entry != - ]]; then
    sed "s/\${ENTRY_POINT}/$complete_entry/" "$here/krew/kubectl_complete-rerun" > "$stage/kubectl_complete-rerun"
    chmod 0755 "$stage/kubectl_complete-rerun"
  fi
  if [[ -f "$root/LICENSE" ]]; then cp "$root/LICENSE" "$stage/LICENSE"; fi
  chmod 0755 "$stage/kubectl-rerun"
  stages+=("$stage")
done

mkdir -p "$out"
rm -f "$out"/kubectl-rerun_*.tar.gz "$out/rerun.yaml"
pythons="${PYTHONS[0]} to ${PYTHONS[-1]}"
"$python" "$here/krew/pack.py" pack --version "$version" --template "$here/krew/rerun.yaml.tmpl" \
  --out "$out" --base-url "$base_url" --epoch "$SOURCE_DATE_EPOCH" --pythons "$pythons" "${stages[@]}"
log "built ${platforms[*]} in $(($(date +%s) - start))s into $out"
