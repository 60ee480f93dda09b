"""A batch's copies made a group at a time (factories/groups.py), through HTTP: a group's targets are what
single copies of the same sources make, a source refused by its checks fails alone while the rest of its
group completes, a group whose writes are refused at the end runs its copies alone, and a group costs the
same number of queries whatever its number of copies."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext

from orderfactory import queue
from orderfactory.core import clock, scope
from orderfactory.factories import batches, groups
from orderfactory.factories.models import OrderFactory
from orderfactory.orders.models import Order
from orderfactory.promotions.models import Coupon
from tests.factories.conftest import copied, copy, run_job
from tests.factories.test_batches import create, drain, jobs
from tests.factories.test_copy import _promotion
from tests.orders.conftest import build_shop, new_order, place

INCLUDED = "line_items,shipments,billing_address,shipping_address"


@pytest.fixture
def shop(api: Any) -> Any:
    return build_shop(api, skus={"TSHIRT": (1500, {"milan": 100}), "MUG": (800, {"milan": 100})})


def placed(api: Any, shop: Any, lines: dict[str, int], coupon: str | None = None) -> str:
    order = new_order(api, shop, lines)
    if coupon:
        r = api.update("orders", order["id"], {"coupon_code": coupon})
        assert r.status == 200, r
    r = place(api, order["id"])
    assert r.status == 200, r
    return str(order["id"])


def single(api: Any, source_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    r = copy(api, source_id, attributes={"place_target_order": False})
    assert r.status == 201, r
    run_job(r.data["id"])
    return copied(api, r.data["id"])


def rendered(api: Any, order_id: str) -> dict[str, Any]:
    """The target order as GET renders it, with its lines, shipments and addresses: (type, attributes) of
    each, in a stable order."""
    r = api.get(f"orders/{order_id}", {"include": INCLUDED})
    assert r.status == 200, r
    included = sorted(
        ((i["type"], i["attributes"]) for i in r.json["included"]),
        key=lambda pair: (
            pair[0],
            pair[1].get("item_type") or "",
            pair[1].get("sku_code") or "",
            str(pair[1]),
        ),
    )
    return {"order": r.data["attributes"], "included": included}


def differences(a: Any, b: Any, path: str = "") -> set[str]:
    """The paths where two rendered documents differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {p for k in a.keys() | b.keys() for p in differences(a.get(k), b.get(k), f"{path}/{k}")}
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return {
            p for i, (x, y) in enumerate(zip(a, b, strict=True)) for p in differences(x, y, f"{path}/{i}")
        }
    return set() if a == b else {path}


def ending(factory: dict[str, Any]) -> dict[str, Any]:
    attrs = factory["attributes"]
    return {k: attrs[k] for k in ("status", "errors_log", "errors_count", "errors_details")}


def batch_of(api: Any, sources: list[str]) -> str:
    r = create(api, source_order_ids=sources, place_target_order=False)
    assert r.status == 201, r
    drain()
    return str(r.data["id"])


def copies_by_source(api: Any, batch_id: str) -> dict[str, OrderFactory]:
    with scope.active(api.scope()):
        return {f.source_order_id: f for f in OrderFactory.objects.filter(order_copy_batch_id=batch_id)}


def test_a_group_makes_what_single_copies_make(api, shop):
    with scope.active(api.scope()):
        _promotion(10, "SPRING")
    sources = [
        placed(api, shop, {"TSHIRT": 2, "MUG": 1}),
        placed(api, shop, {"MUG": 3}),
        placed(api, shop, {"TSHIRT": 1}, coupon="SPRING"),
    ]
    # What two single copies of one source share is what a copy of it is; the rest (ids, times, numbers)
    # is each copy's own.
    firsts = {s: single(api, s) for s in sources}
    seconds = {s: single(api, s) for s in sources}
    own = set().union(
        *(differences(rendered(api, firsts[s][1]["id"]), rendered(api, seconds[s][1]["id"])) for s in sources)
    )
    assert own and not any("amount" in path or "sku_code" in path for path in own), own

    batch_id = batch_of(api, sources)
    made = copies_by_source(api, batch_id)
    assert len({f.claimed_by for f in made.values()}) == 1  # one group made them all
    for source in sources:
        factory, target = copied(api, made[source].pk)
        assert ending(factory) == ending(firsts[source][0])
        assert target is not None
        assert differences(rendered(api, target["id"]), rendered(api, firsts[source][1]["id"])) <= own
        events = api.get(f"order_copies/{made[source].pk}/events").data
        single_events = api.get(f"order_copies/{firsts[source][0]['id']}/events").data
        assert sorted(e["attributes"]["name"] for e in events) == sorted(
            e["attributes"]["name"] for e in single_events
        )
    assert api.get(f"order_copy_batches/{batch_id}").data["attributes"]["status"] == "completed"


def sources_one_with_an_expired_coupon(api: Any, shop: Any) -> list[str]:
    """Three placed orders; the second's coupon (SPRING) has expired since, so a copy of it is refused."""
    with scope.active(api.scope()):
        _, coupon = _promotion(10, "SPRING")
    sources = [
        placed(api, shop, {"TSHIRT": 2}),
        placed(api, shop, {"TSHIRT": 1}, coupon="SPRING"),
        placed(api, shop, {"MUG": 1}),
    ]
    with scope.active(api.scope()):
        Coupon.objects.filter(pk=coupon.pk).update(expires_at=clock.now() - dt.timedelta(minutes=1))
    return sources


def test_a_source_refused_by_its_checks_fails_alone_and_its_group_completes(api, shop):
    sources = sources_one_with_an_expired_coupon(api, shop)
    with scope.active(api.scope()):
        orders_before = Order.objects.count()
    batch_id = batch_of(api, sources)
    made = copies_by_source(api, batch_id)
    assert len({f.claimed_by for f in made.values()}) == 1  # in one group
    refused, target = copied(api, made[sources[1]].pk)
    assert refused["attributes"]["status"] == "failed" and target is None
    assert refused["attributes"]["errors_log"] == {"coupon_code": ["coupon 'SPRING' has expired"]}
    assert [d["code"] for d in refused["attributes"]["errors_details"]] == ["expired"]
    for source in (sources[0], sources[2]):
        factory, target = copied(api, made[source].pk)
        assert factory["attributes"]["status"] == "completed" and target is not None
    with scope.active(api.scope()):
        assert Order.objects.count() == orders_before + 2  # nothing of the refused copy was written
    attrs = api.get(f"order_copy_batches/{batch_id}").data["attributes"]
    assert (attrs["status"], attrs["completed_count"], attrs["failed_count"]) == ("failed", 2, 1)


def test_a_group_whose_writes_are_refused_runs_its_copies_alone(api, shop, monkeypatch):
    sources = [placed(api, shop, {"TSHIRT": 1}) for _ in range(3)]
    real_build = groups.build_target

    def dangling(factory: Any, notes: Any) -> Any:
        target = real_build(factory, notes)
        if factory.source_order_id == sources[1]:
            target.id = factory.source_order_id  # an order that exists: refused when the group writes it
        return target

    monkeypatch.setattr(groups, "build_target", dangling)
    batch_id = batch_of(api, sources)
    made = copies_by_source(api, batch_id)
    assert len({f.claimed_by for f in made.values()}) == 3  # each alone, after the group rolled back
    assert {f.status for f in made.values()} == {"completed"}
    assert {f.attempts for f in made.values()} == {1}
    with scope.active(api.scope()):
        assert Order.objects.filter(order_factory__order_copy_batch_id=batch_id).count() == 3
    attrs = api.get(f"order_copy_batches/{batch_id}").data["attributes"]
    assert (attrs["status"], attrs["completed_count"]) == ("completed", 3)


def _statements_of_a_group(api: Any, shop: Any, size: int) -> list[str]:
    sources = [placed(api, shop, {"TSHIRT": 2, "MUG": 1}) for _ in range(size)]
    r = create(api, source_order_ids=sources, place_target_order=False)
    assert r.status == 201, r
    drain(copies=False)
    [group] = jobs(queue.RUN_ORDER_COPY_GROUP)
    group.delete()
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        assert groups.run(group.args_kwargs["args"][0]) == size
    return [q["sql"] for q in captured]


def test_a_group_costs_the_same_queries_whatever_its_number_of_copies(api, shop, monkeypatch):
    monkeypatch.setattr(batches, "GROUP", 50)
    measured = {size: len(_statements_of_a_group(api, shop, size)) for size in (2, 8)}
    print(f"queries per group: {measured}")
    assert measured[2] == measured[8], measured
    # Pinned (both databases; statements, BEGIN and SAVEPOINT included): a change here is a change in what a
    # group costs, to make on purpose.
    # The copies' claims written first, with their trail, their ``.start`` events and the webhook lookup (so
    # a ``.start`` payload shows the copy in progress: 4).
    # The group's scope; its claim, the sources' lines, chosen methods and wallet entries, its batch cancelled
    # or not; the market's stock locations and stock; the batch counted (its row locked and read, then its
    # three deferred columns read by its ending's audit trail); one INSERT per table of the targets (addresses,
    # shipments, lines, orders), one UPDATE of the copies and one of the batch; the audit trail, the events
    # and the webhook lookup; the savepoint around it.
    assert measured[2] == 28, measured


def test_a_copy_that_writes_directly_runs_its_group_alone(api, shop, monkeypatch):
    sources = [placed(api, shop, {"TSHIRT": 1}) for _ in range(2)]
    real_build = groups.build_target

    def writes_directly(factory: Any, notes: Any) -> Any:
        target = real_build(factory, notes)
        if factory.source_order_id == sources[0]:
            # a write that does not wait for the group's end (it could touch a row the group holds)
            Order.objects.filter(pk=factory.source_order_id).update(reference="touched")
        return target

    monkeypatch.setattr(groups, "build_target", writes_directly)
    batch_id = batch_of(api, sources)
    made = copies_by_source(api, batch_id)
    assert len({f.claimed_by for f in made.values()}) == 2  # each alone, after the group rolled back
    assert {f.status for f in made.values()} == {"completed"}
    with scope.active(api.scope()):
        assert Order.objects.filter(order_factory__order_copy_batch_id=batch_id).count() == 2
        assert Order.objects.get(pk=sources[0]).reference is None  # the group's write rolled back
