"""Single order copies whose jobs a worker takes together (worker._worker_class, groups.run_singles): a
burst of POSTed copies is taken in one statement and made in groups of one tenant each, as each copy alone
would be made; the copies the group path does not make as services.run makes them run alone; a lone job runs
alone; every job ends as a job alone ends; a worker that dies holding the jobs leaves no copy never made; a
group of them costs the same statements whatever its number of copies."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from orderfactory import queue, tasks
from orderfactory.core import clock, scope
from orderfactory.events.models import WebhookDelivery
from orderfactory.factories import batches, groups, services
from orderfactory.factories.models import OrderFactory
from orderfactory.orders.models import Order
from tests.conftest import job_taker
from tests.factories.conftest import copied, copy, subscription
from tests.factories.test_groups import ending, placed, rendered, sources_one_with_an_expired_coupon
from tests.factories.test_previews import copy_from, preview
from tests.orders.conftest import build_shop


@pytest.fixture
def shop(api: Any) -> Any:
    return build_shop(api, skus={"TSHIRT": (1500, {"milan": 100}), "MUG": (800, {"milan": 100})})


def work(taker: Any) -> list[int]:
    """The worker's loop (run) without its connection upkeep, until nothing is ready: how many jobs each
    take took."""
    takes = []
    while taken := taker._take():
        takes.append(len(taken))
        if len(taken) == 1:
            taker.run_task(taken[0])
        else:
            taker.run_together(taken)
    return takes


def posted(api: Any, source_id: str, kind: str = "order_copies", **options: Any) -> str:
    attributes = {"place_target_order": False, **options.pop("attributes", {})}
    r = copy(api, source_id, kind=kind, attributes=attributes, **options)
    assert r.status == 201, r
    return str(r.data["id"])


def claims(api: Any, ids: list[str]) -> dict[str, str]:
    with scope.active(api.scope()):
        return dict(OrderFactory.objects.filter(pk__in=ids).values_list("pk", "claimed_by"))


def assert_each_made_once(api: Any, made: list[str]) -> None:
    """Each of these copies completed at its first attempt, with one target order and one ``.complete``
    event: made once, whatever workers died or swept meanwhile."""
    with scope.active(api.scope()):
        assert Order.objects.filter(order_factory__id__in=made).count() == len(made)
        ends = OrderFactory.objects.filter(pk__in=made).values_list("status", "attempts")
        assert sorted(ends) == [("completed", 1)] * len(made)
    for factory_id in made:
        assert event_names(api, factory_id).count("order_copies.complete") == 1


def event_names(api: Any, factory_id: str, kind: str = "order_copies") -> list[str]:
    return sorted(e["attributes"]["name"] for e in api.get(f"{kind}/{factory_id}/events").data)


def job_statuses() -> dict[str, str]:
    return {
        job.args_kwargs["args"][0]: job.status
        for job in DBTaskResult.objects.filter(task_path=queue.RUN_ORDER_FACTORY)
    }


def test_a_burst_of_single_copies_is_taken_together_and_made_as_each_alone(api, shop, monkeypatch):
    import orderfactory.events.services as events

    monkeypatch.setattr(events, "deliver", lambda delivery_id: None)  # the deliveries' jobs, not sent
    api.create("webhooks", {"topic": "order_copies.start", "callback_url": "https://example.com/hooks"})
    sources = [placed(api, shop, {"TSHIRT": 2, "MUG": 1}) for _ in range(3)]
    alone = posted(api, sources[0])
    assert work(job_taker()) == [1, 1]  # one job ready: taken and run alone, as before (then its webhook's)
    burst = [posted(api, source) for source in sources]
    assert work(job_taker()) == [3, 1, 1, 1]  # one take (then the three webhooks' deliveries, one at a time)
    assert len(set(claims(api, burst).values())) == 1  # one group made them
    lone, lone_target = copied(api, alone)
    for factory_id in burst:
        factory, target = copied(api, factory_id)
        assert ending(factory) == ending(lone)
        assert target is not None
        assert event_names(api, factory_id) == event_names(api, alone)
    _, first = copied(api, burst[0])
    assert first is not None and lone_target is not None
    assert (
        rendered(api, first["id"])["order"]["total_amount_cents"]
        == (rendered(api, lone_target["id"])["order"]["total_amount_cents"])
    )
    # The ``.start`` webhook shows each copy as it started, in progress, as it shows a copy made alone.
    with scope.active(api.scope()):
        started = {
            body["data"]["id"]: body["data"]["attributes"]["status"]
            for body in (json.loads(bytes(d.body)) for d in WebhookDelivery.objects.all())
        }
    assert started == dict.fromkeys([alone, *burst], "in_progress")
    # The jobs taken together end as jobs alone end; their successes are written by the next take, at once.
    assert set(job_statuses().values()) == {"SUCCESSFUL"}
    with scope.active(api.scope()):
        assert Order.objects.filter(order_factory__id__in=burst).count() == 3


def test_the_successes_of_jobs_taken_together_are_written_in_one_statement(api, shop):
    sources = [placed(api, shop, {"MUG": 1}) for _ in range(4)]
    for source in sources:
        posted(api, source)
    taker = job_taker()
    taken = taker._take()
    assert len(taken) == 4
    taker.run_together(taken)
    assert set(job_statuses().values()) == {"RUNNING"}  # left to the next take
    with CaptureQueriesContext(connection) as captured:
        assert taker._take() == []
    recorded = [q["sql"] for q in captured if "'SUCCESSFUL'" in q["sql"]]
    assert len(recorded) == 1, recorded
    assert set(job_statuses().values()) == {"SUCCESSFUL"}


def test_copies_the_group_path_does_not_make_as_alone_run_alone(api, shop):
    sources = [placed(api, shop, {"TSHIRT": 1}) for _ in range(5)]
    sub = subscription(api, sources[3])
    r = preview(api, sources[4], place_target_order=False)
    assert r.status == 201, r
    together = [posted(api, sources[0]), posted(api, sources[1])]
    apart = [
        posted(api, sources[2], attributes={"cancel_source_order": True}),
        posted(
            api,
            sources[3],
            kind="recurring_order_copies",
            relationships={"order_subscription": ("order_subscriptions", sub.pk)},
        ),
    ]
    r = copy_from(api, sources[4], r.data["id"], place_target_order=False)
    assert r.status == 201, r
    apart.append(r.data["id"])
    assert work(job_taker()) == [5]
    made = claims(api, together + apart)
    assert made[together[0]] == made[together[1]]
    assert (
        len({made[pk] for pk in apart} | {made[together[0]]}) == 4
    )  # each of the others under its own claim
    kinds = ["order_copies"] * 3 + ["recurring_order_copies", "order_copies"]
    for factory_id, kind in zip(together + apart, kinds, strict=True):
        factory, _ = copied(api, factory_id, kind)
        assert factory["attributes"]["status"] == "completed", factory
        assert f"{kind}.start" in event_names(api, factory_id, kind)
    assert api.get(f"orders/{sources[2]}").data["attributes"]["status"] == "cancelled"
    assert set(job_statuses().values()) == {"SUCCESSFUL"}


def test_copies_of_two_organizations_taken_together_are_made_each_in_its_own_scope(api, shop, other_org):
    ours = [placed(api, shop, {"TSHIRT": 1}) for _ in range(2)]
    their_shop = build_shop(other_org, skus={"TSHIRT": (1500, {"milan": 100})})
    theirs = [placed(other_org, their_shop, {"TSHIRT": 1}) for _ in range(2)]
    mine = [posted(api, source) for source in ours]
    others = [posted(other_org, source) for source in theirs]
    assert work(job_taker()) == [4]
    ours_made, theirs_made = claims(api, mine), claims(other_org, others)
    assert len(set(ours_made.values())) == len(set(theirs_made.values())) == 1  # a group per organization
    assert set(ours_made.values()) != set(theirs_made.values())
    for client, factory_ids in ((api, mine), (other_org, others)):
        for factory_id in factory_ids:
            factory, target = copied(client, factory_id)
            assert factory["attributes"]["status"] == "completed" and target is not None
            # the target is its organization's: the other one sees neither
            stranger = other_org if client is api else api
            assert client.get(f"orders/{target['id']}").status == 200
            assert stranger.get(f"orders/{target['id']}").status == 404
            assert stranger.get(f"order_copies/{factory_id}").status == 404


def test_a_copy_refused_by_its_checks_fails_alone_and_the_copies_taken_with_it_complete(api, shop):
    made = [posted(api, source) for source in sources_one_with_an_expired_coupon(api, shop)]
    assert work(job_taker()) == [3]
    assert len(set(claims(api, made).values())) == 1
    refused, target = copied(api, made[1])
    assert refused["attributes"]["status"] == "failed" and target is None
    assert refused["attributes"]["errors_log"] == {"coupon_code": ["coupon 'SPRING' has expired"]}
    names = event_names(api, made[1])
    assert "order_copies.start" in names and "order_copies.fail" in names
    assert "order_copies.complete" not in names
    for factory_id in (made[0], made[2]):
        factory, target = copied(api, factory_id)
        assert factory["attributes"]["status"] == "completed" and target is not None
    assert set(job_statuses().values()) == {"SUCCESSFUL"}  # a refused copy is a job that ran


def test_a_copy_whose_run_raises_fails_its_own_job_only(api, shop, monkeypatch, caplog):
    sources = [placed(api, shop, {"MUG": 1}) for _ in range(3)]
    made = [posted(api, source) for source in sources[:2]]
    broken = posted(api, sources[2], attributes={"cancel_source_order": True})  # runs alone
    real_run = services.run

    def run(factory_id: str) -> Any:
        if factory_id == broken:
            raise RuntimeError("boom")
        return real_run(factory_id)

    monkeypatch.setattr(services, "run", run)
    assert work(job_taker()) == [3]
    statuses = job_statuses()
    assert statuses == {made[0]: "SUCCESSFUL", made[1]: "SUCCESSFUL", broken: "FAILED"}
    failed = DBTaskResult.objects.get(task_path=queue.RUN_ORDER_FACTORY, status="FAILED")
    assert failed.exception_class_path == "builtins.RuntimeError" and "boom" in failed.traceback
    # logged as the library logs a failed job: with its exception, for error monitoring
    [logged] = [r for r in caplog.records if "state=FAILED" in r.getMessage()]
    assert logged.exc_info is not None and logged.exc_info[0] is RuntimeError
    for factory_id in made:
        assert copied(api, factory_id)[0]["attributes"]["status"] == "completed"


def test_jobs_taken_together_by_a_worker_that_died_are_made_once_after_the_sweep(api, shop):
    sources = [placed(api, shop, {"TSHIRT": 1}) for _ in range(3)]
    made = [posted(api, source) for source in sources]
    assert len(job_taker("dead")._take()) == 3  # taken, never run: the worker died
    assert set(job_statuses().values()) == {"RUNNING"}
    assert work(job_taker()) == []  # nothing ready: the copies wait for the sweep
    later = clock.now() + services.LEASE + dt.timedelta(seconds=1)
    assert services.sweep(later) == 3  # pending past their lease, their jobs not ready: queued again
    assert work(job_taker()) == [3]
    assert services.sweep(later + services.LEASE * 2) == 0
    assert_each_made_once(api, made)


def _statements_of_a_take(api: Any, shop: Any, size: int) -> list[str]:
    sources = [placed(api, shop, {"TSHIRT": 2, "MUG": 1}) for _ in range(size)]
    for source in sources:
        posted(api, source)
    taker = job_taker()
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        taken = taker._take()
        assert len(taken) == size
        taker.run_together(taken)
        assert taker._take() == []  # records the successes
    return [q["sql"] for q in captured]


def test_a_take_of_single_copies_costs_the_same_statements_whatever_its_number(api, shop, monkeypatch):
    monkeypatch.setattr(tasks, "TAKEN_TOGETHER", 50)
    measured = {size: len(_statements_of_a_take(api, shop, size)) for size in (2, 8)}
    print(f"statements per take: {measured}")
    assert measured[2] == measured[8], measured
    # Pinned (statements, BEGIN and SAVEPOINT included): the take; the copies' options read; the group (20, as a
    # batch's group less its scope's read and its batch's bookkeeping); the next take, which writes the jobs'
    # successes (on SQLite, a statement before it in their transaction). A change here is a change in what a
    # burst of copies costs, to make on purpose.
    assert measured[2] == (23 if connection.vendor == "postgresql" else 26), measured


def test_as_many_jobs_as_a_group_holds_are_taken_at_once(api, shop, monkeypatch):
    monkeypatch.setattr(batches, "GROUP", 2)
    monkeypatch.setattr(tasks, "TAKEN_TOGETHER", 2)
    sources = [placed(api, shop, {"MUG": 1}) for _ in range(5)]
    for source in sources:
        posted(api, source)
    assert work(job_taker()) == [2, 2, 1]
    assert groups.run_singles([]) == {}
