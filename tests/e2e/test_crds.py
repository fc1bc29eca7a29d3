"""The CRDs on a real API server: what it accepts, defaults, refuses and prints.

The contract (DESIGN.md §1) is that a CronJob manifest becomes a RerunnableJob by
changing apiVersion and kind only, and that bad input is refused at apply time
with the API server's own message. Every check here reads what the API server
says; the CRDs come from `crds/` (applied by the `cluster` fixture).
"""

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rerunnable.api.v1alpha1 import RerunnableJobSpec
from tests.corpus import cronjobs_dir, require_cronjobs
from tests.e2e.cluster import Cluster
from tests.e2e.rjobs import rjob_body
from tests.e2e.waiting import wait_until

CORPUS_FILES = sorted(cronjobs_dir().glob("*.yaml")) or [cronjobs_dir() / "missing"]
API_VERSION = "rerunnable.dev/v1alpha1"
NAME_MESSAGE = (
    "RerunnableJob names are at most 52 characters: each run's Job is named "
    "<name>-<suffix> and must fit in 63"
)
DEFAULTS = {
    "concurrencyPolicy": "Allow",
    "missedRunPolicy": "Latest",
    "successfulJobsHistoryLimit": 3,
    "failedJobsHistoryLimit": 1,
    "suspend": False,
}


def write(tmp_path: Path, obj: dict[str, Any]) -> str:
    path = tmp_path / f"{obj['kind']}-{obj['metadata']['name']}.json"
    path.write_text(json.dumps(obj))
    return str(path)


def kubectl_ok(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    done = cluster.kubectl(*args, check=False)
    assert done.returncode == 0, f"kubectl {' '.join(args)} failed:\n{done.stderr}"
    return done


def kubectl_refused(cluster: Cluster, *args: str) -> str:
    """The API server's message for a request it must refuse."""
    done = cluster.kubectl(*args, check=False)
    assert done.returncode != 0, f"kubectl {' '.join(args)} was accepted:\n{done.stdout}"
    return done.stderr


def rerunnable_job(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return rjob_body(namespace, name, **spec)


def execution(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Execution",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "rerunnableJob": "nightly",
            "trigger": "Manual",
            "token": "t-1",
            "templateGeneration": 1,
        },
    }


def header(table: str) -> list[str]:
    """Column names of `kubectl get` output (separated by two or more spaces)."""
    return [m.group() for m in re.finditer(r"\S+(?: \S+)*", table.splitlines()[0])]


def rows(table: str) -> list[dict[str, str]]:
    """`kubectl get` output as column -> cell, cut where the header's columns start."""
    first, *lines = table.splitlines()
    starts = [m.start() for m in re.finditer(r"\S+(?: \S+)*", first)]
    spans = list(zip(starts, [*starts[1:], None], strict=True))
    return [
        {name: line[a:b].strip() for name, (a, b) in zip(header(table), spans, strict=True)}
        for line in lines
    ]


def missing_values(original: Any, stored: Any, path: str = "") -> list[str]:
    """Paths of values in `original` that `stored` lacks or changed (pruning, coercion).

    Explicit nulls are left out: the API server drops them, as for built-in kinds.
    """
    if isinstance(original, dict):
        if not isinstance(stored, dict):
            return [path or "<root>"]
        return [
            missing
            for key, value in original.items()
            if value is not None
            for missing in missing_values(value, stored.get(key), f"{path}.{key}")
        ]
    if isinstance(original, list):
        if not isinstance(stored, list) or len(stored) != len(original):
            return [path]
        return [
            missing
            for i, (a, b) in enumerate(zip(original, stored, strict=True))
            for missing in missing_values(a, b, f"{path}[{i}]")
        ]
    return [] if original == stored else [f"{path}: {original!r} -> {stored!r}"]


def as_rerunnable_job(cronjob: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The contract's conversion: apiVersion and kind change, nothing else (but the namespace)."""
    converted = {**cronjob, "apiVersion": API_VERSION, "kind": "RerunnableJob"}
    converted["metadata"] = {**cronjob["metadata"], "namespace": namespace}
    return converted


def corpus_cronjobs(path: Path) -> list[dict[str, Any]]:
    require_cronjobs()
    documents = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    cronjobs = [d for d in documents if d.get("kind") == "CronJob"]
    assert cronjobs, f"{path.name} holds no CronJob"
    return cronjobs


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.stem for p in CORPUS_FILES])
def test_every_corpus_cronjob_applies_as_a_rerunnable_job(
    cluster: Cluster, namespace: str, tmp_path: Path, path: Path
) -> None:
    for cronjob in corpus_cronjobs(path):
        manifest = as_rerunnable_job(cronjob, namespace)
        # Client-side apply, as users type it. (Server-side apply refuses explicit nulls,
        # such as `value: null` in 08-adfinis..., on CRD fields that are not nullable.)
        args = ("apply", "--dry-run=server", "-o", "json")
        if len(manifest["metadata"]["name"]) > 52:
            # A legitimate refusal (DESIGN.md §1), never expected in the corpus.
            message = kubectl_refused(cluster, *args, "-f", write(tmp_path, manifest))
            assert NAME_MESSAGE in message
            continue

        done = kubectl_ok(cluster, *args, "-f", write(tmp_path, manifest))

        stored = json.loads(done.stdout)["spec"]
        assert missing_values(cronjob["spec"], stored) == []
        for field, default in DEFAULTS.items():
            assert stored[field] == cronjob["spec"].get(field, default), field


@pytest.mark.parametrize(
    ("name", "spec", "message"),
    [
        pytest.param(
            "both",
            {"schedule": "@hourly", "schedules": ["@daily"]},
            "set either schedule or schedules, not both",
            id="schedule and schedules",
        ),
        pytest.param("a" * 53, {}, NAME_MESSAGE, id="53-character name"),
        pytest.param(
            "unnamed-container",
            {
                "jobTemplate": {
                    "spec": {"template": {"spec": {"containers": [{"image": "busybox:1.36"}]}}}
                }
            },
            "spec.jobTemplate.spec.template.spec.containers[0].name: Required value",
            id="container without a name",
        ),
        pytest.param(
            "sometimes",
            {"concurrencyPolicy": "Sometimes"},
            'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: '
            '"Allow", "Forbid", "Replace", "Queue"',
            id="unknown concurrencyPolicy",
        ),
        pytest.param(
            "negative",
            {"successfulJobsHistoryLimit": -1},
            "spec.successfulJobsHistoryLimit in body should be greater than or equal to 0",
            id="negative successfulJobsHistoryLimit",
        ),
        pytest.param(
            "unsuppliable",
            {"schedule": "@daily", "parameters": [{"name": "DAY", "required": True}]},
            "spec.parameters: a required parameter needs a default on a job with a schedule",
            id="required parameter without a default on a scheduled job",
        ),
        pytest.param(
            "enum",
            {"parameters": [{"name": "FORMAT", "default": "xml", "enum": ["csv", "json"]}]},
            "parameter FORMAT: default xml is not one of its enum",
            id="parameter default outside its enum",
        ),
        pytest.param(
            "pattern",
            {"parameters": [{"name": "DAY", "default": "monday", "pattern": "^[0-9-]+$"}]},
            "parameter DAY: default monday does not match its pattern ^[0-9-]+$",
            id="parameter default not matching its pattern",
        ),
        pytest.param(
            "twice",
            {"parameters": [{"name": "DAY"}, {"name": "DAY", "default": "x"}]},
            "spec.parameters: parameter names must be unique",
            id="duplicate parameter names",
        ),
        pytest.param(
            "bad-name",
            {"parameters": [{"name": "day-of-week"}]},
            "spec.parameters[0].name in body should match",
            id="parameter name not an environment variable name",
        ),
        pytest.param(
            "reserved",
            {"parameters": [{"name": "RERUNNABLE_EXECUTION"}]},
            "parameter RERUNNABLE_EXECUTION: names starting with RERUNNABLE_ are reserved",
            id="parameter name the operator reserves",
        ),
    ],
)
def test_bad_rerunnable_jobs_are_refused_with_the_api_servers_message(
    cluster: Cluster,
    namespace: str,
    tmp_path: Path,
    name: str,
    spec: dict[str, Any],
    message: str,
) -> None:
    manifest = rerunnable_job(name, namespace, **spec)

    refusal = kubectl_refused(
        cluster, "create", "--dry-run=server", "-f", write(tmp_path, manifest)
    )

    assert f'The RerunnableJob "{name}" is invalid' in refusal
    assert message in refusal


def test_a_52_character_name_is_accepted(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    manifest = rerunnable_job("a" * 52, namespace, schedule="@hourly")

    kubectl_ok(cluster, "create", "--dry-run=server", "-f", write(tmp_path, manifest))


def test_a_fractional_cpu_is_accepted_as_in_a_cronjob(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    manifest = rerunnable_job("fractional", namespace, schedule="@hourly")
    container = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    container["resources"] = {"requests": {"cpu": 0.5, "memory": "64Mi"}}

    done = kubectl_ok(
        cluster, "create", "--dry-run=server", "-o", "json", "-f", write(tmp_path, manifest)
    )

    stored = json.loads(done.stdout)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert stored["containers"][0]["resources"] == {"requests": {"cpu": 0.5, "memory": "64Mi"}}


def test_execution_spec_is_immutable(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    kubectl_ok(cluster, "create", "-f", write(tmp_path, execution("nightly-m1", namespace)))

    refusal = kubectl_refused(
        cluster,
        *("patch", "rjex", "nightly-m1", "-n", namespace, "--type=merge"),
        *("-p", '{"spec": {"token": "t-2"}}'),
    )

    assert "spec is immutable" in refusal
    stored = json.loads(
        kubectl_ok(cluster, "get", "rjex", "nightly-m1", "-n", namespace, "-o", "json").stdout
    )
    assert stored["spec"]["token"] == "t-1"


def set_phase(
    cluster: Cluster, name: str, namespace: str, phase: str
) -> subprocess.CompletedProcess[str]:
    return cluster.kubectl(
        *("patch", "rjex", name, "-n", namespace, "--subresource=status", "--type=merge"),
        *("-p", json.dumps({"status": {"phase": phase}}), "-o", "json"),
        check=False,
    )


def test_a_finished_executions_phase_never_changes(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    kubectl_ok(cluster, "create", "-f", write(tmp_path, execution("done", namespace)))
    succeeded = set_phase(cluster, "done", namespace, "Succeeded")
    assert succeeded.returncode == 0, succeeded.stderr
    assert json.loads(succeeded.stdout)["status"]["phase"] == "Succeeded"

    again = set_phase(cluster, "done", namespace, "Running")

    assert again.returncode != 0
    assert "a finished Execution's phase never changes" in again.stderr


def test_an_execution_moves_through_its_phases(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    kubectl_ok(cluster, "create", "-f", write(tmp_path, execution("moving", namespace)))

    for phase in ("Pending", "Running", "Succeeded"):
        done = set_phase(cluster, "moving", namespace, phase)
        assert done.returncode == 0, f"{phase}: {done.stderr}"
        assert json.loads(done.stdout)["status"]["phase"] == phase


def test_kubectl_explain_shows_the_models_description(cluster: Cluster) -> None:
    description = RerunnableJobSpec.model_fields["schedule"].description
    assert description

    def explained() -> str | None:
        # The API server publishes a new CRD's OpenAPI a moment after it is established.
        done = cluster.kubectl("explain", "rjob.spec.schedule", check=False)
        text = " ".join(done.stdout.split())
        return text if done.returncode == 0 and " ".join(description.split()) in text else None

    text = wait_until(explained, timeout=30, what="kubectl explain rjob.spec.schedule")
    assert "FIELD: schedule <string>" in text


def test_kubectl_get_rjob_shows_the_columns(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    # Suspended and without a schedule, it never runs even if an operator is watching.
    manifest = rerunnable_job("listed", namespace, suspend=True)
    kubectl_ok(cluster, "create", "-f", write(tmp_path, manifest))

    table = kubectl_ok(cluster, "get", "rjob", "-n", namespace).stdout

    assert header(table) == [
        *("NAME", "SCHEDULE", "SUSPEND", "ACTIVE", "LAST RESULT", "LAST RUN", "NEXT RUN", "AGE")
    ]
    (row,) = rows(table)
    assert (row["NAME"], row["SUSPEND"]) == ("listed", "true")


def test_kubectl_get_rjex_shows_the_columns(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    kubectl_ok(cluster, "create", "-f", write(tmp_path, execution("nightly-m1", namespace)))

    narrow = kubectl_ok(cluster, "get", "rjex", "-n", namespace).stdout
    wide = kubectl_ok(cluster, "get", "rerunnable", "-n", namespace, "-o", "wide").stdout

    assert header(narrow) == [
        *("NAME", "JOB", "TRIGGER", "ATTEMPT", "PHASE", "PROGRESS", "STEP"),
        *("STARTED", "COMPLETED", "AGE"),
    ]
    assert header(wide) == [
        *("NAME", "JOB", "TRIGGER", "ATTEMPT", "PHASE", "PROGRESS", "STEP"),
        *("SUCCEEDED", "FAILED", "REQUESTED BY", "NEXT ATTEMPT"),
        *("STARTED", "COMPLETED", "AGE"),
    ]
    (row,) = rows(narrow)
    assert (row["NAME"], row["JOB"], row["TRIGGER"]) == ("nightly-m1", "nightly", "Manual")


def test_every_example_applies(cluster: Cluster, namespace: str) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    names = sorted(
        yaml.safe_load(p.read_text())["metadata"]["name"] for p in examples.glob("*.yaml")
    )
    assert "export-day" in names

    done = kubectl_ok(cluster, "apply", "--dry-run=server", "-n", namespace, "-f", str(examples))

    applied = sorted(re.findall(r"rerunnablejob\.rerunnable\.dev/(\S+) created", done.stdout))
    assert applied == names
