"""The kinds the operator and the plugin read and write, and their URL paths."""

from dataclasses import dataclass

from rerunnable.api.names import (
    EXECUTION_KIND,
    EXECUTION_PLURAL,
    GROUP,
    RERUNNABLE_JOB_KIND,
    RERUNNABLE_JOB_PLURAL,
    VERSION,
)

__all__ = [
    "EVENTS",
    "EXECUTIONS",
    "JOBS",
    "LEASES",
    "PODS",
    "RERUNNABLE_JOBS",
    "TOKEN_REVIEWS",
    "Resource",
    "resource_of",
]


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core API
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        """`/apis/<group>/<version>[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]`.

        No namespace: across all namespaces.
        """
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        parts = [root]
        if namespace:
            parts.append(f"namespaces/{namespace}")
        parts.append(self.plural)
        if name:
            parts.append(name)
            if subresource:
                parts.append(subresource)
        return "/".join(parts)


RERUNNABLE_JOBS = Resource(GROUP, VERSION, RERUNNABLE_JOB_PLURAL, RERUNNABLE_JOB_KIND)
EXECUTIONS = Resource(GROUP, VERSION, EXECUTION_PLURAL, EXECUTION_KIND)
JOBS = Resource("batch", "v1", "jobs", "Job")
EVENTS = Resource("", "v1", "events", "Event")
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
PODS = Resource("", "v1", "pods", "Pod")
TOKEN_REVIEWS = Resource("authentication.k8s.io", "v1", "tokenreviews", "TokenReview")


def resource_of(path: str) -> str:
    """The resource a request path names, as the API server's metrics do: `jobs`,
    `executions/status`, `events`; "" for a path that names none (/version, say).

    `/apis/<group>/<version>[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]`, or
    `/api/<version>/...` for the core API; a namespace itself is `namespaces`.
    """
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        rest = parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        rest = parts[3:]
    else:
        return ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        rest = rest[2:]
    if not rest:
        return ""
    return f"{rest[0]}/{rest[2]}" if len(rest) >= 3 else rest[0]
