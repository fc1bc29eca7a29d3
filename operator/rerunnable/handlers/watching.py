"""kopf's side of the operator: watch events in, the process's start and stop, who we are.

Every handler is a coroutine: kopf runs plain functions in a thread pool, and
the work queue is not thread-safe (nor would a thread hop per watch event be
cheap). The event handlers hand each event to `Operator.observe` and do nothing
else; the work happens on the operator's own queue (rerunnable.controller).
"""

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

import kopf

from rerunnable.api.names import EXECUTION_PLURAL, GROUP, RERUNNABLE_JOB_PLURAL, VERSION
from rerunnable.controller.app import Operator
from rerunnable.controller.kinds import JOB_LABEL_KEYS, JOB_SELECTOR, Kind
from rerunnable.controller.supervisor import KOPF_WATCHER_PREFIX
from rerunnable.kube.transport import LIST_CHUNK

__all__ = ["FOREVER", "NoDiffBase", "configure", "operator_of", "watch_task_names"]

JOB_LABELS: dict[str, Any] = dict.fromkeys(JOB_LABEL_KEYS, kopf.PRESENT)
CONNECT_TIMEOUT = 10.0  # seconds; kopf's default for a watch is its 5-minute request timeout


class _Forever:
    """kopf's request back-offs, then 10 s between attempts for as long as the process lives.

    Iterable afresh for every request, and unsized, so kopf counts no last attempt.
    """

    def __iter__(self) -> Iterator[float]:
        return itertools.chain((1, 1, 2, 3, 5, 8), itertools.repeat(10.0))


FOREVER = _Forever()


class NoDiffBase(kopf.DiffBaseStorage):
    """No diff base: kopf builds one (a deep copy of the body) on every watch event, for
    on.create and on.update handlers, and this operator has none of those. py-spy at
    start-up with 10000 RerunnableJobs: 14 % of the operator's CPU went there."""

    def build(
        self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None
    ) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


# The resources of the three event handlers below, as kopf names them.
WATCHED = (
    "rerunnablejobs.v1alpha1.rerunnable.dev",
    "executions.v1alpha1.rerunnable.dev",
    "jobs.v1.batch",
)


def watch_task_names(namespaces: Sequence[str]) -> set[str]:
    """The tasks kopf runs the watches in: `watcher for <resource>@<namespace or None>`."""
    scopes: list[str | None] = [*namespaces] or [None]
    return {f"{KOPF_WATCHER_PREFIX}{r}@{ns}" for r in WATCHED for ns in scopes}


def operator_of(memo: Any) -> Operator:
    """The process's Operator, which `__main__` puts in kopf's memo."""
    return cast(Operator, memo.operator)


@kopf.on.event(GROUP, VERSION, RERUNNABLE_JOB_PLURAL)
async def rerunnable_job_changed(type: str, body: kopf.Body, memo: Any, **_: Any) -> None:
    operator_of(memo).observe(Kind.RERUNNABLE_JOB, type, body)


@kopf.on.event(GROUP, VERSION, EXECUTION_PLURAL)
async def execution_changed(type: str, body: kopf.Body, memo: Any, **_: Any) -> None:
    operator_of(memo).observe(Kind.EXECUTION, type, body)


@kopf.on.event("batch", "v1", "jobs", labels=JOB_LABELS)
async def job_changed(type: str, body: kopf.Body, memo: Any, **_: Any) -> None:
    operator_of(memo).observe(Kind.JOB, type, body)


@kopf.on.login()
async def login(memo: Any, **_: Any) -> kopf.ConnectionInfo:
    """kopf's watches log in with the operator's own credentials (exec plugins included).

    kopf calls this again when the server refuses what it got (then the
    credential is refreshed) or when it expires.
    """
    operator = operator_of(memo)
    credentials = operator.credentials
    credential = await credentials.current()
    if memo.get("logged_in"):  # again: what kopf had was refused, or has expired
        credential = await credentials.refresh(credential)
    memo["logged_in"] = True
    cluster = operator.transport.cluster
    basic = credential.basic or (None, None)
    return kopf.ConnectionInfo(
        server=cluster.server,
        ca_data=cluster.ca.decode() if cluster.ca else None,
        insecure=cluster.insecure,
        scheme="Bearer" if credential.token else None,
        token=credential.token,
        username=basic[0],
        password=basic[1],
        certificate_data=credential.client_certificate.decode()
        if credential.client_certificate
        else None,
        private_key_data=credential.client_key.decode() if credential.client_key else None,
        default_namespace=cluster.namespace,
        expiration=credential.expires,
    )


def configure(settings: kopf.OperatorSettings) -> None:
    """kopf's settings for this operator."""
    settings.posting.enabled = False  # we post our own events, about our own objects
    settings.persistence.diffbase_storage = NoDiffBase()
    # The API server filters the Jobs (the label filter on the handler is kopf's own, on the
    # client): every other Job in the watched namespaces would be streamed and parsed.
    settings.watching.label_selectors["batch", "jobs"] = JOB_SELECTOR
    # kopf lists before it watches, by default in one answer: 10000 RerunnableJobs in one
    # JSON document, whose parsed peak the allocator kept (bench/README.md, footprint).
    settings.watching.chunk_size = LIST_CHUNK
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    # A watch never gives up: kopf escalates a request error once its back-offs run out
    # (about a minute), which ends the watch stream's task for good. Retry forever instead;
    # what still ends a watch task ends the process (see controller.supervisor).
    settings.networking.error_backoffs = FOREVER
    settings.watching.connect_timeout = CONNECT_TIMEOUT


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: Any, **_: Any) -> None:
    configure(settings)
    operator = operator_of(memo)
    await operator.start(watches=watch_task_names(operator.options.namespaces))


@kopf.on.cleanup()
async def stop(memo: Any, **_: Any) -> None:
    await operator_of(memo).stop()
