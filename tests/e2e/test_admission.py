"""The admission webhooks, served by the operator and configured as the chart configures them.

The chart's webhook configurations are rendered and applied with two changes only:
the API server (a local process here) reaches the operator at 127.0.0.1 instead
of through the Service, with a CA made by the test, and the webhooks act in the
test's namespace alone (other tests share the cluster).
"""

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from subprocess import CompletedProcess
from typing import Any

import pytest
import yaml
from cryptography import x509
from lightkube import ApiError, Client

from tests.e2e.certs import Certs, free_port, make_certs
from tests.e2e.chart import helm_template, kubectl, try_kubectl
from tests.e2e.cluster import Cluster
from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import (
    annotate_run,
    condition,
    create_rjob,
    events_for,
    executions,
    get_rjob,
    manual_name,
    patch_spec,
    rjob_body,
    settled_status,
    wait_phase,
)
from tests.e2e.waiting import wait_until

PATHS = {
    "validate.rerunnable.dev": "/validate",
    "validate-run.rerunnable.dev": "/validate",
    "requested-by.rerunnable.dev": "/requested-by",
    "cancelled-by.rerunnable.dev": "/cancelled-by",
}
PARAMETERS: list[dict[str, Any]] = [
    {"name": "DAY", "required": True, "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    {"name": "FORMAT", "default": "csv", "enum": ["csv", "json"]},
]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A CA and a serving certificate for 127.0.0.1 (what the chart or cert-manager would make)."""
    return make_certs(tmp_path_factory.mktemp("webhook-tls"))


def install_webhooks(cluster: Cluster, namespace: str, certs: Certs, port: int) -> str:
    """The chart's webhook configurations, pointed at 127.0.0.1:port, acting in `namespace`."""
    release = f"wh-{namespace[-6:]}"
    selector = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    rendered = helm_template(
        cluster,
        release,
        namespace,
        "--set",
        "webhook.certificate.source=chart",
        "--set-json",
        f"webhook.namespaceSelector={json.dumps(selector)}",
        show_only=("webhook.yaml",),
    )
    configs = [
        doc
        for doc in yaml.safe_load_all(rendered)
        if doc and doc["kind"].endswith("WebhookConfiguration")
    ]
    assert {c["kind"] for c in configs} == {
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    }
    for config in configs:
        for webhook in config["webhooks"]:
            service = webhook["clientConfig"].pop("service")
            assert service["path"] == PATHS[webhook["name"]]
            webhook["clientConfig"]["url"] = f"https://127.0.0.1:{port}{service['path']}"
            webhook["clientConfig"]["caBundle"] = certs.ca_bundle
    kubectl(cluster, "apply", "-f", "-", stdin=yaml.safe_dump_all(configs))
    return release


def remove_webhooks(cluster: Cluster, release: str) -> None:
    kubectl(
        cluster,
        "delete",
        "validatingwebhookconfiguration,mutatingwebhookconfiguration",
        "-l",
        f"app.kubernetes.io/instance={release}",
        "--ignore-not-found",
    )


@pytest.fixture
def webhooks(
    cluster: Cluster, namespace: str, certs: Certs, operator: OperatorProcess
) -> Iterator[OperatorProcess]:
    """The operator serving the webhooks, and the chart's configurations pointing at it."""
    port = free_port()
    operator.extra_args += ["--webhook-port", str(port), "--webhook-cert-dir", str(certs.dir)]
    operator.extra_args += ["--webhook-addr", "127.0.0.1"]
    release = install_webhooks(cluster, namespace, certs, port)
    operator.start()
    # The API server picks new configurations up asynchronously; the operator
    # listens once it has started. Both are ready when a never-firing schedule
    # is refused by the webhook.
    wait_until(
        lambda: "never fires" in dry_run_create(cluster, namespace, "0 0 30 2 *"),
        timeout=60,
        what="the validating webhook to refuse a never-firing schedule",
    )
    yield operator
    remove_webhooks(cluster, release)


def rjob_manifest(namespace: str, name: str, **spec: Any) -> str:
    return yaml.safe_dump(rjob_body(namespace, name, **spec))


def dry_run_create(cluster: Cluster, namespace: str, schedule: str) -> str:
    """What `kubectl apply --dry-run=server` says of an RerunnableJob with that schedule."""
    done = try_kubectl(
        cluster,
        "apply",
        "--dry-run=server",
        "-f",
        "-",
        stdin=rjob_manifest(namespace, "probe", schedule=schedule),
    )
    return done.stderr + done.stdout


def username(cluster: Cluster, *impersonate: str) -> str:
    out = kubectl(cluster, "auth", "whoami", *impersonate, "-o", "json")
    name: str = json.loads(out)["status"]["userInfo"]["username"]
    return name


REFUSED = [
    ("minute out of range", {"schedule": "61 * * * *"}, "spec.schedule: "),
    ("unknown time zone", {"schedule": "@daily", "timeZone": "Mars/Olympus"}, "spec.timeZone: "),
    ("30 February never fires", {"schedule": "0 0 30 2 *"}, "spec.schedule: '0 0 30 2 *' never"),
    ("a bad second schedule", {"schedules": ["@hourly", "0 0 31 4 *"]}, "spec.schedules[1]: "),
]


@pytest.mark.parametrize(("case", "spec", "message"), REFUSED, ids=[c[0] for c in REFUSED])
def test_apply_refuses_what_the_schema_cannot_check(
    cluster: Cluster,
    kube: Client,
    namespace: str,
    webhooks: OperatorProcess,
    case: str,
    spec: dict[str, Any],
    message: str,
) -> None:
    done = try_kubectl(cluster, "apply", "-f", "-", stdin=rjob_manifest(namespace, "bad", **spec))
    assert done.returncode != 0, case
    assert 'admission webhook "validate.rerunnable.dev" denied the request' in done.stderr, case
    assert message in done.stderr, (case, done.stderr)
    with pytest.raises(ApiError) as missing:
        get_rjob(kube, namespace, "bad")
    assert missing.value.status.code == 404, case


def test_an_edit_that_breaks_the_schedule_is_refused_and_the_object_kept(
    kube: Client, namespace: str, webhooks: OperatorProcess
) -> None:
    create_rjob(kube, namespace, "nightly", schedule="0 2 * * *", timeZone="Europe/Berlin")
    with pytest.raises(ApiError) as refused:
        patch_spec(kube, namespace, "nightly", {"timeZone": "Europe/Berlinn"})
    assert "spec.timeZone: " in str(refused.value.status.message)
    spec = get_rjob(kube, namespace, "nightly")["spec"]
    assert (spec["schedule"], spec["timeZone"]) == ("0 2 * * *", "Europe/Berlin")
    # A good edit passes.
    patch_spec(kube, namespace, "nightly", {"schedule": "30 2 * * *"})
    assert get_rjob(kube, namespace, "nightly")["spec"]["schedule"] == "30 2 * * *"


def test_the_execution_records_who_asked_for_the_run(
    cluster: Cluster, kube: Client, namespace: str, webhooks: OperatorProcess
) -> None:
    create_rjob(kube, namespace, "report")
    # rui may read and annotate RerunnableJobs here, nothing more.
    kubectl(
        cluster,
        "create",
        "role",
        "annotate-rjobs",
        "-n",
        namespace,
        "--verb=get,patch",
        "--resource=rerunnablejobs.rerunnable.dev",
    )
    kubectl(
        cluster,
        "create",
        "rolebinding",
        "rui",
        "-n",
        namespace,
        "--role=annotate-rjobs",
        "--user=rui",
    )
    kubectl(
        cluster,
        "annotate",
        "--as",
        "rui",
        "-n",
        namespace,
        "rerunnablejob/report",
        "rerunnable.dev/run=by-rui",
        "--overwrite",
    )
    annotations = get_rjob(kube, namespace, "report")["metadata"]["annotations"]
    assert annotations["rerunnable.dev/requested-by"] == "rui"
    assert annotations["rerunnable.dev/requested-run"] == "by-rui"
    wait_phase(kube, namespace, manual_name("report", "by-rui"), "Succeeded")
    assert (
        executions(kube, namespace)[manual_name("report", "by-rui")]["spec"]["requestedBy"] == "rui"
    )

    # The next run, asked for by the admin, names the admin, not rui.
    annotate_run(kube, namespace, "report", "by-admin")
    wait_phase(kube, namespace, manual_name("report", "by-admin"), "Succeeded")
    admin = executions(kube, namespace)[manual_name("report", "by-admin")]
    assert admin["spec"]["requestedBy"] == username(cluster)
    shown = kubectl(cluster, "get", "rjex", "-n", namespace, "-o", "wide")
    assert "REQUESTED BY" in shown
    assert "rui" in shown


def test_a_forged_requester_is_overwritten(
    cluster: Cluster, kube: Client, namespace: str, webhooks: OperatorProcess
) -> None:
    create_rjob(kube, namespace, "report")
    kubectl(
        cluster,
        "annotate",
        "-n",
        namespace,
        "rerunnablejob/report",
        "rerunnable.dev/run=t1",
        "rerunnable.dev/requested-by=someone-else",
        "rerunnable.dev/requested-run=t1",
        "--overwrite",
    )
    wait_phase(kube, namespace, manual_name("report", "t1"), "Succeeded")
    run = executions(kube, namespace)[manual_name("report", "t1")]
    assert run["spec"]["requestedBy"] == username(cluster)


def test_with_the_webhook_down_runs_go_on_specs_are_refused_and_status_reports_bad_objects(
    cluster: Cluster,
    kube: Client,
    namespace: str,
    certs: Certs,
    operator: OperatorProcess,
) -> None:
    # Made before the webhook existed: the schema cannot see that it never fires.
    create_rjob(kube, namespace, "never", schedule="0 0 30 2 *")
    create_rjob(kube, namespace, "report")
    create_rjob(kube, namespace, "export", parameters=PARAMETERS)
    # Configured, but nothing listens there: the webhook is down.
    release = install_webhooks(cluster, namespace, certs, free_port())
    try:
        operator.start()  # without --webhook-port

        # Creating (or changing a spec) fails closed...
        wait_until(
            lambda: "failed calling webhook" in dry_run_create(cluster, namespace, "@hourly"),
            timeout=60,
            what="the API server to call the (down) validating webhook",
        )
        # ...but a run is only an annotation change: it starts, naming no requester.
        annotate_run(kube, namespace, "report", "t1")
        wait_phase(kube, namespace, manual_name("report", "t1"), "Succeeded")
        run = executions(kube, namespace)[manual_name("report", "t1")]
        assert run["spec"].get("requestedBy") is None

        # A run with bad parameters gets in (its validator fails open), and is skipped:
        # never run with a default in place of the value sent.
        sent = annotate(
            cluster, namespace, "rjob/export", *run_with("t1", DAY="2026-11-30", FORMAT="xml")
        )
        assert sent.returncode == 0, sent.stderr
        skipped = settled_status(kube, namespace, "export")["lastSkipped"]
        assert (skipped["token"], skipped["reason"]) == ("t1", "InvalidParameters")
        assert "parameter FORMAT: 'xml' is not one of csv, json" in skipped["message"]
        assert manual_name("export", "t1") not in executions(kube, namespace)

        # The bad object made before is reported where the webhook would have refused it.
        ready = condition({"status": settled_status(kube, namespace, "never")}, "Ready")
        assert ready is not None
        assert (ready["status"], ready["reason"]) == ("False", "InvalidSchedule")
        assert "spec.schedule: '0 0 30 2 *' never fires" in ready["message"]
    finally:
        remove_webhooks(cluster, release)


def rendered_webhook(cluster: Cluster, *args: str) -> list[dict[str, Any]]:
    text = helm_template(cluster, "rr", "ops", *args, show_only=("webhook.yaml",))
    return [doc for doc in yaml.safe_load_all(text) if doc]


def probe(port: int, path: str) -> int | None:
    """The HTTP status of the operator's health server at `path`; None: no answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            status: int = answer.status
            return status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def test_a_replica_is_ready_once_its_webhook_server_answers(
    cluster: Cluster, namespace: str, certs: Certs, operator: OperatorProcess
) -> None:
    """The chart's readinessProbe asks /readyz (the webhook fails closed)."""
    webhook, health = free_port(), free_port()
    operator.extra_args += ["--webhook-port", str(webhook), "--webhook-cert-dir", str(certs.dir)]
    operator.extra_args += ["--webhook-addr", "127.0.0.1"]
    operator.extra_args += ["--health-port", str(health), "--health-addr", "127.0.0.1"]
    operator.start()
    wait_until(
        lambda: probe(health, "/readyz") == 200,
        timeout=60,
        what="/readyz to say the webhook server answers",
    )
    assert probe(health, "/healthz") == 200
    operator.stop()
    assert probe(health, "/readyz") is None


def test_the_chart_makes_its_own_certificate_for_the_webhook_service(cluster: Cluster) -> None:
    docs = rendered_webhook(cluster, "--set", "webhook.certificate.source=auto")
    kinds = {d["kind"]: d for d in docs}
    assert "Certificate" not in kinds  # no cert-manager API on this cluster's render
    secret = kinds["Secret"]
    ca_pem = base64.b64decode(secret["data"]["ca.crt"])
    ca = x509.load_pem_x509_certificate(ca_pem)
    serving = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    serving.verify_directly_issued_by(ca)
    names = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "rr-rerunnable-webhook.ops.svc" in names.get_values_for_type(x509.DNSName)
    assert "rr-rerunnable-reports.ops.svc" in names.get_values_for_type(x509.DNSName)
    policies = {}
    for config in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        for webhook in kinds[config]["webhooks"]:
            assert webhook["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]
            assert webhook["clientConfig"]["service"]["name"] == "rr-rerunnable-webhook"
            policies[webhook["name"]] = webhook["failurePolicy"]
    # Only a spec change waits on the webhook: runs, stamps and cancels never do.
    assert policies == {
        "validate.rerunnable.dev": "Fail",
        "validate-run.rerunnable.dev": "Ignore",
        "requested-by.rerunnable.dev": "Ignore",
        "cancelled-by.rerunnable.dev": "Ignore",
    }


def test_the_chart_asks_cert_manager_for_the_certificate_when_it_is_installed(
    cluster: Cluster,
) -> None:
    docs = rendered_webhook(cluster, "--api-versions", "cert-manager.io/v1/Certificate")
    kinds = {d["kind"]: d for d in docs}
    assert "Secret" not in kinds
    assert kinds["Issuer"]["spec"] == {"selfSigned": {}}
    certificate = kinds["Certificate"]["spec"]
    assert certificate["secretName"] == "rr-rerunnable-webhook-tls"
    assert "rr-rerunnable-webhook.ops.svc" in certificate["dnsNames"]
    for config in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        annotations = kinds[config]["metadata"]["annotations"]
        assert annotations["cert-manager.io/inject-ca-from"] == "ops/rr-rerunnable-webhook"
        assert "caBundle" not in kinds[config]["webhooks"][0]["clientConfig"]


def test_the_deployment_serves_the_webhook_from_the_certificate_secret(cluster: Cluster) -> None:
    text = helm_template(cluster, "rr", "ops", show_only=("deployment.yaml",))
    pod = yaml.safe_load(text)["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert "--webhook-port=9443" in container["args"]
    assert "--webhook-cert-dir=/tls" in container["args"]
    assert {"name": "webhook", "containerPort": 9443} in container["ports"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["webhook-tls"]["secret"]["secretName"] == "rr-rerunnable-webhook-tls"


def test_the_chart_serves_reports_with_the_same_certificate(cluster: Cluster) -> None:
    text = helm_template(cluster, "rr", "ops", show_only=("deployment.yaml", "reports.yaml"))
    deployment, service = [d for d in yaml.safe_load_all(text) if d]
    if deployment["kind"] != "Deployment":
        deployment, service = service, deployment
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert "--report-port=8443" in container["args"]
    assert "--report-url=https://rr-rerunnable-reports.ops.svc:443" in container["args"]
    assert "--report-cert-dir=/tls" in container["args"]
    assert {"name": "reports", "containerPort": 8443} in container["ports"]
    assert service["metadata"]["name"] == "rr-rerunnable-reports"
    assert service["spec"]["ports"] == [{"name": "reports", "port": 443, "targetPort": "reports"}]
    # Without the webhooks, the certificate is still made, for the reports.
    alone = helm_template(
        cluster, "rr", "ops", "--set", "webhook.enabled=false", show_only=("webhook.yaml",)
    )
    kinds = [d["kind"] for d in yaml.safe_load_all(alone) if d]
    assert kinds == ["Secret"]


# --- parameters and cancel, with the webhooks up -------------------------------------------


def annotate(cluster: Cluster, namespace: str, target: str, *pairs: str) -> CompletedProcess[str]:
    return try_kubectl(cluster, "annotate", "-n", namespace, target, *pairs, "--overwrite")


def run_with(token: str, **values: str) -> list[str]:
    return [
        f"rerunnable.dev/run={token}",
        f"rerunnable.dev/parameters-for={token}",
        *[f"parameters.rerunnable.dev/{k}={v}" for k, v in values.items()],
    ]


BAD_PARAMETERS: list[tuple[str, dict[str, str], str]] = [
    (
        "not in the enum",
        {"DAY": "2026-11-30", "FORMAT": "xml"},
        "parameter FORMAT: 'xml' is not one of csv, json",
    ),
    (
        "not matching the pattern",
        {"DAY": "monday"},
        "parameter DAY: 'monday' does not match the pattern ^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    ),
    (
        "unknown",
        {"DAY": "2026-11-30", "DAYS": "2"},
        "parameter DAYS: not declared in spec.parameters (declared: DAY, FORMAT)",
    ),
    ("required, not sent", {}, "parameter DAY: required, and not sent"),
    (
        "over 4 KiB in all",
        {"DAY": "2026-11-30", "FORMAT": "x" * 4100},
        "over the limit of 4096",
    ),
]


@pytest.mark.parametrize(
    ("values", "message"), [c[1:] for c in BAD_PARAMETERS], ids=[c[0] for c in BAD_PARAMETERS]
)
def test_bad_parameters_are_refused_at_annotate(
    cluster: Cluster,
    kube: Client,
    namespace: str,
    webhooks: OperatorProcess,
    values: dict[str, str],
    message: str,
) -> None:
    create_rjob(kube, namespace, "export", parameters=PARAMETERS)
    before = get_rjob(kube, namespace, "export")["metadata"].get("annotations")

    done = annotate(cluster, namespace, "rjob/export", *run_with("t1", **values))

    assert done.returncode != 0, done.stdout
    assert "rerunnable.dev/run=t1: invalid parameters: " in done.stderr
    assert message in done.stderr
    assert get_rjob(kube, namespace, "export")["metadata"].get("annotations") == before
    assert executions(kube, namespace) == {}


def test_with_the_webhooks_up_parameters_apply_to_their_own_token_only(
    cluster: Cluster, kube: Client, namespace: str, webhooks: OperatorProcess
) -> None:
    declared = [{**PARAMETERS[0], "required": False, "default": "2026-01-01"}, PARAMETERS[1]]
    create_rjob(kube, namespace, "export", parameters=declared)
    done = annotate(
        cluster, namespace, "rjob/export", *run_with("t1", DAY="2026-11-30", FORMAT="json")
    )
    assert done.returncode == 0, done.stderr
    wait_phase(kube, namespace, manual_name("export", "t1"), "Succeeded")
    assert annotate(cluster, namespace, "rjob/export", "rerunnable.dev/run=t2").returncode == 0
    wait_phase(kube, namespace, manual_name("export", "t2"), "Succeeded")

    runs = executions(kube, namespace)
    assert runs[manual_name("export", "t1")]["spec"]["parameters"] == {
        "DAY": "2026-11-30",
        "FORMAT": "json",
    }
    assert runs[manual_name("export", "t2")]["spec"]["parameters"] == {
        "DAY": "2026-01-01",
        "FORMAT": "csv",
    }


def test_the_execution_records_who_cancelled_the_run(
    cluster: Cluster, kube: Client, namespace: str, webhooks: OperatorProcess
) -> None:
    create_rjob(kube, namespace, "long", duration="600s")
    kubectl(
        cluster,
        "create",
        "role",
        "cancel-runs",
        "-n",
        namespace,
        "--verb=get,patch",
        "--resource=executions.rerunnable.dev",
    )
    kubectl(
        cluster,
        "create",
        "rolebinding",
        "carla",
        "-n",
        namespace,
        "--role=cancel-runs",
        "--user=carla",
    )
    annotate_run(kube, namespace, "long", "t1")
    name = manual_name("long", "t1")
    wait_phase(kube, namespace, name, "Running")

    done = try_kubectl(
        cluster,
        "annotate",
        "--as",
        "carla",
        "-n",
        namespace,
        f"rjex/{name}",
        "rerunnable.dev/cancel=true",
    )
    assert done.returncode == 0, done.stderr

    wait_phase(kube, namespace, name, "Interrupted")
    run = executions(kube, namespace)[name]
    assert run["metadata"]["annotations"]["rerunnable.dev/cancelled-by"] == "carla"
    assert (run["status"]["reason"], run["status"]["cancelledBy"]) == ("Cancelled", "carla")
    assert run["status"]["message"] == "cancelled by carla; its Job is deleted"
    wait_until(
        lambda: any(
            r == "RunCancelled" and "carla" in m for _, r, m in events_for(kube, namespace, "long")
        ),
        timeout=30,
        what="an event naming who cancelled the run",
    )


def test_a_bad_backfill_is_refused_at_annotate_and_a_good_one_records_who_asked(
    cluster: Cluster, kube: Client, namespace: str, webhooks: OperatorProcess
) -> None:
    create_rjob(kube, namespace, "report", schedule="0 * * * *")
    refused = annotate(
        cluster, namespace, "rjob/report", "rerunnable.dev/backfill=2026-11-01T00:00:00Z/later"
    )
    assert refused.returncode != 0, refused.stdout
    assert "rerunnable.dev/backfill: TO 'later' is not an RFC 3339 time" in refused.stderr
    assert "rerunnable.dev/backfill" not in (
        get_rjob(kube, namespace, "report")["metadata"].get("annotations") or {}
    )

    done = annotate(
        cluster,
        namespace,
        "rjob/report",
        "rerunnable.dev/backfill=2026-11-01T00:00:00Z/2026-11-01T02:00:00Z",
    )
    assert done.returncode == 0, done.stderr
    annotations = get_rjob(kube, namespace, "report")["metadata"]["annotations"]
    assert annotations["rerunnable.dev/backfill-requested-by"] == username(cluster)
    first = "report-" + str(int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()) // 60)
    wait_phase(kube, namespace, first, "Succeeded")
    assert executions(kube, namespace)[first]["spec"]["requestedBy"] == username(cluster)
