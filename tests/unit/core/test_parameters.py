"""Run parameters (rerunnable.core.parameters): declared on the job, sent with a run's token,
checked and resolved, table by table.

The contract: a run uses the parameters.rerunnable.dev/* annotations only when
rerunnable.dev/parameters-for names its own token, else it takes the defaults; an
optional parameter without a default that is not sent is absent; an unknown name, a
missing required parameter, a value outside its enum or not matching its pattern (RE2,
matched anywhere in the value, as CEL's matches()), or over 4 KiB in all (names and
values, in UTF-8) is refused, naming the parameter.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rerunnable.api.reasons import ReadyReason
from rerunnable.api.v1alpha1 import ParameterDeclaration, RerunnableJobSpec
from rerunnable.core.parameters import (
    MAX_PARAMETER_BYTES,
    ParameterError,
    check_declarations,
    parameter_annotations,
    resolve,
    sent_parameters,
)
from rerunnable.core.schedule import InvalidSpecError
from tests.unit.core.builders import TEMPLATE

P = "parameters.rerunnable.dev/"
FOR = "rerunnable.dev/parameters-for"
RUN = "rerunnable.dev/run"


def cases(rows: Iterable[tuple[Any, ...]]) -> list[Any]:
    """pytest params whose id is the row's first element, the name of the case."""
    return [pytest.param(*row, id=row[0]) for row in rows]


def decl(name: str, **fields: Any) -> ParameterDeclaration:
    """A declaration as the user writes it (camelCase keys would do too)."""
    return ParameterDeclaration.model_validate({"name": name, **fields})


def spec(*declared: ParameterDeclaration, **fields: Any) -> RerunnableJobSpec:
    raw: dict[str, Any] = {"jobTemplate": TEMPLATE, **fields}
    if declared:
        raw["parameters"] = [d.model_dump(exclude_none=True) for d in declared]
    return RerunnableJobSpec.model_validate(raw)


ENV = decl("ENV", enum=["dev", "prod"], default="dev")
TAG = decl("TAG", required=True, pattern="^v[0-9]+$")
NOTE = decl("NOTE")  # optional, no default
REGION = decl("REGION", default="eu")


# 1. resolve: the values a run gets -------------------------------------------------------------

RESOLVED = [
    ("no declarations, nothing sent", None, {}, {}),
    ("empty declarations, nothing sent", [], {}, {}),
    ("sent value wins over the default", [REGION], {"REGION": "us"}, {"REGION": "us"}),
    ("default applied when not sent", [REGION], {}, {"REGION": "eu"}),
    ("optional, not sent, no default: absent", [NOTE], {}, {}),
    ("optional, sent", [NOTE], {"NOTE": "hello"}, {"NOTE": "hello"}),
    ("required, sent", [TAG], {"TAG": "v12"}, {"TAG": "v12"}),
    ("required, not sent, has a default", [decl("A", required=True, default="x")], {}, {"A": "x"}),
    ("enum value", [ENV], {"ENV": "prod"}, {"ENV": "prod"}),
    ("enum default, not sent", [ENV], {}, {"ENV": "dev"}),
    (
        "unanchored pattern matches a substring",
        [decl("N", pattern="[0-9]+")],
        {"N": "build-42-final"},
        {"N": "build-42-final"},
    ),
    ("anchored pattern matches the whole value", [TAG], {"TAG": "v7"}, {"TAG": "v7"}),
    (
        "enum and pattern both satisfied",
        [decl("E", enum=["a1", "b2"], pattern="[0-9]$")],
        {"E": "b2"},
        {"E": "b2"},
    ),
    (
        "RE2 character class (Unicode script)",
        [decl("G", pattern=r"^\p{Greek}+$")],
        {"G": "αβγ"},
        {"G": "αβγ"},
    ),
    ("an empty value is a value sent", [decl("A", default="x")], {"A": ""}, {"A": ""}),
    (
        "every kind at once",
        [ENV, TAG, NOTE, REGION],
        {"TAG": "v3", "NOTE": "n"},
        {"ENV": "dev", "TAG": "v3", "NOTE": "n", "REGION": "eu"},
    ),
]


@pytest.mark.parametrize(("case", "declared", "sent", "want"), cases(RESOLVED))
def test_resolve(
    case: str,
    declared: list[ParameterDeclaration] | None,
    sent: dict[str, str],
    want: dict[str, str],
) -> None:
    got = resolve(declared, sent)
    assert got == want, case
    assert list(got) == list(want), case  # declared order


def test_result_is_in_declared_order_not_sent_order() -> None:
    declared = [decl("C", default="c"), decl("A"), decl("B", default="b")]
    got = resolve(declared, {"B": "2", "A": "1", "C": "3"})
    assert list(got.items()) == [("C", "3"), ("A", "1"), ("B", "2")]


def test_resolve_leaves_what_was_sent_as_it_was() -> None:
    sent = {"REGION": "us"}
    resolve([REGION, ENV], sent)
    assert sent == {"REGION": "us"}


REFUSED = [
    (
        "unknown name: named, with the declared ones",
        [ENV, REGION],
        {"COLOR": "red"},
        ["parameter COLOR: not declared in spec.parameters (declared: ENV, REGION)"],
    ),
    (
        "unknown name, nothing declared",
        None,
        {"COLOR": "red"},
        ["parameter COLOR: not declared in spec.parameters (declared: none)"],
    ),
    (
        "unknown names, each named (sorted)",
        [ENV],
        {"ZED": "1", "ALPHA": "2"},
        [
            "parameter ALPHA: not declared in spec.parameters (declared: ENV)",
            "parameter ZED: not declared in spec.parameters (declared: ENV)",
        ],
    ),
    (
        "names are case-sensitive",
        [ENV],
        {"env": "dev"},
        ["parameter env: not declared in spec.parameters (declared: ENV)"],
    ),
    ("required, not sent, no default", [TAG], {}, ["parameter TAG: required, and not sent"]),
    ("not in the enum", [ENV], {"ENV": "qa"}, ["parameter ENV: 'qa' is not one of dev, prod"]),
    (
        "enum is exact (case)",
        [ENV],
        {"ENV": "Prod"},
        ["parameter ENV: 'Prod' is not one of dev, prod"],
    ),
    (
        "anchored pattern, only a substring matches",
        [TAG],
        {"TAG": "xv12"},
        ["parameter TAG: 'xv12' does not match the pattern ^v[0-9]+$"],
    ),
    (
        "anchored pattern, trailing text",
        [TAG],
        {"TAG": "v12\n"},
        ["parameter TAG: 'v12\\n' does not match the pattern ^v[0-9]+$"],
    ),
    (
        "unanchored pattern, no match anywhere",
        [decl("N", pattern="[0-9]+")],
        {"N": "none"},
        ["parameter N: 'none' does not match the pattern [0-9]+"],
    ),
    (
        "enum is checked before the pattern",
        [decl("E", enum=["a1"], pattern="[0-9]")],
        {"E": "b"},
        ["parameter E: 'b' is not one of a1"],
    ),
    (
        "an empty value is checked too",
        [TAG],
        {"TAG": ""},
        ["parameter TAG: '' does not match the pattern ^v[0-9]+$"],
    ),
]


@pytest.mark.parametrize(("case", "declared", "sent", "want"), cases(REFUSED))
def test_resolve_refuses_naming_the_parameter(
    case: str,
    declared: list[ParameterDeclaration] | None,
    sent: dict[str, str],
    want: list[str],
) -> None:
    with pytest.raises(ParameterError) as refused:
        resolve(declared, sent)
    assert list(refused.value.problems) == want, case
    assert refused.value.message == "; ".join(want), case
    assert str(refused.value) == refused.value.message, case


def test_several_problems_at_once_are_all_named() -> None:
    with pytest.raises(ParameterError) as refused:
        resolve([ENV, TAG, decl("N", pattern="^[0-9]+$")], {"ENV": "qa", "N": "x", "BOGUS": "1"})
    assert refused.value.problems == (
        "parameter BOGUS: not declared in spec.parameters (declared: ENV, TAG, N)",
        "parameter ENV: 'qa' is not one of dev, prod",
        "parameter TAG: required, and not sent",
        "parameter N: 'x' does not match the pattern ^[0-9]+$",
    )
    for name in ("BOGUS", "ENV", "TAG", "N"):
        assert f"parameter {name}: " in refused.value.message


def test_defaults_are_not_checked_again_when_resolving() -> None:
    # check_declarations refuses such a default; resolve takes the declaration as it is.
    assert resolve([decl("E", enum=["a"], default="z")], {}) == {"E": "z"}


# Sizes: names and values, in UTF-8 bytes ("é" is 2 bytes, "€" 3, "😀" 4).
SIZES = [
    ("ASCII, exactly 4096 bytes", {"A": "x" * 4095}, True),
    ("ASCII, 4097 bytes", {"A": "x" * 4096}, False),
    ("two-byte characters, exactly 4096 bytes", {"AB": "é" * 2047}, True),
    ("two-byte characters, 4097 bytes (2049 characters)", {"A": "é" * 2048}, False),
    ("three-byte characters, 4097 bytes (1367 characters)", {"A": "€" * 1365 + "x"}, False),
    ("four-byte characters, 4097 bytes (1025 characters)", {"A": "😀" * 1024}, False),
    ("names count too: 4096 in values, plus 2 names", {"A": "x" * 2048, "B": "y" * 2048}, False),
    ("several, exactly 4096 in all", {"A": "x" * 2047, "B": "y" * 2047}, True),
]


@pytest.mark.parametrize(("case", "sent", "fits"), cases(SIZES))
def test_total_size_limit(case: str, sent: dict[str, str], fits: bool) -> None:
    size = sum(len(k.encode()) + len(v.encode()) for k, v in sent.items())
    assert (size <= MAX_PARAMETER_BYTES) == fits, case  # the table's own arithmetic
    declared = [decl(name) for name in sent]
    if fits:
        assert resolve(declared, sent) == sent, case
        return
    with pytest.raises(ParameterError) as refused:
        resolve(declared, sent)
    assert refused.value.problems == (
        f"parameters: {size} bytes in all (names and values), over the limit of 4096",
    ), case


def test_the_size_limit_is_4_kib() -> None:
    assert MAX_PARAMETER_BYTES == 4096


def test_defaults_do_not_count_towards_the_size() -> None:
    declared = [decl("A"), *(decl(f"D{i}", default="y" * 1024) for i in range(4))]
    assert len(resolve(declared, {"A": "z" * 4095})) == 5


def test_an_oversized_send_is_named_with_its_other_problems() -> None:
    with pytest.raises(ParameterError) as refused:
        resolve([ENV], {"ENV": "qa", "X": "x" * 5000})
    assert refused.value.problems == (
        "parameter X: not declared in spec.parameters (declared: ENV)",
        "parameters: 5006 bytes in all (names and values), over the limit of 4096",
        "parameter ENV: 'qa' is not one of dev, prod",
    )


# Property: sent values win, defaults fill in the rest, in declared order.

names = st.from_regex(r"[A-Za-z]([A-Za-z0-9_]{0,18}[A-Za-z0-9])?", fullmatch=True)
# Annotation values as the API server returns them: any text but lone surrogates.
values = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)


@st.composite
def declared_and_sent(
    draw: st.DrawFn,
) -> tuple[list[ParameterDeclaration], dict[str, str]]:
    """Declarations that all have a default (some an enum holding it, some required), and a
    random subset of them sent with valid values, in a random order."""
    declared = []
    for name in draw(st.lists(names, max_size=10, unique=True)):
        default = draw(values)
        others = draw(st.none() | st.lists(values, max_size=3))
        enum = None if others is None else [default, *others]
        declared.append(decl(name, default=default, enum=enum, required=draw(st.booleans())))
    chosen = draw(st.permutations(declared))
    sent = {}
    for p in chosen[: draw(st.integers(0, len(chosen)))]:
        sent[p.name] = draw(st.sampled_from(p.enum) if p.enum else values)
    return declared, sent


@given(declared_and_sent())
def test_resolve_property_sent_values_win_defaults_fill_in(
    case: tuple[list[ParameterDeclaration], dict[str, str]],
) -> None:
    declared, sent = case
    got = resolve(declared, sent)
    assert list(got) == [p.name for p in declared]
    for p in declared:
        assert got[p.name] == sent.get(p.name, p.default)


# 2. check_declarations: what no run could satisfy ------------------------------------------------

DECLARATIONS_ACCEPTED = [
    ("no parameters", spec()),
    ("no parameters, scheduled", spec(schedule="@daily")),
    ("required without a default, manual only", spec(TAG)),
    (
        "required with a default, scheduled",
        spec(decl("A", required=True, default="1"), schedule="@daily"),
    ),
    ("optional without a default, scheduled", spec(NOTE, schedule="@daily")),
    ("optional without a default, several schedules", spec(NOTE, schedules=["@daily", "@hourly"])),
    ("default in the enum", spec(ENV)),
    ("default matches an unanchored pattern", spec(decl("N", pattern="[0-9]", default="a1b"))),
    ("default matches an anchored pattern", spec(decl("N", pattern="^v[0-9]+$", default="v1"))),
    ("RE2 Unicode class", spec(decl("G", pattern=r"\p{Greek}"))),
    ("RE2 POSIX class", spec(decl("G", pattern="[[:alpha:]]+"))),
    ("same name, different case", spec(decl("A"), decl("a"))),
]


@pytest.mark.parametrize(("case", "s"), cases(DECLARATIONS_ACCEPTED))
def test_check_declarations_accepts(case: str, s: RerunnableJobSpec) -> None:
    check_declarations(s)


DECLARATIONS_REFUSED = [
    (
        "duplicate names",
        spec(decl("A"), decl("B"), decl("A", default="x")),
        "spec.parameters[2].name: A is declared twice",
    ),
    (
        "unbalanced parenthesis",
        spec(decl("A"), decl("B", pattern="(")),
        "spec.parameters[1].pattern: '(' is not an RE2 regular expression (",
    ),
    (
        "Perl lookahead, which RE2 does not have",
        spec(decl("A", pattern="(?=x)")),
        "spec.parameters[0].pattern: '(?=x)' is not an RE2 regular expression (",
    ),
    (
        "negative lookahead",
        spec(decl("A", pattern="^a(?!b)")),
        "spec.parameters[0].pattern: '^a(?!b)' is not an RE2 regular expression (",
    ),
    (
        "backreference",
        spec(decl("A", pattern=r"(a)\1")),
        "spec.parameters[0].pattern: '(a)\\\\1' is not an RE2 regular expression (",
    ),
    (
        "a name the operator reserves",
        spec(decl("RERUNNABLE_REPORT_URL")),
        "spec.parameters[0].name: RERUNNABLE_REPORT_URL: names starting with RERUNNABLE_ are "
        "reserved",
    ),
    (
        "default not in the enum",
        spec(decl("A", enum=["a", "b"], default="c")),
        "spec.parameters[0].default: 'c' is not one of a, b",
    ),
    (
        "default not matching the pattern",
        spec(NOTE, decl("N", pattern="^[0-9]+$", default="x1")),
        "spec.parameters[1].default: 'x1' does not match the pattern ^[0-9]+$",
    ),
    (
        "required without a default, with a schedule",
        spec(ENV, TAG, schedule="@daily"),
        "spec.parameters: TAG: required without a default, but the job has a schedule",
    ),
    (
        "required without a default, with schedules",
        spec(TAG, schedules=["@daily"]),
        "spec.parameters: TAG: required without a default, but the job has a schedule",
    ),
    (
        "several required without a default, all named",
        spec(TAG, ENV, decl("B", required=True), schedule="@daily"),
        "spec.parameters: TAG, B: required without a default",
    ),
]


@pytest.mark.parametrize(("case", "s", "want"), cases(DECLARATIONS_REFUSED))
def test_check_declarations_refuses_naming_the_field(
    case: str, s: RerunnableJobSpec, want: str
) -> None:
    with pytest.raises(InvalidSpecError) as refused:
        check_declarations(s)
    assert refused.value.reason == ReadyReason.INVALID_SPEC, case
    assert refused.value.message.startswith(want), (case, refused.value.message)


def test_a_bad_pattern_is_explained_as_text() -> None:
    with pytest.raises(InvalidSpecError) as refused:
        check_declarations(spec(decl("A", pattern="(")))
    assert refused.value.message == (
        "spec.parameters[0].pattern: '(' is not an RE2 regular expression (missing ): ()"
    )


# 3. sent_parameters: which annotations are this run's ---------------------------------------------

SENT = [
    ("parameters-for absent", {RUN: "t1", P + "A": "1"}, "t1", None),
    ("parameters-for names another token", {RUN: "t2", FOR: "t1", P + "A": "1"}, "t2", None),
    ("no token", {FOR: "t1", P + "A": "1"}, None, None),
    ("names the token, no values", {RUN: "t1", FOR: "t1"}, "t1", {}),
    (
        "names the token, prefix stripped",
        {FOR: "t1", P + "A": "1", P + "b_2": ""},
        "t1",
        {"A": "1", "b_2": ""},
    ),
    (
        "other annotations ignored",
        {
            FOR: "t1",
            RUN: "t1",
            "rerunnable.dev/requested-by": "alice",
            "team": "storage",
            "A": "not a parameter",
            "x" + P + "B": "not ours",
            "parameters.rerunnable.dev.example/C": "not ours either",
            P + "D": "4",
        },
        "t1",
        {"D": "4"},
    ),
    ("token compared exactly", {FOR: "T1", P + "A": "1"}, "t1", None),
]


@pytest.mark.parametrize(("case", "annotations", "token", "want"), cases(SENT))
def test_sent_parameters(
    case: str, annotations: dict[str, str], token: str | None, want: dict[str, str] | None
) -> None:
    assert sent_parameters(annotations, token) == want, case


# 4. parameter_annotations: the merge patch that sends exactly these values ----------------------

PATCHES = [
    ("first parameters", {"A": "1"}, {}, {P + "A": "1", FOR: "t2"}),
    ("no values", {}, {}, {FOR: "t2"}),
    (
        "stale values are removed",
        {"A": "1"},
        {P + "OLD": "x", P + "A": "0", FOR: "t1", RUN: "t1", "team": "storage"},
        {P + "OLD": None, P + "A": "1", FOR: "t2"},
    ),
    (
        "no values: every stale one removed",
        {},
        {P + "A": "0", P + "B": "0"},
        {P + "A": None, P + "B": None, FOR: "t2"},
    ),
]


@pytest.mark.parametrize(("case", "values", "present", "want"), cases(PATCHES))
def test_parameter_annotations(
    case: str, values: dict[str, str], present: dict[str, str], want: dict[str, str | None]
) -> None:
    assert parameter_annotations("t2", values, present) == want, case


def merge(annotations: Mapping[str, str], patch: Mapping[str, str | None]) -> dict[str, str]:
    """A JSON merge patch of metadata.annotations, as the API server applies it."""
    merged = dict(annotations)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


ROUND_TRIPS: Sequence[tuple[str, dict[str, str], dict[str, str]]] = [
    ("onto nothing", {"A": "1", "B": "é"}, {}),
    ("over another run's values", {"A": "1"}, {RUN: "t1", FOR: "t1", P + "A": "0", P + "B": "0"}),
    ("nothing, over another run's values", {}, {RUN: "t1", FOR: "t1", P + "A": "0"}),
]


@pytest.mark.parametrize(("case", "values", "present"), cases(ROUND_TRIPS))
def test_the_patch_sends_exactly_its_values(
    case: str, values: dict[str, str], present: dict[str, str]
) -> None:
    patch = {RUN: "t2", **parameter_annotations("t2", values, present)}
    after = merge(present, patch)
    assert sent_parameters(after, "t2") == values, case
    assert sent_parameters(after, "t1") is None, case
