"""The public API of Rerunnable: resource names and the v1alpha1 models."""

from rerunnable.api import names, v1alpha1

__all__ = ["names", "v1alpha1"]
