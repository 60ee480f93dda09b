"""ratelimit.check: the budgets, their headers, the 429, and the off switch."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from orderfactory.auth import ratelimit
from orderfactory.core.scope import Scope
from orderfactory.jsonapi.errors import ApiError

LIVE = Scope(organization_id="org", organization_slug="demo", mode="live", application_id="app1")
TEST = Scope(organization_id="org", organization_slug="demo", mode="test", application_id="app1")


def request(ip: str = "10.0.0.1", **headers: str):
    return RequestFactory().get("/api/x", REMOTE_ADDR=ip, **headers)


def configure(monkeypatch, **numbers: int) -> None:
    for name, value in numbers.items():
        monkeypatch.setenv(f"ORDERFACTORY_RATE_LIMIT_{name}", str(value))
    ratelimit.reset()


def hit(scope: Scope = LIVE, *, write: bool = False, resource_type: str = "orders", ip: str = "10.0.0.1"):
    return ratelimit.check(request(ip), scope, write=write, resource_type=resource_type)


def refused(scope: Scope = LIVE, **kw) -> ApiError:
    with pytest.raises(ApiError) as caught:
        hit(scope, **kw)
    return caught.value


@pytest.mark.parametrize(
    ("scope", "write", "resource_type", "burst"),
    [
        (LIVE, False, "orders", "50"),
        (TEST, False, "orders", "25"),
        (LIVE, False, "skus", "250"),
        (TEST, False, "skus", "125"),
        (LIVE, True, "skus", "50"),
        (TEST, True, "order_copies", "25"),
    ],
)
def test_first_request_reports_the_tightest_default_limit(scope, write, resource_type, burst) -> None:
    headers = hit(scope, write=write, resource_type=resource_type)

    assert headers == {
        "X-Ratelimit-Limit": burst,
        "X-Ratelimit-Interval": "10",
        "X-Ratelimit-Remaining": str(int(burst) - 1),
    }


def test_exceeding_the_burst_limit_is_429_with_the_headers(monkeypatch) -> None:
    configure(monkeypatch, UNCACHEABLE_READ_BURST_LIVE=3)

    remaining = [hit()["X-Ratelimit-Remaining"] for _ in range(3)]
    error = refused()

    assert remaining == ["2", "1", "0"]
    assert (error.status, error.code, error.title) == (429, "TOO_MANY_REQUESTS", "Too many requests")
    assert error.headers["X-Ratelimit-Limit"] == "3"
    assert error.headers["X-Ratelimit-Interval"] == "10"
    assert error.headers["X-Ratelimit-Remaining"] == "0"
    assert 1 <= int(error.headers["Retry-After"]) <= 10


def test_burst_is_per_endpoint_and_average_is_per_class(monkeypatch) -> None:
    configure(monkeypatch, UNCACHEABLE_READ_BURST_LIVE=2, UNCACHEABLE_READ_AVERAGE_LIVE=5)

    hit(resource_type="orders"), hit(resource_type="orders")
    assert refused(resource_type="orders").headers["X-Ratelimit-Interval"] == "10"
    hit(resource_type="customers"), hit(resource_type="customers")  # another endpoint, its own burst
    error = refused(resource_type="addresses")  # but the class's average is spent (the refusal counted too)

    assert (error.headers["X-Ratelimit-Limit"], error.headers["X-Ratelimit-Interval"]) == ("5", "60")


def test_reads_writes_and_cacheable_reads_have_separate_budgets(monkeypatch) -> None:
    configure(monkeypatch, WRITE_BURST_LIVE=1, WRITE_AVERAGE_LIVE=1)

    hit(write=True)
    refused(write=True)

    assert hit(write=False)["X-Ratelimit-Remaining"] == "49"
    assert hit(write=False, resource_type="skus")["X-Ratelimit-Remaining"] == "249"


def test_test_and_live_modes_have_separate_budgets(monkeypatch) -> None:
    configure(monkeypatch, UNCACHEABLE_READ_BURST_TEST=1)
    test_only = Scope(organization_id="org", organization_slug="demo", mode="test", application_id="app2")

    hit(test_only)
    refused(test_only)

    assert hit(Scope(organization_id="org", organization_slug="demo", mode="live", application_id="app3"))


def test_budget_is_kept_per_token_across_ips_and_per_ip_across_tokens(monkeypatch) -> None:
    configure(monkeypatch, UNCACHEABLE_READ_BURST_LIVE=2)
    other_app = Scope(organization_id="org", organization_slug="demo", mode="live", application_id="app2")

    hit(ip="10.0.0.1"), hit(ip="10.0.0.2")
    refused(ip="10.0.0.3")  # app1's own budget is spent, whatever the address

    hit(other_app, ip="10.0.0.9"), hit(other_app, ip="10.0.0.9")
    third_app = Scope(organization_id="org", organization_slug="demo", mode="live", application_id="app3")
    refused(third_app, ip="10.0.0.9")  # that address's budget is spent, whatever the token


def test_client_ip_can_come_from_a_proxy_header(monkeypatch) -> None:
    monkeypatch.setenv("ORDERFACTORY_RATE_LIMIT_IP_HEADER", "X-Forwarded-For")
    ratelimit.reset()

    forwarded = request("10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.7")

    assert ratelimit.client_ip(forwarded) == "192.0.2.7"
    assert ratelimit.client_ip(request("10.0.0.1")) == "10.0.0.1"


def test_switched_off_limits_count_nothing(settings, monkeypatch) -> None:
    configure(monkeypatch, UNCACHEABLE_READ_BURST_LIVE=1, TOKEN=1)
    settings.ORDERFACTORY = {**settings.ORDERFACTORY, "RATE_LIMITS_ENABLED": False}

    assert [hit() for _ in range(5)] == [{}] * 5
    assert [ratelimit.check_token_endpoint(request()) for _ in range(5)] == [{}] * 5


def test_reset_forgets_the_counters(monkeypatch) -> None:
    configure(monkeypatch, UNCACHEABLE_READ_BURST_LIVE=1)
    hit()
    refused()

    ratelimit.reset()

    assert hit()["X-Ratelimit-Remaining"] == "0"


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_a_bad_configured_number_is_a_configuration_error(monkeypatch, value: str) -> None:
    monkeypatch.setenv("ORDERFACTORY_RATE_LIMIT_WRITE_BURST_TEST", value)
    ratelimit.reset()

    with pytest.raises(ImproperlyConfigured, match="ORDERFACTORY_RATE_LIMIT_WRITE_BURST_TEST"):
        hit()


def test_the_resources_declared_cacheable_are_those_served_of_commerce_layers_cacheable_classes() -> None:
    from orderfactory.jsonapi import registry

    commerce_layer = {"skus", "prices", "price_lists", "markets", "bundles", "promotions", "stock_items"}
    commerce_layer |= {"stock_locations", "sku_options", "imports"}  # contract d, "Rate limits"
    served = registry.all_resources()

    assert {t for t, resource in served.items() if resource.cacheable} == commerce_layer & set(served)
