"""The rules a subscription keeps whatever changes it: its status transitions, its dates, and its retry and
missed-run policy (its own value, else its subscription model's, else the default)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from orderfactory import config
from orderfactory.core.errors import CommonErrorCode, DomainError, Problem, problem
from orderfactory.subscriptions.models import OrderSubscription

# Runs whose time passed longer ago than this when the scheduler finds them are missed (missed_runs_policy).
MISSED_GRACE = dt.timedelta(seconds=config.number("ORDERFACTORY_MISSED_RUN_GRACE_SECONDS", 900))
DEFAULT_POLICY = {
    "payment_retry_attempts": 3,
    "stock_retry_attempts": 2,
    "retry_backoff_hours": 24.0,
    "after_retries": "skip",
    "missed_runs_policy": "run_once",
}
TRANSITIONS = {
    "_activate": (("draft", "inactive"), "active"),
    "_deactivate": (("active", "running"), "inactive"),
    "_cancel": (("draft", "inactive", "active", "running"), "cancelled"),
}


def policy(subscription: OrderSubscription, name: str) -> Any:
    """The subscription's own value, else its subscription model's, else the default."""
    value = getattr(subscription, name)
    if value is None and subscription.subscription_model_id:
        value = getattr(subscription.subscription_model, name)
    return DEFAULT_POLICY[name] if value is None else value


def transition_error(current: str, target: str) -> DomainError:
    return DomainError.of(
        CommonErrorCode.TRANSITION, "status", f"cannot transition from {current} to {target}"
    )


def no_subscription_model() -> DomainError:
    """The market makes no subscriptions of line items: it has no subscription model."""
    return DomainError.of(
        CommonErrorCode.BLANK, "market", "has no subscription model", pointer="/data/relationships/market"
    )


def dates_problems(subscription: OrderSubscription) -> list[Problem]:
    if (
        subscription.expires_at
        and subscription.starts_at
        and subscription.expires_at <= subscription.starts_at
    ):
        return [
            problem(
                "expires_at",
                "must be after starts_at",
                CommonErrorCode.GREATER_THAN,
                value=subscription.expires_at.isoformat(),
            )
        ]
    if not 1 <= (subscription.renewal_alert_period or 0) <= 720:
        return [
            problem(
                "renewal_alert_period",
                "must be between 1 and 720",
                CommonErrorCode.INCLUSION,
                value=subscription.renewal_alert_period,
            )
        ]
    return []
