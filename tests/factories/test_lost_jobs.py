"""The jobs of order copies that a dead worker left running (queue.end_lost_copy_jobs, run by the factories'
sweep): ended FAILED with the reason, their copies queued again and made once; a job whose copy is held under
a live lease is left to run; the sweep's statements stay few whatever the queue holds. The worker death is a
real worker process killed (SIGKILL) while it held the jobs, as tests/test_batch_worker_death.py kills one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from orderfactory import queue
from orderfactory.core import clock, scope
from orderfactory.factories import services
from orderfactory.factories.models import OrderFactory
from tests.conftest import job_taker
from tests.factories.conftest import copy
from tests.factories.test_groups import placed
from tests.factories.test_singles_together import assert_each_made_once, work
from tests.orders.conftest import build_shop
from tests.test_worker import kill_a_worker_mid_copy, orderfactory

SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def shop(api: Any) -> Any:
    return build_shop(api, skus={"TSHIRT": (1500, {"milan": 100})})


def posted(api: Any, source_id: str) -> str:
    r = copy(api, source_id, attributes={"place_target_order": False})
    assert r.status == 201, r
    return str(r.data["id"])


def jobs() -> list[tuple[str, str]]:
    """(status, exception class path) of every copy's job."""
    return sorted(
        DBTaskResult.objects.filter(task_path=queue.RUN_ORDER_FACTORY).values_list(
            "status", "exception_class_path"
        )
    )


LOST = ("FAILED", "orderfactory.queue.JobLost")


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_holding_copies_leaves_no_job_running_after_the_sweep(api, shop, tmp_path):
    sources = [placed(api, shop, {"TSHIRT": 1}) for _ in range(3)]
    made = [posted(api, source) for source in sources]  # ready before the worker starts: taken together
    kill_a_worker_mid_copy(tmp_path, "the copies taken together stall mid-way")
    assert jobs() == [("RUNNING", "")] * 3
    with scope.active(api.scope()):
        assert (
            sorted(OrderFactory.objects.filter(pk__in=made).values_list("status", flat=True))
            == ["pending"] * 3
        )  # their group's claim rolled back

    assert services.sweep(clock.now()) == 0  # within the lease the worker may be alive: nothing is ended
    assert jobs() == [("RUNNING", "")] * 3
    later = clock.now() + services.LEASE + SECOND
    assert services.sweep(later) == 3
    assert jobs() == [LOST] * 3 + [("READY", "")] * 3
    ended = DBTaskResult.objects.filter(status="FAILED").first()
    assert ended is not None and ended.traceback == queue.LOST and ended.finished_at is not None

    with orderfactory(tmp_path, "worker", "--batch") as again:
        again.wait(120)
        assert again.returncode == 0, again.log.read_text()[-3000:]
    assert jobs() == [LOST] * 3 + [("SUCCESSFUL", "")] * 3
    assert services.sweep(later + services.LEASE * 2) == 0
    assert jobs() == [LOST] * 3 + [("SUCCESSFUL", "")] * 3
    assert_each_made_once(api, made)


@pytest.mark.django_db(transaction=True)
def test_a_running_job_whose_copy_is_held_under_a_live_lease_is_left_running(api, shop):
    [factory_id] = [posted(api, placed(api, shop, {"TSHIRT": 1}))]
    assert len(job_taker("slow")._take()) == 1
    later = clock.now() + services.LEASE + SECOND
    # its worker claimed the copy (a claim that runs past the job's first lease: taken together, say)
    OrderFactory.unscoped.filter(pk=factory_id).update(
        status="in_progress", claimed_by="slow", lease_expires_at=later + services.LEASE
    )
    assert services.sweep(later) == 0
    assert jobs() == [("RUNNING", "")]
    # the claim lapses: the copy is queued again, and the job that held it ends
    assert services.sweep(later + services.LEASE + SECOND) == 1
    assert jobs() == [LOST, ("READY", "")]
    assert work(job_taker()) == [1]
    with scope.active(api.scope()):
        assert OrderFactory.objects.get(pk=factory_id).status == "completed"


def test_a_sweep_costs_the_same_statements_whatever_jobs_the_queue_holds(api, shop):
    def statements_of_a_sweep() -> int:
        with CaptureQueriesContext(connection) as captured:
            services.sweep(clock.now())
        return len(captured)

    empty = statements_of_a_sweep()
    for _ in range(3):
        posted(api, placed(api, shop, {"TSHIRT": 1}))
    assert work(job_taker()) == [3]  # finished jobs
    posted(api, placed(api, shop, {"TSHIRT": 1}))
    job_taker("busy")._take()  # a running one
    # Pinned: the ending of lost jobs (one UPDATE), the stale copies (one SELECT)
    assert (empty, statements_of_a_sweep()) == (2, 2)
