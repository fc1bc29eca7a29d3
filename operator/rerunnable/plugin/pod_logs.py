"""`kubectl rerun logs` and `run --wait --logs`: which containers of a run's pods have a log
to read, what to ask the API server for it, and how each line is printed (pure).

A run's pods are those of its Job, found by the label rerunnable.dev/execution. A
container has a log once it has started (running, or terminated); a container that
restarts (restartPolicy OnFailure) has a new log, so a `Source` is one start of one
container of one pod.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rerunnable.plugin.errors import PluginError

__all__ = [
    "LogOptions",
    "Source",
    "check_container",
    "container_names",
    "log_query",
    "no_log",
    "print_line",
    "readable",
]

Body = Mapping[str, Any]


@dataclass(frozen=True)
class LogOptions:
    """What the user asked for: one container (None: all of them, init containers first),
    the last `tail` lines of each (None: all), each line with its time (`timestamps`), and
    with `[pod/POD/CONTAINER]` in front (`prefix`)."""

    container: str | None = None
    tail: int | None = None
    timestamps: bool = False
    prefix: bool = False


@dataclass(frozen=True, order=True)
class Source:
    """One start of one container of one pod: the log the kubelet keeps for it."""

    pod: str
    container: str
    restarts: int = 0  # the container's restartCount when it was seen started


def container_names(pod: Body) -> list[str]:
    """The pod's init containers, then its containers, by name, in the order they run."""
    spec = pod.get("spec") or {}
    return [
        str(c.get("name"))
        for key in ("initContainers", "containers")
        for c in spec.get(key) or []
        if c.get("name")
    ]


def _started(status: Body) -> bool:
    state = status.get("state") or {}
    return "running" in state or "terminated" in state


def _created(pod: Body) -> tuple[str, str]:
    metadata = pod.get("metadata") or {}
    return str(metadata.get("creationTimestamp") or ""), str(metadata.get("name") or "")


def readable(pods: Iterable[Body], container: str | None = None) -> list[Source]:
    """The containers of `pods` that have a log now: started (running or terminated), pods
    oldest first, each pod's in the order they run (init containers first); only those named
    `container` if given."""
    found: list[Source] = []
    for pod in sorted(pods, key=_created):
        name = str((pod.get("metadata") or {}).get("name") or "")
        status = pod.get("status") or {}
        statuses = {
            str(s.get("name")): s
            for key in ("initContainerStatuses", "containerStatuses")
            for s in status.get(key) or []
        }
        for each in container_names(pod):
            seen = statuses.get(each)
            if (container is None or each == container) and seen is not None and _started(seen):
                found.append(Source(name, each, int(seen.get("restartCount") or 0)))
    return found


def check_container(pods: Iterable[Body], container: str | None, execution: str) -> None:
    """Refuse `-c NAME` when no pod of the run has a container NAME (the names it has said)."""
    if container is None:
        return
    names = sorted({each for pod in pods for each in container_names(pod)})
    if names and container not in names:
        raise PluginError(
            f"-c {container}: no container {container!r} in the pods of execution {execution}"
            f" (it has {', '.join(names)})"
        )


def log_query(source: Source, options: LogOptions, *, follow: bool) -> dict[str, str]:
    """The query of GET .../pods/POD/log for `source`."""
    query = {"container": source.container}
    if follow:
        query["follow"] = "true"
    if options.tail is not None:
        query["tailLines"] = str(options.tail)
    if options.timestamps:
        query["timestamps"] = "true"
    return query


def print_line(source: Source, line: bytes, options: LogOptions) -> str:
    """A log line as printed: decoded (bytes that are not UTF-8 replaced), without its
    carriage return, after `[pod/POD/CONTAINER] ` with --prefix (as kubectl logs --prefix)."""
    text = line.decode("utf-8", errors="replace").removesuffix("\r")
    return f"[pod/{source.pod}/{source.container}] {text}" if options.prefix else text


def no_log(execution: str, phase: str, pods: int) -> str:
    """Why `kubectl rerun logs EXECUTION` (without -f) has nothing to print: the run has
    `pods` pods, none of whose containers has started."""
    if pods:
        return (
            f"no container of execution {execution} has started yet ({phase});"
            f" kubectl rerun logs {execution} -f waits for it"
        )
    if phase in ("Pending", "Running"):
        return (
            f"execution {execution} has no pods yet ({phase});"
            f" kubectl rerun logs {execution} -f waits for them"
        )
    return (
        f"execution {execution} ({phase}) has no pods any more: they go with its Job"
        " (deleted with a cancel, by the Job's ttlSecondsAfterFinished, or by hand)"
    )
