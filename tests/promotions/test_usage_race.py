"""Two placements race for a coupon's last use: exactly one counts it."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection, connections, transaction

from orderfactory.core import scope as scopes
from orderfactory.promotions.models import Coupon, CouponCodesPromotionRule, Promotion
from orderfactory.promotions.services import CouponInvalid, check_coupon, count_usage

T0 = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


@pytest.mark.django_db(transaction=True)
def test_two_placements_race_for_the_last_use(api: Any) -> None:
    scope = api.scope()
    with scopes.active(scope):
        promotion = Promotion.objects.create(
            name="Last one", percentage=10, starts_at=T0, expires_at=T0 + dt.timedelta(days=1)
        )
        rule = CouponCodesPromotionRule.objects.create(promotion=promotion)
        coupon = Coupon.objects.create(promotion_rule=rule, code="LASTONE1", usage_limit=1)

    # On PostgreSQL both placements read the coupon as still usable before either counts it, so only the
    # conditional UPDATE can tell them apart. SQLite takes its write lock when the transaction begins
    # (transaction_mode IMMEDIATE): the placements can only meet before it, and the second one queues.
    meet_after_reading = connection.vendor == "postgresql"
    both_ready = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []

    def place() -> None:
        try:
            with scopes.active(scope):
                if not meet_after_reading:
                    both_ready.wait()
                with transaction.atomic():
                    check_coupon("LASTONE1", market_id=None, at=T0 + dt.timedelta(hours=1))
                    if meet_after_reading:
                        both_ready.wait()
                    count_usage(promotion_ids=[promotion.pk], coupon_id=coupon.pk)
            outcomes.append("counted")
        except CouponInvalid as invalid:
            outcomes.append(invalid.reason)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=place) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["counted", "exhausted"]
    with scopes.active(scope):
        assert Coupon.objects.get().usage_count == 1
        assert Promotion.objects.get().total_usage_count == 1
