"""Order subscriptions through the API, with the scheduler driven by an injected clock."""

from __future__ import annotations

import datetime as dt

from orderfactory.core import clock, scope
from orderfactory.events.models import Event
from orderfactory.inventory.models import StockItem
from orderfactory.orders.models import Order
from orderfactory.subscriptions.models import OrderSubscription, SubscriptionRun
from tests.conftest import document
from tests.orders.conftest import new_order
from tests.subscriptions.conftest import parse, run_pending_factories, subscribe, tick

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def _sub(api, sid):
    return api.get(f"order_subscriptions/{sid}").data["attributes"]


def _runs(sid):
    return list(SubscriptionRun.unscoped.filter(order_subscription_id=sid).order_by("scheduled_at"))


def test_manual_subscription_is_active_and_scheduled_from_now(api, placed_order):
    r = subscribe(api, placed_order["id"], frequency="weekly", reference="SUB-1")
    assert r.status == 201, r
    a = r.data["attributes"]
    assert a["status"] == "active" and a["frequency"] == "weekly"
    assert a["customer_email"] == "ada@example.com"
    assert a["occurrencies"] == 0 and a["errors_count"] == 0
    next_run = parse(a["next_run_at"])
    assert dt.timedelta(days=6, hours=23) < next_run - clock.now() <= dt.timedelta(days=7)


def test_invalid_subscriptions_are_422_with_pointers(api, shop, placed_order):
    for frequency in ["every day", "*/10 * * * *", "* * * * *"]:
        r = subscribe(api, placed_order["id"], frequency=frequency)
        assert r.status == 422 and r.json["errors"][0]["source"]["pointer"] == "/data/attributes/frequency", r
    pending = new_order(api, shop, {"MUG": 1})
    r = subscribe(api, pending["id"])
    assert r.status == 422 and r.json["errors"][0]["source"]["pointer"] == "/data/relationships/source_order"
    r = subscribe(api, placed_order["id"], activate_by_source_order=False)
    assert r.status == 422 and r.json["errors"][0]["source"]["pointer"] == "/data/attributes/starts_at"
    starts = clock.now() + DAY
    r = subscribe(
        api,
        placed_order["id"],
        starts_at=starts.isoformat(),
        expires_at=(starts - HOUR).isoformat(),
        activate_by_source_order=False,
    )
    assert r.status == 422 and r.json["errors"][0]["source"]["pointer"] == "/data/attributes/expires_at"
    r = api.post("order_subscriptions", document("order_subscriptions", {"frequency": "daily"}))
    assert r.status == 422 and r.json["errors"][0]["source"]["pointer"] == "/data/relationships/source_order"


def test_a_run_copies_and_places_the_source_once(api, placed_order):
    sub = subscribe(api, placed_order["id"]).data
    first = parse(sub["attributes"]["next_run_at"])
    with clock.frozen(first + dt.timedelta(minutes=1)):
        assert tick()["runs"] == 1
        assert tick()["runs"] == 0  # a second tick starts nothing
        assert _sub(api, sub["id"])["status"] == "running"
        assert run_pending_factories() == ["completed"]
        a = _sub(api, sub["id"])
    assert a["status"] == "active" and a["occurrencies"] == 1 and a["succeeded_on_last_run"] is True
    assert parse(a["next_run_at"]) == first + DAY
    copies = api.get(f"order_subscriptions/{sub['id']}/order_copies").data
    assert len(copies) == 1 and copies[0]["attributes"]["status"] == "completed"
    target = api.get(f"order_copies/{copies[0]['id']}/target_order").data
    assert target["attributes"]["status"] == "placed"
    runs = _runs(sub["id"])
    assert [(r.scheduled_at, r.status, r.attempts) for r in runs] == [(first, "succeeded", 1)]
    r = api.get(f"order_subscriptions/{sub['id']}/subscription_runs")
    assert r.data[0]["attributes"]["status"] == "succeeded"


def _out_of_stock_with_retries(api, placed_order):
    """A subscription retried twice on stock, 6 h apart, whose SKU is out of stock: (it, its first run)."""
    sub = subscribe(api, placed_order["id"]).data
    api.update("order_subscriptions", sub["id"], {"stock_retry_attempts": 2, "retry_backoff_hours": 6})
    with scope.active(api.scope()):
        StockItem.objects.filter(sku__code="TSHIRT").update(quantity=0)
    return sub, parse(sub["attributes"]["next_run_at"])


def test_stock_failure_is_retried_after_backoff_and_never_orders_twice(api, shop, placed_order):
    sub, first = _out_of_stock_with_retries(api, placed_order)
    with clock.frozen(first) as advance:
        tick()
        assert run_pending_factories() == ["failed"]
        run = _runs(sub["id"])[0]
        assert (
            run.status == "retrying"
            and run.failure_kind == "stock"
            and run.next_attempt_at == first + 6 * HOUR
        )
        assert _sub(api, sub["id"])["status"] == "active"
        advance(5 * HOUR)
        assert tick()["retries"] == 0
        advance(HOUR)
        assert tick()["retries"] == 1
        with scope.active(api.scope()):
            StockItem.objects.filter(sku__code="TSHIRT").update(quantity=10)
        assert run_pending_factories() == ["completed"]
        advance(24 * HOUR)
        tick()  # the next run starts; the succeeded one is not retried
        run = SubscriptionRun.unscoped.get(pk=run.pk)
    assert run.status == "succeeded" and run.attempts == 2
    copies = api.get(f"order_subscriptions/{sub['id']}/order_copies", {"sort": "created_at"}).data
    assert [c["attributes"]["status"] for c in copies[:2]] == ["failed", "completed"]
    with scope.active(api.scope()):
        placed = Order.objects.filter(status="placed").exclude(pk=placed_order["id"]).count()
    assert placed == 1


def test_every_failed_attempt_shows_in_the_commerce_layer_counters(api, placed_order):
    """A Commerce Layer client reads a subscription's health from errors_count, succeeded_on_last_run and
    last_run_at: a failed attempt counts at once, whether or not it will be retried; the retry itself is
    described by the run (subscription_runs, our extension)."""
    sub, first = _out_of_stock_with_retries(api, placed_order)
    with clock.frozen(first) as advance:
        tick()
        assert run_pending_factories() == ["failed"]
        a = _sub(api, sub["id"])
        assert (a["errors_count"], a["succeeded_on_last_run"], parse(a["last_run_at"])) == (1, False, first)
        assert a["status"] == "active" and a["occurrencies"] == 0
        run = api.get(f"order_subscriptions/{sub['id']}/subscription_runs").data[0]["attributes"]
        assert run["status"] == "retrying" and parse(run["next_attempt_at"]) == first + 6 * HOUR
        advance(6 * HOUR)
        assert tick()["retries"] == 1
        assert run_pending_factories() == ["failed"]
        a = _sub(api, sub["id"])
        assert (a["errors_count"], a["succeeded_on_last_run"]) == (2, False)
        assert parse(a["last_run_at"]) == first + 6 * HOUR
        with scope.active(api.scope()):
            StockItem.objects.filter(sku__code="TSHIRT").update(quantity=10)
        advance(12 * HOUR)
        assert tick()["retries"] == 1
        assert run_pending_factories() == ["completed"]
        a = _sub(api, sub["id"])
    assert (a["errors_count"], a["succeeded_on_last_run"], a["occurrencies"]) == (2, True, 1)
    assert parse(a["last_run_at"]) == first + 18 * HOUR


def test_after_the_last_attempt_the_subscription_is_deactivated(api, placed_order):
    sub = subscribe(api, placed_order["id"]).data
    api.update(
        "order_subscriptions",
        sub["id"],
        {"stock_retry_attempts": 1, "retry_backoff_hours": 1, "after_retries": "deactivate"},
    )
    first = parse(sub["attributes"]["next_run_at"])
    with scope.active(api.scope()):
        StockItem.objects.update(quantity=0)
    with clock.frozen(first) as advance:
        tick()
        run_pending_factories()
        advance(HOUR)
        tick()
        assert run_pending_factories() == ["failed"]
    a = _sub(api, sub["id"])
    # two failed attempts (the first and its one retry), each counted
    assert a["status"] == "inactive" and a["errors_count"] == 2 and a["succeeded_on_last_run"] is False
    assert _runs(sub["id"])[0].status == "failed"


def test_skip_and_unskip(api, placed_order):
    sub = subscribe(api, placed_order["id"]).data
    r = api.update("order_subscriptions", sub["id"], {"_skip": 2})
    assert r.status == 200 and r.data["attributes"]["skip_runs"] == 2
    first = parse(sub["attributes"]["next_run_at"])
    with clock.frozen(first) as advance:
        assert tick() == {"runs": 0, "skipped": 1, "retries": 0, "alerts": 0}
        advance(DAY)
        assert tick()["skipped"] == 1
        advance(DAY)
        assert tick()["runs"] == 1
    assert [r.status for r in _runs(sub["id"])] == ["skipped", "skipped", "running"]
    r = api.update("order_subscriptions", sub["id"], {"_skip": 1})
    assert r.data["attributes"]["skip_runs"] == 1
    assert (
        api.update("order_subscriptions", sub["id"], {"_unskip": True}).data["attributes"]["skip_runs"] == 0
    )


def test_skip_true_skips_the_next_run_and_a_repeated_skip_skips_no_more(api, placed_order):
    """``_skip: true`` (docs/compatibility.md) is ``_skip: 1``. ``_skip: N`` means "the next N runs are
    skipped": it sets the count to at least N, so a retried PATCH skips nothing more, ``_skip: 2`` after
    ``_skip: 1`` skips 2 runs (not 3), and a smaller N never unskips (``_unskip`` does)."""
    sub = subscribe(api, placed_order["id"]).data

    def skip(value):
        r = api.update("order_subscriptions", sub["id"], {"_skip": value})
        assert r.status == 200, r
        return r.data["attributes"]["skip_runs"]

    assert skip(True) == 1
    assert skip(True) == 1  # the same request again: still the next run only
    assert skip(2) == 2
    assert skip(1) == 2
    assert skip(False) == 2 and skip(0) == 2
    first = parse(sub["attributes"]["next_run_at"])
    with clock.frozen(first) as advance:
        assert tick()["skipped"] == 1
        advance(DAY)
        assert tick()["skipped"] == 1
        advance(DAY)
        assert tick()["runs"] == 1
    assert [r.status for r in _runs(sub["id"])] == ["skipped", "skipped", "running"]
    for bad, status in (("two", 400), (1.5, 400), (-1, 422), (1001, 422)):
        r = api.update("order_subscriptions", sub["id"], {"_skip": bad})
        assert r.status == status and r.json["errors"][0]["source"]["pointer"] == "/data/attributes/_skip", r


def _pause_and_resume(api, placed_order, policy):
    sub = subscribe(api, placed_order["id"]).data
    first = parse(sub["attributes"]["next_run_at"])
    r = api.update(
        "order_subscriptions",
        sub["id"],
        {"missed_runs_policy": policy, "_pause_until": (first + 2 * DAY + HOUR).isoformat()},
    )
    assert r.status == 200, r
    with clock.frozen(first) as advance:
        assert tick()["runs"] == 0  # paused
        advance(2 * DAY + 2 * HOUR)  # the pause is over: runs at first, +1d, +2d fell in it
        counts = tick()
    return sub, counts


def test_missed_runs_policy_run_once(api, placed_order):
    sub, counts = _pause_and_resume(api, placed_order, "run_once")
    runs = _runs(sub["id"])
    assert counts["runs"] == 1 and [r.status for r in runs] == ["missed", "missed", "running"]
    assert all(r.missed and r.missed_runs_policy == "run_once" for r in runs)


def test_missed_runs_policy_run_all(api, placed_order):
    sub, counts = _pause_and_resume(api, placed_order, "run_all")
    assert counts["runs"] == 3 and [r.status for r in _runs(sub["id"])] == ["running"] * 3


def test_missed_runs_policy_skip(api, placed_order):
    sub, counts = _pause_and_resume(api, placed_order, "skip")
    assert counts["runs"] == 0 and [r.status for r in _runs(sub["id"])] == ["missed"] * 3


def test_an_outage_is_a_missed_run_too(api, placed_order):
    sub = subscribe(api, placed_order["id"], frequency="hourly").data
    first = parse(sub["attributes"]["next_run_at"])
    with clock.frozen(first + 5 * HOUR + dt.timedelta(minutes=1)):
        assert tick()["runs"] == 1
    runs = _runs(sub["id"])
    assert [r.status for r in runs] == ["missed"] * 5 + ["running"]
    assert parse(_sub(api, sub["id"])["next_run_at"]) == first + 6 * HOUR


def test_renewal_alert_fires_once_per_run(api, placed_order):
    sub = subscribe(api, placed_order["id"], renewal_alert_period=3).data
    first = parse(sub["attributes"]["next_run_at"])
    with clock.frozen(first - 4 * HOUR) as advance:
        assert tick()["alerts"] == 0
        advance(2 * HOUR)
        assert tick()["alerts"] == 1
        assert tick()["alerts"] == 0
    with scope.active(api.scope()):
        assert (
            Event.objects.filter(name="order_subscriptions.renewal_alert", resource_id=sub["id"]).count() == 1
        )
    r = api.get(
        f"order_subscriptions/{sub['id']}/events", {"filter[q][name_eq]": "order_subscriptions.renewal_alert"}
    )
    assert r.status == 200 and len(r.data) == 1


def test_expiry_stops_the_runs(api, placed_order):
    sub = subscribe(api, placed_order["id"]).data
    first = parse(sub["attributes"]["next_run_at"])
    api.update("order_subscriptions", sub["id"], {"expires_at": (first + HOUR).isoformat()})
    with clock.frozen(first):
        assert tick()["runs"] == 1
        run_pending_factories()
    a = _sub(api, sub["id"])
    assert a["next_run_at"] is None and a["status"] == "inactive" and a["occurrencies"] == 1


def test_transitions(api, placed_order):
    sub = subscribe(api, placed_order["id"]).data
    r = api.update("order_subscriptions", sub["id"], {"_deactivate": True})
    assert r.data["attributes"]["status"] == "inactive"
    r = api.update("order_subscriptions", sub["id"], {"_deactivate": True})
    assert r.status == 422 and r.json["errors"][0]["source"]["pointer"] == "/data/attributes/status"
    assert "cannot transition from inactive to inactive" in r.json["errors"][0]["title"]
    assert (
        api.update("order_subscriptions", sub["id"], {"_activate": True}).data["attributes"]["status"]
        == "active"
    )
    assert (
        api.update("order_subscriptions", sub["id"], {"_cancel": True}).data["attributes"]["status"]
        == "cancelled"
    )
    r = api.update("order_subscriptions", sub["id"], {"_activate": True})
    assert r.status == 422


def test_next_run_at_only_takes_future_values(api, placed_order):
    sub = subscribe(api, placed_order["id"]).data
    r = api.update("order_subscriptions", sub["id"], {"next_run_at": (clock.now() - HOUR).isoformat()})
    assert r.status == 422 and r.json["errors"][0]["source"]["pointer"] == "/data/attributes/next_run_at"
    later = (clock.now() + 3 * DAY).replace(microsecond=0)
    r = api.update("order_subscriptions", sub["id"], {"next_run_at": later.isoformat()})
    assert parse(r.data["attributes"]["next_run_at"]) == later


def test_preview(api, shop, placed_order):
    sub = subscribe(api, placed_order["id"]).data
    first = parse(sub["attributes"]["next_run_at"])
    with scope.active(api.scope()):
        StockItem.objects.filter(sku__code="TSHIRT").update(quantity=1)
    r = api.get(f"order_subscriptions/{sub['id']}/preview", {"count": "3"})
    assert r.status == 200, r
    runs = [d["attributes"] for d in r.data]
    assert [parse(x["scheduled_at"]) for x in runs] == [first, first + DAY, first + 2 * DAY]
    assert runs[0]["subtotal_amount_cents"] == 3000 and runs[0]["formatted_subtotal_amount"] == "€30,00"
    assert runs[0]["out_of_stock_skus"] == ["TSHIRT"]
    assert api.get(f"order_subscriptions/{sub['id']}/preview", {"count": "0"}).status == 400
    assert api.get(f"order_subscriptions/{sub['id']}/preview", {"count": "abc"}).status == 400


def test_subscriptions_of_other_tenants_are_invisible(api, other_org, placed_order):
    sub = subscribe(api, placed_order["id"]).data
    assert other_org.get(f"order_subscriptions/{sub['id']}").status == 404
    assert other_org.get(f"order_subscriptions/{sub['id']}/preview").status == 404
    assert OrderSubscription.unscoped.count() == 1


def test_failed_attempts_carry_stable_codes_and_whether_they_are_retryable(api, placed_order):
    sub = subscribe(api, placed_order["id"]).data
    first = parse(sub["attributes"]["next_run_at"])
    with scope.active(api.scope()):
        StockItem.objects.filter(sku__code="TSHIRT").update(quantity=0)
    with clock.frozen(first):
        tick()
        run_pending_factories()
    [copy] = api.get(f"order_subscriptions/{sub['id']}/order_copies").data
    a = copy["attributes"]
    assert a["status"] == "failed" and "line_items" in a["errors_log"]
    [detail] = [d for d in a["errors_details"] if d["attribute"] == "line_items"]
    assert detail["code"] == "out_of_stock" and detail["retryable"] is True
    assert detail["message"] in a["errors_log"]["line_items"]


def testrenewal_alerts_are_not_crowded_out_by_subscriptions_whose_window_is_closed(api, placed_order):
    from orderfactory.subscriptions import services

    late = subscribe(api, placed_order["id"], frequency="weekly", renewal_alert_period=96).data
    for _ in range(3):
        subscribe(api, placed_order["id"], renewal_alert_period=1)
    first = parse(late["attributes"]["next_run_at"])
    with clock.frozen(first - 95 * HOUR):
        # one candidate at a time: the three daily subscriptions (earlier runs, windows still closed) must not
        # take the place of the weekly one, whose 96-hour window is open
        assert services.renewal_alerts(clock.now(), batch=1) == 1


def test_a_run_costs_a_pinned_number_of_queries(api, placed_order):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from orderfactory.factories import services as factories
    from orderfactory.factories.models import OrderFactory

    sub = subscribe(api, placed_order["id"]).data
    with clock.frozen(parse(sub["attributes"]["next_run_at"]) + dt.timedelta(minutes=1)):
        assert tick()["runs"] == 1
        [factory_id] = OrderFactory.unscoped.filter(status="pending").values_list("pk", flat=True)
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            assert factories.run(factory_id) == "completed"
    # Copy, place, then record the run on the subscription, which follows the factory's ending event (pinned
    # on both databases, statements, BEGIN and SAVEPOINT included). 63: it was 66 while the subscription's
    # audit row and event were written apart from the factory's, not in the same batch. 67 since placing writes
    # the order's authorization (issue 13): its insert, audit row, event and webhook lookup.
    print(f"queries of a subscription run: {len(captured)}")
    assert len(captured) == 67
    assert _runs(sub["id"])[0].status == "succeeded"
