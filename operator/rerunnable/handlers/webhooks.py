"""Admission webhooks, served by every replica when `--webhook-port` is given.

Importing this module registers them with kopf. The webhook configurations
(which requests reach which path, with which failure policy) belong to the
Helm chart, not to kopf: the operator needs no right to edit them.

- `/validate`: refuses a spec the operator could not serve (the chart makes
  that fail closed), and a run whose parameters the operator would refuse or
  a backfill it would refuse (failing open: the operator then skips the run,
  InvalidParameters, or reports the backfill, InvalidBackfill).
- `/requested-by`: stamps who asked for a run or a backfill (failing open: a
  run still starts, without a recorded requester).
- `/cancelled-by`: stamps who cancelled a run (failing open too).
"""

from datetime import UTC, datetime
from typing import Any

import kopf

from rerunnable.api.names import (
    ANNOTATION_RUN,
    EXECUTION_PLURAL,
    GROUP,
    RERUNNABLE_JOB_PLURAL,
    VERSION,
)
from rerunnable.controller.serving import ServingOptions
from rerunnable.core.admission import (
    canceller_stamp,
    check_backfill,
    check_run,
    check_spec,
    requester_stamp,
)
from rerunnable.core.backfill import BackfillError
from rerunnable.core.parameters import ParameterError
from rerunnable.core.schedule import InvalidSpecError

__all__: list[str] = []  # importing it registers the webhooks with kopf

VALIDATE = "validate"
REQUESTED_BY = "requested-by"
CANCELLED_BY = "cancelled-by"


@kopf.on.startup()
async def serve(settings: kopf.OperatorSettings, memo: Any, **_: Any) -> None:
    options: ServingOptions = memo["webhook"]
    # kopf reloads the files when they change (cert-manager renews them in place).
    settings.admission.server = kopf.WebhookServer(
        addr=options.addr,
        port=options.port,
        certfile=str(options.certfile),
        pkeyfile=str(options.keyfile),
    )
    settings.admission.managed = None


@kopf.on.validate(GROUP, VERSION, RERUNNABLE_JOB_PLURAL, id=VALIDATE)
async def validate(
    spec: kopf.Spec,
    annotations: kopf.Annotations,
    namespace: str | None,
    name: str | None,
    old: kopf.Body | None = None,
    **_: Any,
) -> None:
    try:
        checked = check_spec(
            spec, namespace=namespace or "", name=name or "", now=datetime.now(UTC)
        )
    except InvalidSpecError as e:
        if old is None or old.spec != spec:
            raise kopf.AdmissionError(e.message, code=422) from e
        # A run asked of a job whose spec is already invalid: the operator reports the spec
        # in status, and a run request is no place to refuse it.
        return
    before = old.metadata.annotations if old is not None else None
    try:
        check_backfill(
            checked,
            before,
            annotations,
            namespace=namespace or "",
            name=name or "",
            now=datetime.now(UTC),
        )
    except BackfillError as e:
        raise kopf.AdmissionError(e.message, code=422) from e
    try:
        check_run(checked, before, annotations)
    except ParameterError as e:
        token = annotations.get(ANNOTATION_RUN)
        raise kopf.AdmissionError(
            f"{ANNOTATION_RUN}={token}: invalid parameters: {e.message}", code=422
        ) from e


@kopf.on.mutate(GROUP, VERSION, RERUNNABLE_JOB_PLURAL, id=REQUESTED_BY)
async def stamp_requester(
    annotations: kopf.Annotations,
    userinfo: kopf.UserInfo,
    patch: kopf.Patch,
    old: kopf.Body | None = None,
    **_: Any,
) -> None:
    stamp = requester_stamp(
        old.metadata.annotations if old is not None else None,
        annotations,
        str(userinfo.get("username", "")),
    )
    patch.metadata.annotations.update(stamp)


@kopf.on.mutate(GROUP, VERSION, EXECUTION_PLURAL, id=CANCELLED_BY)
async def stamp_canceller(
    annotations: kopf.Annotations,
    userinfo: kopf.UserInfo,
    patch: kopf.Patch,
    old: kopf.Body | None = None,
    **_: Any,
) -> None:
    stamp = canceller_stamp(
        old.metadata.annotations if old is not None else None,
        annotations,
        str(userinfo.get("username", "")),
    )
    patch.metadata.annotations.update(stamp)
