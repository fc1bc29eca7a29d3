"""The CronJob corpus: real CronJob manifests others wrote, read from where they are.

They are not copied into this repository. RERUNNABLE_CORPUS names the corpus
folder (the one holding `cronjobs/`), by default `../shared/corpus` next to the
repository. Where it is absent, the corpus tests say plainly that they were not
run (a skip with the reason, listed by pytest -ra); with
RERUNNABLE_CORPUS_REQUIRED set, as `.ci/run` sets it, they fail instead.
"""

import os
from pathlib import Path

import pytest

__all__ = ["CORPUS_ENV", "REQUIRED_ENV", "cronjobs_dir", "require_cronjobs"]

CORPUS_ENV = "RERUNNABLE_CORPUS"
REQUIRED_ENV = "RERUNNABLE_CORPUS_REQUIRED"
REPOSITORY = Path(__file__).resolve().parents[1]


def cronjobs_dir() -> Path:
    """Where the corpus's CronJob manifests are, whether or not they are there."""
    corpus = os.environ.get(CORPUS_ENV) or str(REPOSITORY.parent / "shared" / "corpus")
    return Path(corpus).expanduser() / "cronjobs"


def require_cronjobs() -> Path:
    """The folder of CronJob manifests; else the calling test is skipped (or fails in CI)."""
    folder = cronjobs_dir()
    if folder.is_dir():
        return folder
    message = f"the CronJob corpus is not at {folder} (set {CORPUS_ENV} to the corpus folder)"
    if os.environ.get(REQUIRED_ENV):
        pytest.fail(message)
    pytest.skip(f"not run: {message}")
