"""Run by the zipapp's bootstrap (shiv's --preamble) before kubectl-rerun's entry point.

The zipapp carries the compiled modules (pydantic-core, google-re2, aiohttp...) of each
Python it supports, side by side (their file names carry the version); any other Python
would fail on an import with a confusing message, so say what is needed instead.
"""

import sys

SUPPORTED = [(3, 11)]  # hack/krew.sh writes its PYTHONS here

if sys.version_info[:2] not in SUPPORTED:
    have = ".".join(map(str, sys.version_info[:3]))
    want = ", ".join(f"{major}.{minor}" for major, minor in SUPPORTED)
    sys.exit(f"kubectl-rerun needs python3 {want} on PATH; {sys.executable} is {have}")
