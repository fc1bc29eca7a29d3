"""The report path's cost: how many reports a second one operator accepts, and what they cost
the API server in status writes.

N runs of a reporting job, each a running (simulated) pod; for each, a reporter
with its own kept-alive HTTPS connection and a pod-bound token (TokenRequest)
POSTs progress reports at `rate` a second (the endpoint takes 20 a second per
run), as the pod would, for `seconds`. Figures: reports accepted per second,
answer latency, status writes per accepted report (the operator's own counter),
and the operator's CPU over the window.
"""

import asyncio
import json
import logging
import ssl
import time
from functools import partial
from typing import Any

import aiohttp

from bench.objects import RJOBS, delete_namespaces, gather_limited, make_namespace
from bench.scenarios import Bench
from bench.stats import percentile

__all__ = ["reports"]

log = logging.getLogger("bench")

WRITES = "rerunnable_report_status_writes_total"


def _rjob(name: str) -> dict[str, Any]:
    template = {
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": {"sim.rerunnable.dev/duration": "3600s"}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox"}],
                },
            },
        }
    }
    return {
        "apiVersion": "rerunnable.dev/v1alpha1",
        "kind": "RerunnableJob",
        "metadata": {"name": name, "annotations": {"rerunnable.dev/run": "bench"}},
        "spec": {"jobTemplate": template, "reporting": {"enabled": True}},
    }


async def _running_pods(b: Bench, ns: str, n: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 300
    while True:
        pods, _ = await b.api.list_items(f"/api/v1/namespaces/{ns}/pods")
        running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]
        if len(running) >= n:
            return running
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(running)}/{n} pods running after 300s")
        await asyncio.sleep(1)


async def _token(b: Bench, ns: str, pod: dict[str, Any]) -> str:
    meta = pod["metadata"]
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {
            "audiences": ["rerunnable.dev"],
            "expirationSeconds": 3600,
            "boundObjectRef": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": meta["name"],
                "uid": meta["uid"],
            },
        },
    }
    path = f"/api/v1/namespaces/{ns}/serviceaccounts/default/token"
    answer = await b.api.create(path, request)
    return str(answer["status"]["token"])


async def _report(
    url: str, ca: str, token: str, rate: float, until: float, latencies: list[float]
) -> tuple[int, int]:
    """POST reports at `rate` a second until `until`; (accepted, refused)."""
    context = ssl.create_default_context(cadata=ca)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    accepted = refused = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context, limit=1)) as s:
        i = 0
        while time.monotonic() < until:
            i += 1
            body = json.dumps({"progress": {"completed": i, "total": 1000000}})
            sent = time.monotonic()
            async with s.post(url, data=body, headers=headers) as answer:
                await answer.read()
                latencies.append(time.monotonic() - sent)
                if answer.status == 204:
                    accepted += 1
                else:
                    refused += 1
            await asyncio.sleep(max(0.0, sent + 1 / rate - time.monotonic()))
    return accepted, refused


async def _metric(url: str, name: str) -> float:
    async with aiohttp.ClientSession() as s, s.get(url) as answer:
        for line in (await answer.text()).splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


async def reports(
    b: Bench, runs: int, seconds: float, rate: float, metrics_url: str, ca: str
) -> dict[str, Any]:
    ns = "reports"
    await make_namespace(b.api, ns)
    path = RJOBS.format(ns=ns)
    await gather_limited(
        b.concurrency, [partial(b.api.create, path, _rjob(f"rep-{i:03d}")) for i in range(runs)]
    )
    pods = await _running_pods(b, ns, runs)
    tokens = await asyncio.gather(*(_token(b, ns, p) for p in pods))
    urls = [
        next(
            e["value"]
            for e in p["spec"]["containers"][0]["env"]
            if e["name"] == "RERUNNABLE_REPORT_URL"
        )
        for p in pods
    ]
    writes_before = await _metric(metrics_url, WRITES)
    cpu_before = b.operator.cpu_seconds()
    latencies: list[float] = []
    start = time.monotonic()
    until = start + seconds
    counts = await asyncio.gather(
        *(_report(u, ca, t, rate, until, latencies) for u, t in zip(urls, tokens, strict=True))
    )
    took = time.monotonic() - start
    cpu = b.operator.cpu_seconds() - cpu_before
    await asyncio.sleep(2)  # the last coalesced writes (one a second per run) land
    writes = await _metric(metrics_url, WRITES) - writes_before
    accepted = sum(a for a, _ in counts)
    refused = sum(r for _, r in counts)
    await delete_namespaces(b.api, [ns])
    return {
        "runs": runs,
        "seconds": round(took, 1),
        "offered_per_s": round(runs * rate, 1),
        "accepted": accepted,
        "refused": refused,
        "accepted_per_s": round(accepted / took, 1),
        "p50_ms": round((percentile(latencies, 50) or 0) * 1000, 1),
        "p99_ms": round((percentile(latencies, 99) or 0) * 1000, 1),
        "status_writes": int(writes),
        "writes_per_report": round(writes / accepted, 3) if accepted else None,
        "operator_cpu_percent": round(100 * cpu / took, 1),
    }
