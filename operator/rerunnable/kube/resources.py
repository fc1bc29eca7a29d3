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
