"""The CRD generator: committed CRDs are up to date and structurally sound.

The API server refuses non-structural schemas, and a schema that it accepts but
that is subtly wrong (a pruned label, a default that fills in a required field)
breaks users quietly; these checks catch both without a cluster. Generating needs
Go's module cache (for the Kubernetes OpenAPI document), as the local cluster does.
"""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from rerunnable.tools import crdgen

REPO = Path(__file__).resolve().parents[2]
RJOB = "rerunnablejobs.rerunnable.dev.yaml"
REXEC = "executions.rerunnable.dev.yaml"

Schema = dict[str, Any]


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return crdgen.generate()


@pytest.fixture(scope="module")
def schemas(generated: dict[str, str]) -> dict[str, Schema]:
    """File name -> openAPIV3Schema of the generated CRD."""
    return {name: version(text)["schema"]["openAPIV3Schema"] for name, text in generated.items()}


def version(text: str) -> Schema:
    crd = yaml.safe_load(text)
    (only,) = crd["spec"]["versions"]
    assert isinstance(only, dict)
    return only


def at(schema: Schema, path: str) -> Schema:
    """The schema node at a dotted path; `[]` steps into array items."""
    node = schema
    for step in path.split("."):
        node = node["items"] if step == "[]" else node["properties"][step]
    return node


def nodes(schema: Schema, path: str = "") -> Iterator[tuple[str, Schema]]:
    """Every schema node with its path."""
    yield path or "<root>", schema
    for name, child in schema.get("properties", {}).items():
        yield from nodes(child, f"{path}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from nodes(schema["additionalProperties"], f"{path}.*")
    if "items" in schema:
        yield from nodes(schema["items"], f"{path}[]")


# --- drift ---------------------------------------------------------------------


@pytest.mark.parametrize("directory", ["crds", "helm/rerunnable/files/crds"])
def test_committed_crds_are_generated_from_the_models(
    generated: dict[str, str], directory: str
) -> None:
    diff = crdgen.drift(generated, REPO / directory)
    assert not diff, (
        f"{directory} is out of date: run `python -m rerunnable.tools.crdgen`\n{diff[:4000]}"
    )


def test_generated_files_start_with_the_header(generated: dict[str, str]) -> None:
    assert sorted(generated) == [REXEC, RJOB]
    for text in generated.values():
        assert text.startswith(crdgen.HEADER)


def test_drift_shows_a_diff_of_a_changed_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x: 1\n")
    diff = crdgen.drift({"a.yaml": "x: 2\n", "b.yaml": "y: 1\n"}, tmp_path)
    assert "-x: 1\n+x: 2\n" in diff
    assert "+y: 1\n" in diff
    assert crdgen.drift({"a.yaml": "x: 1\n"}, tmp_path) == ""


# --- structural checks over every node -------------------------------------------

ALLOWED_KEYWORDS = {
    "description",
    "type",
    "format",
    "enum",
    "default",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
}


def composition(node: Schema) -> bool:
    return bool({"$ref", "allOf", "anyOf", "oneOf", "not", "$defs"} & node.keys())


def untyped(node: Schema) -> bool:
    free = node.get("x-kubernetes-int-or-string") or node.get(
        "x-kubernetes-preserve-unknown-fields"
    )
    return "type" not in node and not free


def unknown_keyword(node: Schema) -> bool:
    return not node.keys() <= ALLOWED_KEYWORDS


def bad_default(node: Schema) -> bool:
    if "default" not in node:
        return False
    value = node["default"]
    return (
        value is None
        or node.get("type") in ("object", "array")
        or ("enum" in node and value not in node["enum"])
        or ("minimum" in node and value < node["minimum"])
    )


def unkeyed_list_map(node: Schema) -> bool:
    """The API server wants every list-map key required or defaulted."""
    if node.get("x-kubernetes-list-type") != "map":
        return False
    items = node["items"]
    return not all(
        key in items.get("required", []) or "default" in items["properties"].get(key, {})
        for key in node.get("x-kubernetes-list-map-keys", [])
    )


def required_but_absent(node: Schema) -> bool:
    return not set(node.get("required", [])) <= node.get("properties", {}).keys()


def zero_default_on_required(node: Schema) -> bool:
    """A default "" on a required field would make the API server accept it missing."""
    properties = node.get("properties", {})
    return any(properties[r].get("default") in ("", 0) for r in node.get("required", []))


STRUCTURAL_CHECKS: dict[str, Callable[[Schema], bool]] = {
    "no $ref, allOf, anyOf, oneOf, not or $defs": composition,
    "every node has a type unless int-or-string or preserve-unknown-fields": untyped,
    "only keywords a CRD schema allows (no title, no patch strategies)": unknown_keyword,
    "defaults are scalars that validate (no null, no objects)": bad_default,
    "list-map keys are required or defaulted": unkeyed_list_map,
    "required names existing properties": required_but_absent,
    "no zero default on a required field": zero_default_on_required,
}


@pytest.mark.parametrize("crd", [RJOB, REXEC])
@pytest.mark.parametrize("check", STRUCTURAL_CHECKS)
def test_schema_is_structural(schemas: dict[str, Schema], crd: str, check: str) -> None:
    offending = [path for path, node in nodes(schemas[crd]) if STRUCTURAL_CHECKS[check](node)]
    assert not offending, f"{check}: {offending[:10]}"


# --- what users rely on ---------------------------------------------------------


@pytest.mark.parametrize(
    ("crd", "path", "default"),
    [
        (RJOB, "spec.concurrencyPolicy", "Allow"),
        (RJOB, "spec.missedRunPolicy", "Latest"),
        (RJOB, "spec.successfulJobsHistoryLimit", 3),
        (RJOB, "spec.failedJobsHistoryLimit", 1),
        (RJOB, "spec.suspend", False),
        (REXEC, "status.phase", "Pending"),
        (
            RJOB,
            "spec.jobTemplate.spec.template.spec.containers.[].ports.[].protocol",
            "TCP",
        ),
    ],
)
def test_defaults(schemas: dict[str, Schema], crd: str, path: str, default: object) -> None:
    node = at(schemas[crd], path)
    assert node.get("default") == default
    assert type(node["default"]) is type(default)


@pytest.mark.parametrize(
    ("crd", "path", "enum"),
    [
        (RJOB, "spec.concurrencyPolicy", ["Allow", "Forbid", "Replace", "Queue"]),
        (RJOB, "spec.missedRunPolicy", ["Latest", "All", "Skip"]),
        (RJOB, "status.conditions.[].status", ["True", "False", "Unknown"]),
        (REXEC, "spec.trigger", ["Schedule", "Manual", "Retry", "Backfill"]),
        (REXEC, "status.phase", ["Pending", "Running", "Succeeded", "Failed", "Interrupted"]),
    ],
)
def test_enums(schemas: dict[str, Schema], crd: str, path: str, enum: list[str]) -> None:
    assert at(schemas[crd], path)["enum"] == enum


@pytest.mark.parametrize(
    ("crd", "path", "message"),
    [
        (
            RJOB,
            "",
            "RerunnableJob names are at most 52 characters: each run's Job is named "
            "<name>-<suffix> and must fit in 63",
        ),
        (RJOB, "spec", "set either schedule or schedules, not both"),
        (REXEC, "spec", "spec is immutable"),
        (REXEC, "status", "a finished Execution's phase never changes"),
    ],
)
def test_cel_rules(schemas: dict[str, Schema], crd: str, path: str, message: str) -> None:
    node = at(schemas[crd], path) if path else schemas[crd]
    messages = [rule.get("message") for rule in node.get("x-kubernetes-validations", [])]
    assert message in messages


def test_name_rule_checks_the_name_length(schemas: dict[str, Schema]) -> None:
    (rule,) = schemas[RJOB]["x-kubernetes-validations"]
    assert rule["rule"] == "self.metadata.name.size() <= 52"


@pytest.mark.parametrize(
    ("crd", "path"),
    [(RJOB, "status.conditions"), (REXEC, "status.conditions")],
)
def test_conditions_are_a_map_keyed_by_type(
    schemas: dict[str, Schema], crd: str, path: str
) -> None:
    node = at(schemas[crd], path)
    assert node["x-kubernetes-list-type"] == "map"
    assert node["x-kubernetes-list-map-keys"] == ["type"]
    assert "type" in node["items"]["required"]


@pytest.mark.parametrize(
    ("crd", "path", "required"),
    [
        (RJOB, "", ["spec"]),
        (RJOB, "spec", ["jobTemplate"]),
        (RJOB, "spec.jobTemplate", ["spec"]),
        (RJOB, "spec.jobTemplate.spec", ["template"]),
        (RJOB, "spec.jobTemplate.spec.template.spec", ["containers"]),
        (RJOB, "spec.jobTemplate.spec.template.spec.containers.[]", ["name"]),
        (REXEC, "spec", ["rerunnableJob", "trigger", "templateGeneration"]),
    ],
)
def test_required(schemas: dict[str, Schema], crd: str, path: str, required: list[str]) -> None:
    node = at(schemas[crd], path) if path else schemas[crd]
    assert node["required"] == required


def test_pod_template_metadata_keeps_labels_and_annotations(schemas: dict[str, Schema]) -> None:
    metadata = at(schemas[RJOB], "spec.jobTemplate.spec.template.metadata")
    assert metadata["type"] == "object"
    assert sorted(metadata["properties"]) == [
        "annotations",
        "finalizers",
        "generateName",
        "labels",
        "name",
        "namespace",
    ]
    for field in ("labels", "annotations"):
        assert metadata["properties"][field]["additionalProperties"] == {"type": "string"}


def test_descriptions_come_from_the_models_not_kubernetes(schemas: dict[str, Schema]) -> None:
    assert at(schemas[RJOB], "spec.schedule")["description"].startswith("Cron schedule")
    assert at(schemas[RJOB], "spec.jobTemplate.spec")["description"].startswith("Specification")
    backoff = at(schemas[RJOB], "spec.jobTemplate.spec.backoffLimit")
    assert "description" not in backoff
    assert backoff["format"] == "int32"


def test_the_rerunnable_job_crd_fits_client_side_apply(schemas: dict[str, Schema]) -> None:
    # kubectl apply stores the object as JSON in an annotation of at most 256 KiB.
    assert len(json.dumps(schemas[RJOB], separators=(",", ":"))) < 200 * 1024


@pytest.mark.parametrize(
    ("name", "kind", "plural", "short_name", "columns"),
    [
        (
            RJOB,
            "RerunnableJob",
            "rerunnablejobs",
            "rjob",
            [
                ("Schedule", ".status.scheduleText", "string", 0),
                ("Suspend", ".spec.suspend", "boolean", 0),
                ("Active", ".status.activeCount", "integer", 0),
                ("Last Result", ".status.lastResult", "string", 0),
                ("Last Run", ".status.lastRunTime", "date", 0),
                ("Next Run", ".status.nextScheduleTime", "string", 0),
                ("Age", ".metadata.creationTimestamp", "date", 0),
            ],
        ),
        (
            REXEC,
            "Execution",
            "executions",
            "rjex",
            [
                ("Job", ".spec.rerunnableJob", "string", 0),
                ("Trigger", ".spec.trigger", "string", 0),
                ("Attempt", ".spec.attempt", "integer", 0),
                ("Phase", ".status.phase", "string", 0),
                ("Progress", ".status.report.progress", "string", 0),
                ("Step", ".status.report.step", "string", 0),
                ("Succeeded", ".status.progress.succeeded", "integer", 1),
                ("Failed", ".status.progress.failed", "integer", 1),
                ("Requested By", ".spec.requestedBy", "string", 1),
                ("Next Attempt", ".status.nextAttemptTime", "string", 1),
                ("Started", ".status.startTime", "date", 0),
                ("Completed", ".status.completionTime", "date", 0),
                ("Age", ".metadata.creationTimestamp", "date", 0),
            ],
        ),
    ],
)
def test_names_and_printer_columns(
    generated: dict[str, str],
    name: str,
    kind: str,
    plural: str,
    short_name: str,
    columns: list[tuple[str, str, str, int]],
) -> None:
    crd = yaml.safe_load(generated[name])
    assert crd["metadata"]["name"] == f"{plural}.rerunnable.dev"
    spec = crd["spec"]
    assert (spec["group"], spec["scope"]) == ("rerunnable.dev", "Namespaced")
    assert spec["names"]["kind"] == kind
    assert spec["names"]["plural"] == plural
    assert spec["names"]["shortNames"] == [short_name]
    assert spec["names"]["categories"] == ["rerunnable"]
    only = version(generated[name])
    assert (only["name"], only["served"], only["storage"]) == ("v1alpha1", True, True)
    assert only["subresources"] == {"status": {}}
    actual = [
        (c["name"], c["jsonPath"], c["type"], c.get("priority", 0))
        for c in only["additionalPrinterColumns"]
    ]
    assert actual == columns


# --- the Kubernetes schema converter on small documents (no Go needed) -----------

REF = "#/components/schemas/"


def test_refs_and_allof_wrappers_are_inlined_with_their_siblings_on_top() -> None:
    schemas = {
        "Outer": {
            "type": "object",
            "properties": {
                "inner": {
                    "allOf": [{"$ref": REF + "Inner"}],
                    "default": {},
                    "x-kubernetes-map-type": "atomic",
                },
                "plain": {"$ref": REF + "Inner"},
            },
        },
        "Inner": {"type": "object", "properties": {}, "x-kubernetes-map-type": "granular"},
    }
    out = crdgen.kubernetes_schema(schemas, "Outer")
    assert out["properties"]["inner"] == {
        "type": "object",
        "properties": {},
        "x-kubernetes-map-type": "atomic",
    }
    assert out["properties"]["plain"]["x-kubernetes-map-type"] == "granular"


def test_kubernetes_descriptions_are_dropped_but_a_field_named_description_is_kept() -> None:
    schemas = {
        "A": {
            "description": "Theirs.",
            "type": "object",
            "properties": {
                "description": {"type": "string", "description": "A field of that name."},
                "port": {"allOf": [{"$ref": REF + crdgen.INT_OR_STRING}], "description": "Port."},
            },
        }
    }
    out = crdgen.kubernetes_schema(schemas, "A")
    assert out == {
        "type": "object",
        "properties": {
            "description": {"type": "string"},
            "port": {"x-kubernetes-int-or-string": True},
        },
    }


def test_a_recursive_kubernetes_schema_is_a_clear_error() -> None:
    schemas = {
        "A": {"type": "object", "properties": {"b": {"$ref": REF + "B"}}},
        "B": {
            "type": "object",
            "properties": {"a": {"allOf": [{"$ref": REF + "A"}]}},
        },
    }
    with pytest.raises(crdgen.CrdGenError, match="recursive Kubernetes schema A -> B -> A"):
        crdgen.kubernetes_schema(schemas, "A")


def test_an_unknown_keyword_is_an_error_not_a_guess() -> None:
    schemas = {"A": {"type": "string", "x-kubernetes-something-new": True}}
    with pytest.raises(crdgen.CrdGenError, match="x-kubernetes-something-new"):
        crdgen.kubernetes_schema(schemas, "A")


def test_zero_defaults_go_except_on_unrequired_list_map_keys() -> None:
    schemas = {
        "List": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "default": ""},
                "items": {
                    "type": "array",
                    "items": {"$ref": REF + "Ref"},
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["key"],
                    "x-kubernetes-patch-strategy": "merge",
                },
            },
        },
        "Ref": {"type": "object", "properties": {"key": {"type": "string", "default": ""}}},
    }
    out = crdgen.kubernetes_schema(schemas, "List")
    assert "default" not in out["properties"]["name"]
    items = out["properties"]["items"]
    assert items["items"]["properties"]["key"]["default"] == ""
    assert "x-kubernetes-patch-strategy" not in items


def test_int_or_string_and_quantity() -> None:
    schemas = {
        "A": {
            "type": "object",
            "properties": {
                "port": {"allOf": [{"$ref": REF + crdgen.INT_OR_STRING}]},
                "cpu": {"$ref": REF + crdgen.QUANTITY},
            },
        }
    }
    out = crdgen.kubernetes_schema(schemas, "A")
    assert out["properties"]["port"] == {"x-kubernetes-int-or-string": True}
    assert out["properties"]["cpu"] == {"x-kubernetes-preserve-unknown-fields": True}


def test_missing_go_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(crdgen.CrdGenError, match="`go` is not on PATH"):
        crdgen.kubernetes_openapi_schemas("v1.36.3")


# --- the model converter ----------------------------------------------------------


class Node(BaseModel):
    children: list["Node"] = []


class Choice(BaseModel):
    value: int | str


def no_kubernetes(name: str) -> Schema:
    raise AssertionError(name)


def test_a_recursive_model_is_a_clear_error() -> None:
    with pytest.raises(crdgen.CrdGenError, match="recursive model Node"):
        crdgen.model_schema(Node, no_kubernetes)


def test_a_union_field_is_a_clear_error() -> None:
    with pytest.raises(crdgen.CrdGenError, match="union of several types"):
        crdgen.model_schema(Choice, no_kubernetes)
