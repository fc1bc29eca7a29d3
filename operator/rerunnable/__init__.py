"""Rerunnable: jobs configured once and run many times, on Kubernetes."""

from importlib.metadata import version as _version

__all__ = ["__version__"]

__version__: str = _version("rerunnable")
