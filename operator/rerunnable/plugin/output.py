"""Text for people (aligned tables, kubectl-style ages) and for programs (JSON, YAML)."""

import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from rerunnable.plugin.errors import PluginError

M = TypeVar("M", bound=BaseModel)

__all__ = [
    "NONE",
    "OBJECT_FORMATS",
    "TABLE_FORMATS",
    "dump",
    "formatted",
    "human_age",
    "read_status",
    "render_table",
    "resource_name",
    "section",
    "short_duration",
]

NONE = "<none>"  # what kubectl prints for a missing value
# -o of the commands that act on or return objects; of those that print a table, with wide.
OBJECT_FORMATS = ("name", "json", "yaml")
TABLE_FORMATS = ("name", "json", "yaml", "wide")


def human_age(delta: timedelta) -> str:
    """kubectl's AGE (apimachinery's HumanDuration): `45s`, `5m30s`, `17m`, `5h3m`, `3d`."""
    seconds = int(delta.total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        rest = days % 365
        return f"{years}y{rest}d" if rest else f"{years}y"
    return f"{years}y"


def short_duration(delta: timedelta) -> str:
    """An exact, compact length of time: `0s`, `45s`, `1m30s`, `2h0m5s` -> `2h5s`, `1d3h`."""
    seconds = max(0, int(delta.total_seconds()))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned as `kubectl get` aligns them: three spaces apart, no trailing blanks."""
    widths = [len(h) for h in headers]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"row {row!r} has {len(row)} cells, expected {len(headers)}")
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [
        "   ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (headers, *rows)
    ]
    return "\n".join(lines) + "\n"


def dump(obj: Any, fmt: str) -> str:
    """`-o json` (indented as kubectl does) or `-o yaml`."""
    if fmt == "json":
        return json.dumps(obj, indent=4) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)
    raise ValueError(f"unknown output format {fmt!r}")


def resource_name(obj: Mapping[str, Any]) -> str:
    """What kubectl's `-o name` prints: `execution.rerunnable.dev/NAME` (kind.group/name)."""
    kind = str(obj.get("kind") or "")
    group = str(obj.get("apiVersion") or "").rpartition("/")[0]
    name = str(section(obj, "metadata").get("name") or "")
    if not kind or not name:
        raise ValueError(f"not an object with a kind and a name: {dict(obj)!r:.200}")
    return f"{kind.lower()}.{group}/{name}" if group else f"{kind.lower()}/{name}"


def _without_managed_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """As kubectl prints objects (unless --show-managed-fields)."""
    meta = dict(section(obj, "metadata"))
    meta.pop("managedFields", None)
    return {**obj, "metadata": meta} if "metadata" in obj else dict(obj)


def formatted(objects: Sequence[Mapping[str, Any]] | Mapping[str, Any], fmt: str) -> str:
    """-o name|json|yaml of one object, or of several (a kubectl List for json and yaml; a
    line per object for name): the one place that prints API objects."""
    if isinstance(objects, Mapping):
        if fmt == "name":
            return resource_name(objects) + "\n"
        return dump(_without_managed_fields(objects), fmt)
    if fmt == "name":
        return "".join(resource_name(o) + "\n" for o in objects)
    items = [_without_managed_fields(o) for o in objects]
    return dump({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {}}, fmt)


def read_status(model: type[M], obj: Mapping[str, Any], kind: str) -> M:
    """An object's status through the API's own model; PluginError naming what is wrong."""
    try:
        return model.model_validate(obj.get("status") or {})
    except ValidationError as e:
        name = (obj.get("metadata") or {}).get("name", "")
        first = e.errors()[0]
        where = ".".join(str(part) for part in ("status", *first["loc"]))
        raise PluginError(
            f"{kind}/{name} has a status this kubectl rerun cannot read: {where}: {first['msg']}"
        ) from None


def section(obj: Mapping[str, Any] | None, key: str) -> Mapping[str, Any]:
    """`obj[key]` if it is a mapping (an object's metadata or spec), else an empty one."""
    value = (obj or {}).get(key)
    return value if isinstance(value, Mapping) else {}
