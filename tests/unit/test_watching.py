"""handlers.watching: the kopf settings the operator's watches rely on."""

import kopf

from rerunnable.controller.kinds import JOB_SELECTOR
from rerunnable.handlers.watching import FOREVER, NoDiffBase, configure
from rerunnable.kube.transport import LIST_CHUNK


def test_the_watches_filter_jobs_on_the_server_list_in_pages_retry_forever_no_diff_base() -> None:
    settings = kopf.OperatorSettings()
    configure(settings)
    assert settings.watching.label_selectors["batch", "jobs"] == JOB_SELECTOR
    assert settings.watching.chunk_size == LIST_CHUNK
    assert settings.networking.error_backoffs is FOREVER
    assert settings.posting.enabled is False
    storage = settings.persistence.diffbase_storage
    assert isinstance(storage, NoDiffBase)
    body = kopf.Body({"metadata": {"name": "x"}, "spec": {"schedule": "* * * * *"}})
    assert storage.build(body=body) == {}, "no copy of the body on every event"
    assert storage.fetch(body=body) is None


def test_forever_never_runs_out() -> None:
    delays = iter(FOREVER)
    taken = [next(delays) for _ in range(100)]
    assert taken[:6] == [1, 1, 2, 3, 5, 8]
    assert set(taken[6:]) == {10.0}
