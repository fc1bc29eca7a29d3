"""Durations and times as users type them on the command line (pure: `now` is an argument)."""

import re
from datetime import datetime, timedelta

from rerunnable.plugin.errors import PluginError

__all__ = ["parse_duration", "parse_request_timeout", "parse_until"]

_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
}
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")
_DURATION = re.compile(rf"(?:{_PART.pattern})+")

DURATION_HINT = "a number and a unit (ms, s, m, h, d), e.g. 30s, 10m, 1h30m, 1d"


def parse_duration(text: str, *, what: str = "duration") -> timedelta:
    """A Go-style duration with days: `30s`, `10m`, `1h30m`, `1.5h`, `1d`. Must be positive."""
    cleaned = text.strip()
    if not _DURATION.fullmatch(cleaned):
        raise PluginError(f"{what}: {text!r} is not a duration; write {DURATION_HINT}")
    total = sum(
        (float(number) * _UNITS[unit] for number, unit in _PART.findall(cleaned)),
        timedelta(0),
    )
    if total <= timedelta(0):
        raise PluginError(f"{what}: {text!r} must be longer than zero")
    return total


_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)")
_GO_DURATION = re.compile(rf"(?:{_GO_PART.pattern})+")


def parse_request_timeout(text: str) -> float | None:
    """kubectl's --request-timeout: a whole number of seconds (`30`) or a Go duration (`30s`,
    `1m`, `1h2m3s`, `500ms`); `0` means no limit (None). Seconds otherwise."""
    cleaned = text.strip()
    if cleaned.isdigit():
        seconds = float(cleaned)
    elif _GO_DURATION.fullmatch(cleaned):
        seconds = sum(float(n) * _GO_UNITS[unit] for n, unit in _GO_PART.findall(cleaned))
    else:
        raise PluginError(
            f"--request-timeout: {text!r} is not a timeout; write a whole number of seconds or"
            " a number and a unit (e.g. 30s, 2m, 1h; 0 for none)"
        )
    return seconds or None


def looks_like_duration(text: str) -> bool:
    return _DURATION.fullmatch(text.strip()) is not None


def parse_until(text: str, *, now: datetime) -> datetime:
    """`--until`: an RFC 3339 time (`2026-11-23T08:00:00Z`, `...+01:00`) or a duration from now.

    The result is timezone-aware and later than `now`.
    """
    cleaned = text.strip()
    if looks_like_duration(cleaned):
        return now + parse_duration(cleaned, what="--until")
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise PluginError(
            f"--until: {text!r} is neither an RFC 3339 time (e.g. 2026-11-23T08:00:00Z)"
            f" nor a duration from now ({DURATION_HINT})"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise PluginError(
            f"--until: {text!r} has no time zone; add Z (UTC) or an offset such as +01:00"
        )
    if moment <= now:
        raise PluginError(f"--until: {text!r} is not in the future")
    return moment
