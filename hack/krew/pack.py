"""hack/krew.sh's helpers (standard library only): pins, merge, pack.

pins REPORT PINS        the exact versions of `pip install --report` REPORT as constraints
merge SRC DST           copy SRC's files into DST, keeping those DST has (one Python's site-packages
                        onto another's: the same pure files, compiled modules of other names)
clean SITE              drop what names this build's machine or folders: bin/ (scripts for this
                        Python) and direct_url.json (the wheel's path), and RECORD's lines of them
pack OPTIONS STAGE...   one .tar.gz per STAGE folder (named <os>_<arch>, its files at the top),
                        reproducible (sorted, owner 0, mtime SOURCE_DATE_EPOCH, gzip without a
                        name), then the manifest rendered from the template with each sha256
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import string
import sys
import tarfile
from pathlib import Path


def pins(report: Path, out: Path) -> None:
    data = json.loads(report.read_text())
    lines = sorted(
        f"{item['metadata']['name']}=={item['metadata']['version']}"
        for item in data["install"]
        if item["metadata"]["name"] != "rerunnable"
    )
    out.write_text("".join(f"{line}\n" for line in lines))


def merge(src: Path, dst: Path) -> None:
    def copy_if_absent(s: str, d: str) -> str:
        if not os.path.exists(d):
            shutil.copy2(s, d)
        return d

    shutil.copytree(src, dst, dirs_exist_ok=True, copy_function=copy_if_absent)


def clean(site: Path) -> None:
    shutil.rmtree(site / "bin", ignore_errors=True)
    for record in site.glob("*.dist-info/RECORD"):
        (record.parent / "direct_url.json").unlink(missing_ok=True)
        lines = record.read_text().splitlines(keepends=True)
        kept = [
            line
            for line in lines
            if not line.startswith(("../../bin/", f"{record.parent.name}/direct_url.json,"))
        ]
        record.write_text("".join(kept))


def archive(stage: Path, out: Path, epoch: int) -> str:
    """Write stage's files (flat) into out; return its sha256."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in sorted(stage.iterdir()):
            info = tarfile.TarInfo(path.name)
            info.size = path.stat().st_size
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.mtime = epoch
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with path.open("rb") as f:
                tar.addfile(info, f)
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=epoch, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    out.write_bytes(packed.getvalue())
    return hashlib.sha256(packed.getvalue()).hexdigest()


def platform_entry(os_: str, arch: str, uri: str, sha256: str, files: list[str]) -> str:
    lines = [
        "  - selector:",
        "      matchLabels:",
        f"        os: {os_}",
        f"        arch: {arch}",
        f"    uri: {uri}",
        f"    sha256: {sha256}",
        "    files:",
    ]
    for name in files:
        lines += [f"      - from: {name}", "        to: ."]
    lines.append("    bin: kubectl-rerun")
    return "\n".join(lines)


def pack(args: argparse.Namespace) -> None:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    tag = f"v{args.version}"
    entries = []
    completion = False
    for stage in args.stages:
        os_, arch = stage.name.split("_")
        name = f"kubectl-rerun_{os_}_{arch}.tar.gz"
        sha256 = archive(stage, out / name, args.epoch)
        uri = f"{args.base_url.rstrip('/')}/{name}"
        files = sorted(p.name for p in stage.iterdir())
        completion = completion or "kubectl_complete-rerun" in files
        entries.append(platform_entry(os_, arch, uri, sha256, files))
        print(f"krew: {name} {(out / name).stat().st_size} bytes sha256 {sha256}", file=sys.stderr)
    caveat = ""
    if completion:
        caveat = (
            "    Shell completion of `kubectl rerun` (kubectl 1.26+): put its\n"
            "    kubectl_complete-rerun on PATH too, e.g.\n"
            '      ln -s "${KREW_ROOT:-$HOME/.krew}/store/rerun/'
            + tag
            + '/kubectl_complete-rerun" "${KREW_ROOT:-$HOME/.krew}/bin/"\n'
        )
    text = string.Template(args.template.read_text()).substitute(
        version=tag,
        pythons=args.pythons,
        completion_caveat=caveat,
        platforms="\n".join(entries),
    )
    (out / "rerun.yaml").write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pins")
    p.add_argument("report", type=Path)
    p.add_argument("out", type=Path)
    m = sub.add_parser("merge")
    m.add_argument("src", type=Path)
    m.add_argument("dst", type=Path)
    c = sub.add_parser("clean")
    c.add_argument("site", type=Path)
    k = sub.add_parser("pack")
    k.add_argument("--version", required=True)
    k.add_argument("--template", type=Path, required=True)
    k.add_argument("--out", type=Path, required=True)
    k.add_argument("--base-url", required=True, help="the archives' URL is this/<archive>")
    k.add_argument("--epoch", type=int, required=True)
    k.add_argument("--pythons", required=True)
    k.add_argument("stages", type=Path, nargs="+")
    args = parser.parse_args()
    if args.command == "pins":
        pins(args.report, args.out)
    elif args.command == "merge":
        merge(args.src, args.dst)
    elif args.command == "clean":
        clean(args.site)
    else:
        pack(args)


if __name__ == "__main__":
    main()
