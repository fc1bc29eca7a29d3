"""Run parameters: declared on the job, sent with a run's token, checked, resolved.

One reading for everyone: the planner (which resolves a run's values, or records
why it cannot), the validating webhook (which refuses the same bad values at
`kubectl annotate`) and `kubectl rerun run -p` all call these functions.

Patterns are RE2, as the CRD's own CEL rules read them, so a pattern means the
same thing at apply time, at admission and in the planner.
"""

from collections.abc import Mapping, Sequence

import re2

from rerunnable.api.names import ANNOTATION_PARAMETERS_FOR, PARAMETER_ANNOTATION_PREFIX
from rerunnable.api.reasons import ReadyReason
from rerunnable.api.v1alpha1 import (
    RESERVED_PARAMETER_PREFIX,
    ParameterDeclaration,
    RerunnableJobSpec,
)
from rerunnable.core.schedule import InvalidSpecError

__all__ = [
    "MAX_PARAMETER_BYTES",
    "ParameterError",
    "check_declarations",
    "parameter_annotations",
    "resolve",
    "sent_parameters",
]

# The values a run sends, names included, in UTF-8: at most this many bytes in all.
MAX_PARAMETER_BYTES = 4096


class ParameterError(Exception):
    """A run's parameters that do not check out; `message` names each offending parameter."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        self.message = "; ".join(problems)
        super().__init__(self.message)


def check_declarations(spec: RerunnableJobSpec) -> None:
    """Raise InvalidSpecError, naming the field, for declarations no run could satisfy.

    The CRD checks the same with CEL; this is the operator's own reading, for an
    object that got in without it, and the one that can compile a pattern.
    """
    declared = spec.parameters or []
    seen: set[str] = set()
    for i, p in enumerate(declared):
        where = f"spec.parameters[{i}]"
        if p.name in seen:
            raise InvalidSpecError(
                ReadyReason.INVALID_SPEC, f"{where}.name: {p.name} is declared twice"
            )
        seen.add(p.name)
        if p.name.startswith(RESERVED_PARAMETER_PREFIX):
            raise InvalidSpecError(
                ReadyReason.INVALID_SPEC,
                f"{where}.name: {p.name}: names starting with {RESERVED_PARAMETER_PREFIX} are "
                "reserved: the operator sets those variables itself",
            )
        if p.pattern is not None:
            try:
                re2.compile(p.pattern)
            except re2.error as e:
                raise InvalidSpecError(
                    ReadyReason.INVALID_SPEC,
                    f"{where}.pattern: {p.pattern!r} is not an RE2 regular expression ({_text(e)})",
                ) from e
        if p.default is not None and (problem := _value_problem(p, p.default)) is not None:
            raise InvalidSpecError(ReadyReason.INVALID_SPEC, f"{where}.default: {problem}")
    scheduled = spec.schedule is not None or bool(spec.schedules)
    unsupplied = [p.name for p in declared if p.required and p.default is None]
    if scheduled and unsupplied:
        raise InvalidSpecError(
            ReadyReason.INVALID_SPEC,
            f"spec.parameters: {', '.join(unsupplied)}: required without a default, but the job "
            "has a schedule, and a scheduled run could never supply it (give it a default, or "
            "make it optional)",
        )


def sent_parameters(annotations: Mapping[str, str], token: str | None) -> dict[str, str] | None:
    """The parameters sent with the run of `token`.

    - the `parameters.rerunnable.dev/<NAME>` annotations, by name, when
      `rerunnable.dev/parameters-for` names this very token (none sent: empty);
    - None when it names another token or none: the run takes the defaults, and
      values left from an earlier run are never read as this one's.
    """
    if token is None or annotations.get(ANNOTATION_PARAMETERS_FOR) != token:
        return None
    return {
        key.removeprefix(PARAMETER_ANNOTATION_PREFIX): value
        for key, value in annotations.items()
        if key.startswith(PARAMETER_ANNOTATION_PREFIX)
    }


def parameter_annotations(
    token: str, values: Mapping[str, str], present: Mapping[str, str]
) -> dict[str, str | None]:
    """The annotations (a merge patch) that send exactly `values` with the run of `token`:
    `parameters-for`, each value, and a removal (None) for every other parameter annotation
    `present` on the object, so that no earlier value goes with this run. The caller adds
    the run annotation itself, in the same patch."""
    patch: dict[str, str | None] = {
        key: None for key in present if key.startswith(PARAMETER_ANNOTATION_PREFIX)
    }
    patch.update({PARAMETER_ANNOTATION_PREFIX + name: value for name, value in values.items()})
    patch[ANNOTATION_PARAMETERS_FOR] = token
    return patch


def resolve(
    declared: Sequence[ParameterDeclaration] | None, sent: Mapping[str, str]
) -> dict[str, str]:
    """Every parameter's value for a run that sent `sent`, in declared order: the value sent,
    else the default; an optional parameter with neither is left out.

    Raises ParameterError naming every parameter that is not declared, is required and
    missing, is outside its enum or does not match its pattern, or when the values sent
    are over MAX_PARAMETER_BYTES in all.
    """
    declared = declared or []
    by_name = {p.name: p for p in declared}
    problems = []
    unknown = sorted(set(sent) - set(by_name))
    if unknown:
        known = ", ".join(by_name) if by_name else "none"
        problems += [
            f"parameter {n}: not declared in spec.parameters (declared: {known})" for n in unknown
        ]
    size = sum(len(k.encode()) + len(v.encode()) for k, v in sent.items())
    if size > MAX_PARAMETER_BYTES:
        problems.append(
            f"parameters: {size} bytes in all (names and values), over the limit of "
            f"{MAX_PARAMETER_BYTES}"
        )
    values: dict[str, str] = {}
    for p in declared:
        value = sent.get(p.name, p.default)
        if value is None:
            if p.required:
                problems.append(f"parameter {p.name}: required, and not sent")
            continue
        if p.name in sent and (problem := _value_problem(p, value)) is not None:
            problems.append(f"parameter {p.name}: {problem}")
        values[p.name] = value
    if problems:
        raise ParameterError(problems)
    return values


def _text(e: Exception) -> str:
    """google-re2 gives its reason as bytes."""
    reason = e.args[0] if e.args else e
    return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)


def _value_problem(p: ParameterDeclaration, value: str) -> str | None:
    """Why `value` is not allowed for `p` (its enum, its pattern); None if it is."""
    if p.enum is not None and value not in p.enum:
        return f"{value!r} is not one of {', '.join(p.enum)}"
    if p.pattern is not None:
        try:
            matched = re2.search(p.pattern, value) is not None
        except re2.error:
            return f"its pattern {p.pattern!r} is not an RE2 regular expression"
        if not matched:
            return f"{value!r} does not match the pattern {p.pattern}"
    return None
