"""`orderfactory serve` embeds the scheduler: its ticker starts due runs by itself."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection

from orderfactory import worker
from orderfactory.core import clock, scope
from orderfactory.subscriptions.models import OrderSubscription, SubscriptionRun
from orderfactory.subscriptions.services import tick
from tests.orders.conftest import build_shop, new_order, place
from tests.subscriptions.conftest import subscribe


def test_serve_embeds_the_scheduler_and_workers_do_not():
    assert tick in [job for job, _ in worker.periodic_jobs(scheduler=True)]
    assert tick not in [job for job, _ in worker.periodic_jobs(scheduler=False)]


@pytest.mark.django_db(transaction=True)
def test_the_ticker_starts_due_runs(make_api):
    api = make_api()
    shop = build_shop(api, skus={"TSHIRT": (1500, {"milan": 50})})
    order = new_order(api, shop, {"TSHIRT": 1})
    api.update("orders", order["id"], {"_save_payment_source_to_customer_wallet": True})
    assert place(api, order["id"]).status == 200
    sub = subscribe(api, order["id"]).data
    with scope.active(api.scope()):
        due = clock.now() - dt.timedelta(minutes=1)
        OrderSubscription.objects.filter(pk=sub["id"]).update(next_run_at=due, anchor_at=due)
    ticker = worker._Ticker([(tick, 0.2)])
    ticker.start()
    try:
        deadline = time.monotonic() + 20
        while not SubscriptionRun.unscoped.filter(order_subscription_id=sub["id"]).exists():
            assert time.monotonic() < deadline, "the embedded scheduler started no run"
            time.sleep(0.1)
    finally:
        ticker.stop()
        ticker.join(10)
        connection.close()
    assert SubscriptionRun.unscoped.filter(order_subscription_id=sub["id"]).count() == 1
