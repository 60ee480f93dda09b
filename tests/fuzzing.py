"""Schema-driven fuzzing of the API against its own OpenAPI document (``GET /openapi.json``) with Schemathesis,
shared by the bounded run of the suite (tests/test_fuzz.py) and the longer one of bench/fuzz.py.

Every operation of the document gets ``examples`` generated requests, valid ones and invalid ones, sent
in-process to the WSGI application with a real token. A generated ``{id}`` is replaced most of the time by
the id of a row of that type, and each relationship in a body by one of its target type, so GETs by id,
relationship endpoints, updates and creates reach real rows rather than 404s. Each answer must not be a 5xx
and must conform to the document: a documented status, content type and response schema. Failures are
collected, not raised, so Hypothesis spends no time shrinking them; the report says what failed and where.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderfactory.jsonapi import registry
from tests.conftest import Api, document
from tests.orders.conftest import build_shop, new_order, place

CHECKS: list[Any] = []


def _checks() -> list[Any]:
    if not CHECKS:
        from schemathesis.checks import not_a_server_error
        from schemathesis.specs.openapi.checks import (
            content_type_conformance,
            response_schema_conformance,
            status_code_conformance,
        )

        CHECKS.extend(
            [
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ]
        )
    return CHECKS


def seed(api: Api) -> None:
    """A little of everything, through the API where it can: a shop (market, prices, stock, shipping and
    payment methods), a placed order saved to its customer's wallet, a subscription, a copy, a promotion
    with a coupon, a webhook, an external gateway and payment."""
    shop = build_shop(api)
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})
    assert api.update("orders", order["id"], {"_save_payment_source_to_customer_wallet": True}).status == 200
    assert place(api, order["id"]).status == 200
    pending = new_order(api, shop, {"MUG": 1}, email="bob@example.com", ready=False)
    body = document("order_subscriptions", {"frequency": "daily"}, {"source_order": ("orders", order["id"])})
    assert api.post("order_subscriptions", body).status == 201
    api.create("order_copies", {}, {"source_order": ("orders", order["id"])})
    model = api.create("subscription_models", {"name": "Monthly", "frequencies": ["monthly", "weekly"]})
    assert api.update("markets", shop.market.pk, relationships={"subscription_model": model}).status == 200
    promotion = api.create(
        "percentage_discount_promotions",
        {
            "name": "Ten",
            "percentage": 10,
            "starts_at": "2020-01-01T00:00:00Z",
            "expires_at": "2099-01-01T00:00:00Z",
        },
    )
    rule = api.create("coupon_codes_promotion_rules", {}, {"promotion": promotion})
    api.create("coupons", {"code": "TENPERCENT"}, {"promotion_rule": rule})
    api.create("webhooks", {"topic": "orders.place", "callback_url": "https://example.com/hook"})
    api.create("external_gateways", {"name": "Ext", "authorize_url": "https://example.com/auth"})
    api.create("external_payments", {"payment_source_token": "tok_1"}, {"order": ("orders", pending["id"])})
    address = {
        "first_name": "Ada",
        "last_name": "L",
        "line_1": "x",
        "city": "y",
        "country_code": "IT",
        "phone": "1",
    }
    api.create(
        "customer_addresses",
        {"customer_email": "ada@example.com"},
        {"address": api.create("addresses", address)},
    )


@contextmanager
def in_process() -> Iterator[None]:
    """Requests sent to the WSGI application in-process keep this thread's connection (and a test's
    transaction) open, as Django's test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def known_ids(api: Api) -> dict[str, list[str]]:
    """The ids of every listable type, and of the audit trail of the first order."""
    ids: dict[str, list[str]] = {}
    for type_name, resource in registry.all_resources().items():
        if "list" in resource.actions and not resource.singleton:
            response = api.get(type_name, {"page[size]": "25"})
            assert response.status == 200, (type_name, response)
            ids[type_name] = [item["id"] for item in response.data]
    orders = ids.get("orders") or []
    if orders:
        trail = api.get(f"orders/{orders[0]}/event_stores", {"page[size]": "25"})
        ids["event_stores"] = [item["id"] for item in trail.data]
    return ids


@dataclass
class Report:
    operations: int = 0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    calling: float = 0.0  # of which in the application

    def summary(self) -> str:
        by_class = ", ".join(
            f"{k}xx {v}" for k, v in sorted(Counter(s // 100 for s in self.statuses.elements()).items())
        )
        return (
            f"operations {self.operations}, requests {self.requests} ({by_class}), 5xx {len(self.server_errors)}, "
            f"failures {len(self.failures)}, {self.seconds:.1f} s ({self.calling:.1f} s in the application)"
        )


def _type_of(operation: Any) -> str | None:
    parts = operation.path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "api" else None


def _real_links(body: Any, ids: dict[str, list[str]], rng: random.Random) -> None:
    data = body.get("data") if isinstance(body, dict) else None
    relationships = data.get("relationships") if isinstance(data, dict) else None
    if not isinstance(relationships, dict):
        return
    for value in relationships.values():
        linkage = value.get("data") if isinstance(value, dict) else None
        for item in linkage if isinstance(linkage, list) else [linkage]:
            target = item.get("type") if isinstance(item, dict) else None
            if isinstance(item, dict) and isinstance(target, str) and ids.get(target) and rng.random() < 0.8:
                item["id"] = rng.choice(ids[target])


def fuzz(
    schema: Any,
    token: str,
    ids: dict[str, list[str]],
    *,
    examples: int,
    relationship_examples: int,
    derandomize: bool,
    operations: set[str] | None = None,
) -> Report:
    """Run every operation of ``schema`` (or those whose operationId is in ``operations``): ``examples``
    cases each, ``relationship_examples`` for the endpoints of a relationship (there are twice as many of
    them as of all other operations together, and they take fewer parameters)."""
    report = Report()
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operations is None or operation.definition.raw.get("operationId") in operations:
            report.operations += 1
            below_a_row = len(operation.path.split("/")) > 4  # /api/<type>/{id}/<relationship>
            count = relationship_examples if below_a_row else examples
            _fuzz_operation(operation, token, ids, report, examples=count, derandomize=derandomize)
    report.seconds = time.monotonic() - started
    return report


def _fuzz_operation(
    operation: Any, token: str, ids: dict[str, list[str]], report: Report, *, examples: int, derandomize: bool
) -> None:
    from schemathesis import GenerationMode

    headers = {"Authorization": f"Bearer {token}"}
    checks = _checks()
    real = ids.get(_type_of(operation) or "", [])
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=derandomize,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, rng=st.randoms(use_true_random=False))
    def run(case: Any, rng: random.Random) -> None:
        if real and case.path_parameters and "id" in case.path_parameters and rng.random() < 0.8:
            case.path_parameters["id"] = rng.choice(real)
        _real_links(case.body, ids, rng)
        sent = time.monotonic()
        response = case.call(headers=headers)
        report.calling += time.monotonic() - sent
        report.requests += 1
        report.statuses[response.status_code] += 1
        where = f"{case.method} {case.formatted_path}"
        if response.status_code >= 500:
            report.server_errors.append(f"{where}: {response.status_code} {response.content[:300]!r}")
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # a failed check: recorded, not shrunk
            report.failures.append(f"{where} -> {response.status_code}: {str(exc)[:600]}")

    run()
