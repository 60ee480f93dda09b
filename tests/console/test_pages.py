"""What each console page shows, read with Django's test client as a signed-in operator."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from orderfactory.core import clock, scope
from orderfactory.factories.models import OrderFactory
from orderfactory.subscriptions.models import OrderSubscription
from tests.console.conftest import failed_renewal, failing_webhook, set_stock
from tests.subscriptions.conftest import subscribe


def text_of(html: str) -> str:
    """The page's text with tags dropped and spaces collapsed, as a reader sees it."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_every_page_answers_with_the_security_headers(api, admin, renewal):
    webhook, _ = failing_webhook(api)
    pages = [
        "/console/",
        "/console/copies/",
        f"/console/copies/{renewal.failed_copy.pk}",
        "/console/subscriptions/",
        f"/console/subscriptions/{renewal.subscription.pk}",
        "/console/orders/",
        f"/console/orders/{renewal.order['id']}",
        "/console/applications/",
        "/console/webhooks/",
        f"/console/webhooks/{webhook.pk}",
    ]
    for path in pages:
        response = admin.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert response["X-Frame-Options"] == "DENY"
        assert response["Cache-Control"] == "no-store"
        assert 'lang="en"' in response.content.decode()


def test_an_operator_not_signed_in_is_sent_to_the_sign_in_page(client, db):
    response = client.get("/console/copies/?status=failed")
    assert response.status_code == 302
    assert response["Location"] == "/console/login?next=%2Fconsole%2Fcopies%2F%3Fstatus%3Dfailed"


def test_the_overview_shows_health_at_a_glance(api, support, renewal):
    failing_webhook(api, name="erp-sync")
    # two more subscriptions, due in a day; one skips its next run
    due = [subscribe(api, renewal.order["id"]).data for _ in range(2)]
    assert api.update("order_subscriptions", due[1]["id"], {"_skip": 1}).status == 200
    page = text_of(support.text("/console/"))
    # the renewal that failed, and its subscription failing its run (it waits for a retry)
    assert "Recent failed copies" in page and renewal.failed_copy.pk in page and "out_of_stock" in page
    assert f"{renewal.subscription.number} ada@example.com · active retrying" in page
    # renewals due in 24 hours: the three subscriptions' next runs, 2 TSHIRT at €15,00 for each of the two
    # that run; TSHIRT is out of stock
    assert "3 due, projected total €60,00" in page
    assert f"{due[0]['attributes']['number']} " in page and "out of stock: TSHIRT" in page
    assert f"{due[1]['attributes']['number']} " in page and "skipped" in page
    assert "erp-sync orders.place · 10 failures in a row" in page


def test_the_chart_counts_copies_per_hour_by_outcome_without_javascript(api, support, renewal):
    now = clock.now()
    with scope.active(api.scope()):
        source = renewal.failed_copy.source_order_id
        for hours_ago, status in [(1, "completed"), (1, "completed"), (30, "failed"), (30, "aborted")]:
            at = now - dt.timedelta(hours=hours_ago)
            OrderFactory.objects.create(
                type="order_copies",
                source_order_id=source,
                status=status,
                completed_at=at if status == "completed" else None,
                failed_at=None if status == "completed" else at,
            )
        # ended more than 7 days ago: not counted
        OrderFactory.objects.create(
            type="order_copies",
            source_order_id=source,
            status="completed",
            completed_at=now - dt.timedelta(days=8),
        )
    html = support.text("/console/")
    page = text_of(html)
    # renewal.failed_copy failed a minute or two from now: it is the current hour's
    assert "2 completed 2 failed 1 aborted" in page
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert svg.count('class="completed"') == 1 and svg.count('class="failed"') == 2
    assert svg.count('class="aborted"') == 1
    assert re.search(r"<title>\w{3} \d\d \w{3} \d\d:00 UTC: 2 completed, 0 failed, 0 aborted</title>", svg)
    assert 'role="img"' in svg and "<desc" in svg  # described for screen readers, tabulated below
    assert "Daily counts" in page


def test_the_overview_runs_a_pinned_number_of_queries(api, support, renewal, django_assert_num_queries):
    failing_webhook(api)
    for _ in range(3):
        subscribe(api, renewal.order["id"])
    support.get("/console/")  # the session's first save is not the overview's
    # the session (1) and the operator with its organization (1); the chart (1); the renewals due (1) and
    # their projections: the source orders' lines, the markets, the prices, the stock locations, the stock (5);
    # the failing subscriptions and their count (2); the recent failures (1); the open circuits (1)
    with django_assert_num_queries(13):
        assert support.get("/console/").status_code == 200


def test_copies_are_listed_and_filtered(api, make_api, support, renewal):
    other = failed_renewal(
        make_api(organization="globex"), email="bob@example.com"
    )  # another organization's: never listed
    assert other.failed_copy.pk not in support.text("/console/copies/")
    page = support.text("/console/copies/")
    assert renewal.failed_copy.pk in page
    assert renewal.failed_copy.pk in support.text("/console/copies/", {"status": "failed"})
    assert renewal.failed_copy.pk not in support.text("/console/copies/", {"status": "completed"})
    with scope.active(api.scope()):
        recurring = OrderFactory.objects.create(
            type="recurring_order_copies",
            source_order_id=renewal.order["id"],
            order_subscription_id=renewal.subscription.pk,
        )
    assert renewal.failed_copy.pk in support.text("/console/copies/", {"kind": "order_copies"})
    assert recurring.pk not in support.text("/console/copies/", {"kind": "order_copies"})
    listed = text_of(support.text("/console/copies/", {"kind": "recurring_order_copies"}))
    assert f"{recurring.pk} Recurring order copy pending" in listed and renewal.failed_copy.pk not in listed
    assert renewal.failed_copy.pk in support.text("/console/copies/", {"email": "ADA@example.com"})
    assert renewal.failed_copy.pk not in support.text("/console/copies/", {"email": "bob@example.com"})
    today = clock.now().date()
    assert renewal.failed_copy.pk in support.text("/console/copies/", {"since": today, "until": today})
    assert renewal.failed_copy.pk not in support.text(
        "/console/copies/", {"until": today - dt.timedelta(days=1)}
    )
    assert support.get("/console/copies/", {"status": "bogus"}).status_code == 400


def test_copies_are_paginated(api, support, renewal):
    with scope.active(api.scope()):
        for _ in range(30):
            OrderFactory.objects.create(type="order_copies", source_order_id=renewal.order["id"])
    first = text_of(support.text("/console/copies/", {"status": "pending"}))
    assert "Page 1 of 2 (30 in all)" in first and "Next" in first
    second = support.text("/console/copies/", {"status": "pending", "page": "2"})
    assert "Page 2 of 2" in text_of(second) and 'href="?status=pending&amp;page=1"' in second


def test_a_copy_page_shows_orders_options_coded_errors_and_history(support, renewal):
    copy = renewal.failed_copy
    page = text_of(support.text(f"/console/copies/{copy.pk}"))
    assert f"Order copy {copy.pk} failed" in page
    assert renewal.order["attributes"]["number"] in page  # the source order
    assert f"{renewal.subscription.number} , run of" in page and "(retrying, attempt: 1)" in page
    assert "Place the target order yes" in page and "Reuse the wallet yes" in page
    [detail] = [d for d in copy.errors_details if d["attribute"] == "line_items"]
    assert f"line_items {detail['message']} out_of_stock retryable" in page
    # the history, from the event stores and the events: created by the scheduler, then started and failed
    assert "create by worker scheduler" in page
    assert "order_copies.start" in page and "order_copies.fail" in page
    assert "status : in_progress → failed" in page and "place_target_order : null → true" in page
    assert "order_copies.update" not in page  # the trail says it already


def test_a_subscription_page_shows_items_preview_and_runs(api, support, renewal):
    sub = renewal.subscription
    set_stock(api, "TSHIRT", 1)
    page = text_of(support.text(f"/console/subscriptions/{sub.pk}"))
    assert f"Subscription {sub.number} active" in page
    assert "Frequency daily" in page and "manual: runs copy the source order" in page
    assert "TSHIRT 2 €15,00" in page  # the item, at its price when subscribed
    # the preview: six runs a day apart, each projected at €30,00, TSHIRT short today
    assert page.count("runs €30,00 TSHIRT —") == 6
    # the run history: the failed attempt, retried later
    assert "retrying (stock)" in page and "#1 failed" in page


def test_subscriptions_are_found_by_number_or_email(api, make_api, support, renewal):
    number = renewal.subscription.number
    assert number in support.text("/console/subscriptions/", {"q": number})
    assert number in support.text("/console/subscriptions/", {"q": "ADA@EXAMPLE"})
    assert number not in support.text("/console/subscriptions/", {"q": "nobody@example.com"})
    assert number in support.text("/console/subscriptions/", {"status": "active"})
    assert number not in support.text("/console/subscriptions/", {"status": "cancelled"})


def test_an_order_page_shows_lines_totals_addresses_payment_shipments_and_links(api, support, renewal):
    order_id = renewal.order["id"]
    page = text_of(support.text(f"/console/orders/{order_id}"))
    assert f"Order {renewal.order['attributes']['number']} placed" in page
    assert "TSHIRT skus 2 €15,00 €30,00" in page and "Shipment #1 shipments 1 €7,00 €7,00" in page
    assert "Subtotal €30,00 Shipping €7,00 Payment method €0,00 Discount €0,00 Total €37,00" in page
    assert "Via Roma 1" in page and "Via Verdi 2" in page
    assert "Status authorized Method Wire transfer Source wire transfers" in page
    assert "upcoming Standard from milan · €7,00" in page
    assert f"Copies of this order {renewal.failed_copy.pk} (failed)" in page
    assert f"Subscriptions from this order {renewal.subscription.number} (active)" in page
    # the target of the failed copy links back to it and to the subscription
    target = text_of(support.text(f"/console/orders/{renewal.failed_copy.target_order_id}"))
    assert f"Made by Order copy {renewal.failed_copy.pk} , a run of {renewal.subscription.number}" in target


def test_an_order_found_by_number_or_email(support, renewal):
    link = f'href="/console/orders/{renewal.order["id"]}"'
    assert link in support.text("/console/orders/", {"q": renewal.order["attributes"]["number"]})
    assert link in support.text("/console/orders/", {"q": "ada@"})
    assert link not in support.text("/console/orders/", {"q": "bob@"})


def test_webhook_pages_show_deliveries_and_failures(api, viewer):
    webhook, delivery = failing_webhook(api)
    listing = text_of(viewer.text("/console/webhooks/"))
    assert "erp orders.place https://erp.example.com/hooks open (10 failures) 0 1" in listing
    page = text_of(viewer.text(f"/console/webhooks/{webhook.pk}"))
    assert "circuit open" in page and "orders.place orders ORDERxxxxx failed 5" in page
    assert "Redeliver" not in page and "Reset the circuit" not in page  # a viewer looks only
    assert "No delivery" in text_of(viewer.text(f"/console/webhooks/{webhook.pk}", {"status": "delivered"}))


def assert_no_subscription_changed(api: Any, before: list[Any]) -> None:
    with scope.active(api.scope()):
        assert list(OrderSubscription.objects.order_by("id").values()) == before
