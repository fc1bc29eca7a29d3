"""Crash-only: a long-running task of the operator that ends makes the process exit.

The election, the start-up lists, the timers, the workers and kopf's watch
streams run as long as the process does. If one of them ends while the operator
is not stopping (an exception, or a return), a replica would be half alive: a
leader that no longer renews but still writes, a standby whose watch is dead
and that would lead blind. So the task's traceback is logged, the process is
marked unhealthy (/healthz and /readyz then fail, controller.health) and it
exits non-zero at once, without another write; Kubernetes restarts it, and the
fresh process rebuilds its view from the API server.

kopf keeps its watch streams in tasks of its own and does not notice when one
dies; `adopt_kopf_watchers` finds them by name and supervises them too. Nor
does it always start them: a process that starts while the API server is still
installing its paths finds no CRDs and watches nothing of ours, for good.
`await_tasks` holds the election and the workers back until every expected
watch runs, and ends the process if one does not come: at once when kopf says
it could not resolve a resource (it never looks again), else after a deadline.
"""

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Collection, Coroutine
from typing import Any

__all__ = ["EXIT_FAILED", "KOPF_DISCOVERY_LOGGER", "KOPF_WATCHER_PREFIX", "Supervisor"]

logger = logging.getLogger(__name__)

EXIT_FAILED = 1
# kopf names each watch stream's task "watcher for <resource>..." (kopf._core.reactor).
KOPF_WATCHER_PREFIX = "watcher for "
# kopf's resource observer says this when discovery does not list a resource it is to watch
# (kopf._core.reactor.observation); found by the chaos suite: a replica started while the
# API server came back waited two minutes for watches that could never come.
KOPF_DISCOVERY_LOGGER = "kopf._core.reactor.observation"
KOPF_UNRESOLVED = "Unresolved resources cannot be served"


class _Unresolved(logging.Handler):
    """Remembers kopf's word that it will not watch some resource."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.message: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text.startswith(KOPF_UNRESOLVED):
            self.message = text


def _exit_now(code: int) -> None:
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    sys.stderr.flush()
    os._exit(code)


class Supervisor:
    def __init__(self, exit: Callable[[int], None] = _exit_now) -> None:
        self._exit = exit
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self.failure: str | None = None

    @property
    def healthy(self) -> bool:
        return self.failure is None

    @property
    def is_stopping(self) -> bool:
        return self._stopping

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run `coro` as a task that must not end while the operator runs."""
        task = asyncio.create_task(coro, name=name)
        self.adopt(task)
        return task

    def adopt(self, task: asyncio.Task[Any]) -> None:
        """Supervise a task started elsewhere."""
        if task in self._tasks:
            return
        self._tasks.add(task)
        task.add_done_callback(self._ended)

    def fail(self, reason: str) -> None:
        """Mark the process unhealthy and exit it now: not one more write."""
        if self.failure is None:
            self.failure = reason
        logger.critical("%s: exiting (code %d) to be restarted", reason, EXIT_FAILED)
        self._exit(EXIT_FAILED)

    async def adopt_kopf_watchers(self, interval: float = 1.0) -> None:
        """Supervise kopf's watch-stream tasks as they appear; runs until cancelled."""
        while True:
            self.adopt_named(KOPF_WATCHER_PREFIX)
            await asyncio.sleep(interval)

    async def await_tasks(self, names: Collection[str], *, within: float) -> None:
        """Return once tasks of all these names run (and supervise them); if they do not
        within `within` seconds, fail: a process without its watches must not work."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        unresolved = _Unresolved()
        kopf_discovery = logging.getLogger(KOPF_DISCOVERY_LOGGER)
        kopf_discovery.addHandler(unresolved)
        try:
            while True:
                running = {t.get_name(): t for t in asyncio.all_tasks() if t.get_name() in names}
                for task in running.values():
                    self.adopt(task)
                missing = sorted(set(names) - set(running))
                if not missing:
                    return
                if unresolved.message is not None:
                    self.fail(f"kopf will never watch {', '.join(missing)}: {unresolved.message}")
                    return
                if loop.time() >= deadline:
                    self.fail(f"not started within {within:g}s: {', '.join(missing)}")
                    return
                await asyncio.sleep(0.2)
        finally:
            kopf_discovery.removeHandler(unresolved)

    def adopt_named(self, prefix: str) -> None:
        """Supervise the running tasks whose names start with `prefix`."""
        for task in asyncio.all_tasks():
            if task.get_name().startswith(prefix):
                self.adopt(task)

    @property
    def watched(self) -> list[str]:
        """Names of the tasks under supervision."""
        return sorted(t.get_name() for t in self._tasks)

    def stopping(self) -> None:
        """The operator is stopping (a signal): from now on a task that ends is no failure."""
        self._stopping = True

    async def stop(self) -> None:
        """Cancel the supervised tasks and wait for them."""
        self.stopping()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _ended(self, task: asyncio.Task[Any]) -> None:
        if self._stopping:
            return
        if task.cancelled():
            self.fail(f"task {task.get_name()!r} was cancelled while the operator runs")
            return
        error = task.exception()
        if error is not None:
            logger.critical(
                "task %r failed",
                task.get_name(),
                exc_info=(type(error), error, error.__traceback__),
            )
            self.fail(f"task {task.get_name()!r} failed: {error!r}")
        else:
            self.fail(f"task {task.get_name()!r} ended while the operator runs")
