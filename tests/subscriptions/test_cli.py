"""``orderfactory scheduler --once``, as cron or an operator runs it: one tick, then exit 0."""

from __future__ import annotations

import datetime as dt
import signal
from collections.abc import Iterator

import pytest

from orderfactory import cli
from orderfactory.core import clock, scope
from orderfactory.factories.models import OrderFactory
from orderfactory.subscriptions.models import SubscriptionRun
from tests.subscriptions.conftest import parse, run_pending_factories, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _signal_handlers() -> Iterator[None]:
    """The scheduler installs its own SIGINT/SIGTERM handlers; give pytest its own back."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, handler in handlers.items():
        signal.signal(s, handler)


def scheduler_once(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """The exit code and what the operator reads on stderr (``django.setup()`` configures the logging anew,
    to the stderr of the moment, so the log is read there)."""
    capsys.readouterr()
    code = cli.main(["scheduler", "--once"])
    return code, capsys.readouterr().err.splitlines()


def test_scheduler_once_starts_the_due_runs_and_exits_0(api, placed_order, capsys):
    due = subscribe(api, placed_order["id"], frequency="hourly").data
    later = subscribe(api, placed_order["id"], frequency="daily").data
    first = parse(due["attributes"]["next_run_at"])

    with clock.frozen(first + dt.timedelta(minutes=1)):
        assert scheduler_once(capsys) == (
            0,
            ["scheduler tick: {'runs': 1, 'skipped': 0, 'retries': 0, 'alerts': 1}"],
        )
        with scope.active(api.scope()):
            runs = list(
                SubscriptionRun.objects.values_list("order_subscription_id", "scheduled_at", "status")
            )
            assert runs == [(due["id"], first, "running")]
            assert list(OrderFactory.objects.values_list("order_subscription_id", "status")) == [
                (due["id"], "pending")
            ]
        assert api.get(f"order_subscriptions/{due['id']}").data["attributes"]["status"] == "running"
        assert api.get(f"order_subscriptions/{later['id']}").data["attributes"]["status"] == "active"

        # Nothing is due any more: the next tick starts nothing and logs nothing.
        assert scheduler_once(capsys) == (0, [])
        with scope.active(api.scope()):
            assert SubscriptionRun.objects.count() == 1
        assert run_pending_factories() == ["completed"]

    a = api.get(f"order_subscriptions/{due['id']}").data["attributes"]
    assert (a["status"], a["occurrencies"], parse(a["next_run_at"])) == (
        "active",
        1,
        first + dt.timedelta(hours=1),
    )
