"""core.messages: what the operator writes, the plugin reads back, whatever the text."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rerunnable.api.reasons import EventReason
from rerunnable.api.v1alpha1 import ExecutionPhase, ExecutionStatus
from rerunnable.core.messages import (
    cancelled_message,
    finished_event,
    read_finished_event,
    with_held_token,
    without_held_token,
)

AT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
texts = st.text(min_size=1, max_size=80)
names = st.from_regex(r"[a-z][a-z0-9-]{0,40}-m[0-9a-f]{8}", fullmatch=True)


@given(message=texts, token=texts)
def test_the_held_token_note_comes_off_exactly(message: str, token: str) -> None:
    assert without_held_token(with_held_token(message, token)) == message


@given(message=texts)
def test_a_message_without_a_note_is_left_as_it_is(message: str) -> None:
    assert without_held_token(with_held_token(message, None)) == message


def test_the_note_names_the_token() -> None:
    assert with_held_token("spec.schedule: bad", "t1") == (
        "spec.schedule: bad (manual run 't1' starts once this is fixed)"
    )


@pytest.mark.parametrize(
    ("phase", "reason"),
    [
        (ExecutionPhase.SUCCEEDED, EventReason.RUN_SUCCEEDED),
        (ExecutionPhase.FAILED, EventReason.RUN_FAILED),
        (ExecutionPhase.INTERRUPTED, EventReason.RUN_INTERRUPTED),
    ],
)
def test_a_finished_event_names_its_reason(phase: ExecutionPhase, reason: EventReason) -> None:
    status = ExecutionStatus(phase=phase, reason="Why", message="what", completion_time=AT)
    assert finished_event("job-m1", status)[0] == reason


@given(
    name=names,
    other=names,
    phase=st.sampled_from(
        [ExecutionPhase.SUCCEEDED, ExecutionPhase.FAILED, ExecutionPhase.INTERRUPTED]
    ),
    why=texts,
)
def test_a_finished_event_is_read_back_for_its_run_only(
    name: str, other: str, phase: ExecutionPhase, why: str
) -> None:
    status = ExecutionStatus(phase=phase, reason="Reason", message=why)
    reason, message = finished_event(name, status)
    assert read_finished_event(reason, message, name) == phase
    if other != name:
        assert read_finished_event(reason, message, other) is None


def test_other_events_say_nothing_of_how_a_run_ended() -> None:
    assert read_finished_event("RunStarted", "Execution job-m1 started", "job-m1") is None


CANCELLED = [
    ("stamped, started", "alice", True, "cancelled by alice; its Job is deleted"),
    ("stamped, before it started", "alice", False, "cancelled by alice before it started"),
    (
        "no stamp (webhook down), started",
        None,
        True,
        "cancelled (rerunnable.dev/cancel); its Job is deleted",
    ),
    (
        "no stamp, before it started",
        None,
        False,
        "cancelled (rerunnable.dev/cancel) before it started",
    ),
    (
        "empty stamp reads as none",
        "",
        True,
        "cancelled (rerunnable.dev/cancel); its Job is deleted",
    ),
    (
        "a service account",
        "system:serviceaccount:ci:deployer",
        True,
        "cancelled by system:serviceaccount:ci:deployer; its Job is deleted",
    ),
]


@pytest.mark.parametrize(
    ("case", "by", "started", "want"), CANCELLED, ids=[c[0] for c in CANCELLED]
)
def test_cancelled_message(case: str, by: str | None, started: bool, want: str) -> None:
    assert cancelled_message(by, started) == want, case


@given(name=names, other=names, by=st.none() | texts, started=st.booleans())
def test_a_cancelled_event_is_read_back_as_interrupted_for_its_run_only(
    name: str, other: str, by: str | None, started: bool
) -> None:
    # The planner's RunCancelled event: "Execution NAME " then the status message.
    message = f"Execution {name} {cancelled_message(by, started)}"
    assert read_finished_event(EventReason.RUN_CANCELLED, message, name) == (
        ExecutionPhase.INTERRUPTED
    )
    if other != name:
        assert read_finished_event(EventReason.RUN_CANCELLED, message, other) is None
