"""Command line entry point: `rerunnable` and `python -m rerunnable`."""

import argparse
import sys
from collections.abc import Sequence

from rerunnable import __version__

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rerunnable",
        description="Kubernetes operator for RerunnableJobs (rerunnable.dev/v1alpha1).",
    )
    parser.add_argument("--version", action="version", version=f"rerunnable {__version__}")
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
