"""Acting as a run's workload: kwok's pods run nothing, so the tests do what a pod would.

A pod of a reporting run has, from its Job: RERUNNABLE_REPORT_URL, the CA in
RERUNNABLE_REPORT_CA, and a projected pod-bound token. The tests read the
first two from the pod itself, and mint the third with the TokenRequest API,
bound to the pod as the kubelet binds it (`kubectl create token ...
--bound-object-kind Pod`), then POST exactly what the pod would.
"""

import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from lightkube import Client
from lightkube.resources.core_v1 import Pod

from tests.e2e.cluster import Cluster
from tests.e2e.waiting import wait_until

__all__ = ["Answer", "RunPod", "mint_token", "post", "run_pod"]

AUDIENCE = "rerunnable.dev"


@dataclass(frozen=True)
class RunPod:
    name: str
    uid: str
    env: dict[str, str]  # of its first container

    @property
    def url(self) -> str:
        return self.env["RERUNNABLE_REPORT_URL"]

    @property
    def ca(self) -> str:
        return self.env["RERUNNABLE_REPORT_CA"]


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))


def run_pod(kube: Client, namespace: str, execution: str, timeout: float = 60) -> RunPod:
    """The (first) pod of Execution `execution`'s Job, once it runs."""

    def probe() -> Pod | None:
        pods = list(
            kube.list(Pod, namespace=namespace, labels={"rerunnable.dev/execution": execution})
        )
        running = [p for p in pods if p.status is not None and p.status.phase == "Running"]
        return running[0] if running else None

    pod = wait_until(probe, timeout=timeout, what=f"a running pod of {execution}")
    assert pod.metadata is not None
    assert pod.spec is not None
    env = {e.name: e.value or "" for e in pod.spec.containers[0].env or []}
    return RunPod(str(pod.metadata.name), str(pod.metadata.uid), env)


def mint_token(
    cluster: Cluster,
    namespace: str,
    pod: str | None,
    uid: str | None,
    *,
    audience: str = AUDIENCE,
    account: str = "default",
) -> str:
    """A token as the kubelet projects it: for `account`, bound to the pod (if given)."""
    bound = ["--bound-object-kind", "Pod", "--bound-object-name", pod] if pod else []
    if pod and uid:
        bound += ["--bound-object-uid", uid]
    done = cluster.kubectl(
        "create", "token", account, "-n", namespace, "--audience", audience, *bound
    )
    return done.stdout.strip()


def post(url: str, ca: str, token: str | None, body: Any, *, raw: bytes | None = None) -> Answer:
    """POST a report as `rerunnable-report` (or curl) does; the answer, whatever it is."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    context = ssl.create_default_context(cadata=ca)
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return Answer(response.status, {})
    except urllib.error.HTTPError as e:
        text = e.read().decode(errors="replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = {"message": text}
        return Answer(e.code, parsed if isinstance(parsed, dict) else {"message": text})
