"""Who may report for a run: a pod of that run's Job, proven by a pod-bound token.

The workload needs no RBAC. Its pod mounts a projected ServiceAccount token
(audience rerunnable.dev, bound to the pod); the API server says, through a
TokenReview, whether the token is good and which pod (name and UID) it is
bound to; the pod must be the one of that name now (the UID matches: a token of
a deleted pod whose name was reused does not pass) and a pod of the Job of the
Execution in the URL (its controller is that Job, which the indexes know).
Reviews and pods are kept a short while, so a run reporting every 200 ms costs
the API server a review every REVIEW_TTL seconds, not five a second.
"""

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rerunnable.controller.index import ObjectIndex
from rerunnable.core.manifests import REPORT_AUDIENCE
from rerunnable.core.state import JobState
from rerunnable.kube.errors import NotFoundError
from rerunnable.kube.resources import PODS, TOKEN_REVIEWS
from rerunnable.kube.transport import Transport

__all__ = ["REVIEW_TTL", "ReportAuth", "ReportRefusedError"]

REVIEW_TTL = 30.0  # seconds a TokenReview's answer, and a pod's UID and owner, are kept
POD_NAME = "authentication.kubernetes.io/pod-name"
POD_UID = "authentication.kubernetes.io/pod-uid"


class ReportRefusedError(Exception):
    """A report refused: the HTTP status, a one-word reason for the metrics, and why."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class _Review:
    authenticated: bool
    namespace: str | None  # of the ServiceAccount
    pod: str | None
    pod_uid: str | None


@dataclass(frozen=True)
class _Pod:
    uid: str
    owner: str | None  # uid of its controller


class ReportAuth:
    def __init__(
        self,
        transport: Transport,
        jobs: ObjectIndex,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._jobs = jobs
        self._clock = clock
        self._reviews: dict[str, tuple[float, _Review]] = {}
        self._pods: dict[tuple[str, str], tuple[float, _Pod | None]] = {}

    async def verify(self, token: str | None, namespace: str, execution: str) -> None:
        """Return if the bearer of `token` may report for Execution `namespace/execution`."""
        if not token:
            raise ReportRefusedError(
                401, "NoToken", "no bearer token (Authorization: Bearer <token>)"
            )
        review = await self._review(token)
        if not review.authenticated:
            raise ReportRefusedError(
                401,
                "BadToken",
                f"the API server does not accept this token for audience {REPORT_AUDIENCE}",
            )
        if review.pod is None or review.pod_uid is None:
            raise ReportRefusedError(403, "NotBoundToAPod", "the token is not bound to a pod")
        if review.namespace != namespace:
            raise ReportRefusedError(
                403, "OtherNamespace", f"the token is of namespace {review.namespace}"
            )
        pod = await self._pod(namespace, review.pod)
        if pod is None or pod.uid != review.pod_uid:
            raise ReportRefusedError(
                403,
                "PodGone",
                f"pod {review.pod} the token is bound to no longer exists (uid {review.pod_uid})",
            )
        job = self._job(namespace, execution)
        if job is None or pod.owner != job.uid:
            raise ReportRefusedError(
                403,
                "NotThisRun",
                f"pod {review.pod} is not a pod of the Job of Execution {execution}",
            )

    def _job(self, namespace: str, execution: str) -> JobState | None:
        found = self._jobs.find(namespace, execution)
        return found.obj if found is not None else None

    async def _review(self, token: str) -> _Review:
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = self._clock()
        cached = self._reviews.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token, "audiences": [REPORT_AUDIENCE]},
        }
        answer = await self._transport.request("POST", TOKEN_REVIEWS.path(), body)
        review = _read_review(answer.get("status") or {})
        self._reviews = {k: v for k, v in self._reviews.items() if v[0] > now}
        self._reviews[digest] = (now + REVIEW_TTL, review)
        return review

    async def _pod(self, namespace: str, name: str) -> _Pod | None:
        now = self._clock()
        cached = self._pods.get((namespace, name))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            body = await self._transport.request("GET", PODS.path(namespace, name))
        except NotFoundError:
            pod = None
        else:
            meta = body.get("metadata") or {}
            owners = [o for o in meta.get("ownerReferences") or [] if o.get("controller")]
            pod = _Pod(uid=str(meta.get("uid", "")), owner=owners[0]["uid"] if owners else None)
        self._pods = {k: v for k, v in self._pods.items() if v[0] > now}
        self._pods[(namespace, name)] = (now + REVIEW_TTL, pod)
        return pod


def _read_review(status: dict[str, Any]) -> _Review:
    user = status.get("user") or {}
    extra = user.get("extra") or {}
    username = str(user.get("username", ""))
    namespace = None
    if username.startswith("system:serviceaccount:"):
        namespace = username.split(":")[2]
    authenticated = bool(status.get("authenticated")) and REPORT_AUDIENCE in (
        status.get("audiences") or [REPORT_AUDIENCE]
    )
    return _Review(
        authenticated=authenticated,
        namespace=namespace,
        pod=(extra.get(POD_NAME) or [None])[0],
        pod_uid=(extra.get(POD_UID) or [None])[0],
    )
