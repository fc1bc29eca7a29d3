"""Manifests of both sides (the same trivial Job template) and fast bulk writes."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import aiohttp

from bench.kubeapi import Api, ApiError, Body

__all__ = [
    "CRONJOBS",
    "JOBS",
    "RJOBS",
    "cronjob",
    "delete_namespaces",
    "gather_limited",
    "job_template",
    "make_namespace",
    "rerunnable_job",
]

RJOBS = "/apis/rerunnable.dev/v1alpha1/namespaces/{ns}/rerunnablejobs"
CRONJOBS = "/apis/batch/v1/namespaces/{ns}/cronjobs"
EXECUTIONS = "/apis/rerunnable.dev/v1alpha1/namespaces/{ns}/executions"
JOBS = "/apis/batch/v1/namespaces/{ns}/jobs"
CONTENTS = (RJOBS, CRONJOBS, EXECUTIONS, JOBS)  # what the scenarios make, owners first
T = TypeVar("T")


def job_template(*, suspend: bool) -> Body:
    """A trivial Job; `suspend: true` makes no pods, so only the schedulers are measured."""
    return {
        "spec": {
            "suspend": suspend,
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox", "command": ["true"]}],
                }
            },
        }
    }


def rerunnable_job(name: str, schedule: str | None, *, suspend_jobs: bool = True) -> Body:
    spec: dict[str, Any] = {"jobTemplate": job_template(suspend=suspend_jobs)}
    if schedule is not None:
        spec["schedule"] = schedule
    return {
        "apiVersion": "rerunnable.dev/v1alpha1",
        "kind": "RerunnableJob",
        "metadata": {"name": name},
        "spec": spec,
    }


def cronjob(name: str, schedule: str, *, suspend_jobs: bool = True) -> Body:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {"schedule": schedule, "jobTemplate": job_template(suspend=suspend_jobs)},
    }


async def gather_limited(
    limit: int, calls: Iterable[Callable[[], Awaitable[T]]], retries: int = 5
) -> list[T]:
    """Run the calls at most `limit` at a time; retry 429/5xx answers a few times."""
    semaphore = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            for attempt in range(retries):
                try:
                    return await call()
                except ApiError as e:
                    if e.status < 429 or attempt == retries - 1:
                        raise
                    await asyncio.sleep(0.2 * 2**attempt)
            raise AssertionError("unreachable")

    return await asyncio.gather(*(one(c) for c in calls))


async def make_namespace(api: Api, name: str) -> None:
    await api.create("/api/v1/namespaces", {"metadata": {"name": name}})


async def _delete_collection(api: Api, path: str, deadline: float) -> None:
    """DELETE a collection; a 504 or a dropped connection (20,000 Jobs, 100,000
    RerunnableJobs take longer than the API server's request timeout) deleted part of
    it: ask again for the rest."""
    while True:
        try:
            await api.request("DELETE", path, params={"propagationPolicy": "Background"})
            return
        except ApiError as e:
            if e.status != 504 or time.monotonic() > deadline:
                raise
        except (aiohttp.ClientError, TimeoutError):
            if time.monotonic() > deadline:
                raise


async def delete_namespaces(api: Api, names: Iterable[str], limit: float = 600) -> float:
    """Delete namespaces and wait until they are gone; returns the seconds it took."""
    start = time.monotonic()
    names = list(names)
    # The namespace controller deletes at the controller manager's client QPS: with
    # thousands of objects, emptying the namespace first is much faster.
    for name in names:
        for collection in CONTENTS:
            await _delete_collection(api, collection.format(ns=name), start + limit)
        await api.delete(f"/api/v1/namespaces/{name}")
    while names:
        if time.monotonic() - start > limit:
            raise TimeoutError(f"namespaces not gone after {limit:.0f}s: {names}")
        remaining = []
        for name in names:
            try:
                await api.request("GET", f"/api/v1/namespaces/{name}")
                remaining.append(name)
            except ApiError as e:
                if e.status != 404:
                    raise
        names = remaining
        if names:
            await asyncio.sleep(1)  # polling the API server, not synchronising with it
    return time.monotonic() - start
