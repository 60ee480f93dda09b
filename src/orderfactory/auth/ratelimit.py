"""Rate limits in the Commerce Layer manner (contract d, "Rate limits"), enforced with the ``limits`` library.

Every API request is counted against two budgets, each kept both per client IP and per token (application):

- **average**: all requests of one class per minute, the class being cacheable reads, uncacheable reads or
  writes;
- **burst**: requests to one endpoint (resource type) of that class per 10 seconds.

Test and live modes have their own numbers and counters. The window is a moving (sliding) one, as Commerce
Layer's: there is no reset instant, hence no ``X-Ratelimit-Reset`` header. The numbers and the reasons for
them are in docs/rate-limits.md; every one can be changed with an environment variable.

Counters live in process memory, or in Redis when ``ORDERFACTORY_REDIS_URL`` is set, which is what makes the
limits hold across several server processes.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from orderfactory import config
from orderfactory.core.scope import Scope
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.errors import ApiError

logger = logging.getLogger(__name__)

AVERAGE_SECONDS = 60
BURST_SECONDS = 10

# (class, mode) -> (average per minute, burst per 10 s). Why these numbers: docs/rate-limits.md.
DEFAULTS: dict[tuple[str, str], tuple[int, int]] = {
    ("cacheable_read", "live"): (1000, 250),
    ("cacheable_read", "test"): (500, 125),
    ("uncacheable_read", "live"): (200, 50),
    ("uncacheable_read", "test"): (100, 25),
    ("write", "live"): (200, 50),
    ("write", "test"): (100, 25),
}
TOKEN_ENDPOINT_DEFAULT = 30  # per minute per client IP, both modes
CONSOLE_SIGN_IN_DEFAULT = 10  # per minute per client IP, and per email address


@dataclass(frozen=True)
class _Budget:
    average: RateLimitItem
    burst: RateLimitItem


@dataclass(frozen=True)
class _Outcome:
    item: RateLimitItem
    allowed: bool
    remaining: int
    reset_at: float


def check(request: HttpRequest, scope: Scope, *, write: bool, resource_type: str) -> dict[str, str]:
    """Count this API request; return the ``X-Ratelimit-*`` headers of the tightest limit, or raise a 429.

    Returns ``{}`` when rate limits are switched off (``ORDERFACTORY_RATE_LIMITS=off``).
    """
    if not settings.ORDERFACTORY["RATE_LIMITS_ENABLED"]:
        return {}
    request_class = (
        "write" if write else "cacheable_read" if registry.cacheable(resource_type) else "uncacheable_read"
    )
    budget = _budgets()[(request_class, scope.mode)]
    ip = client_ip(request)
    counted = [
        (budget.average, ("ip", scope.mode, request_class, ip)),
        (budget.burst, ("ip", scope.mode, request_class, resource_type, ip)),
    ]
    if scope.application_id:
        counted += [
            (budget.average, ("app", request_class, scope.application_id)),
            (budget.burst, ("app", request_class, resource_type, scope.application_id)),
        ]
    return _count(counted, what=f"{'write' if write else 'read'} requests to {resource_type}")


def check_token_endpoint(request: HttpRequest) -> dict[str, str]:
    """Count a ``POST /oauth/token`` request against its per-IP budget (30 a minute by default)."""
    if not settings.ORDERFACTORY["RATE_LIMITS_ENABLED"]:
        return {}
    return _count([(_token_endpoint_limit(), ("oauth_token", client_ip(request)))], what="token requests")


def check_console_sign_in(request: HttpRequest, email: str) -> None:
    """Count an attempt to sign in to the console, per client IP and per email address (so neither many
    addresses tried from one place nor one address tried from many places goes fast); raise the 429 ApiError
    when either budget is spent. Every attempt counts, a successful one too. The address counts by its first
    254 characters (the longest an email may be), so no one can fill the counters' storage with huge ones."""
    if not settings.ORDERFACTORY["RATE_LIMITS_ENABLED"]:
        return
    limit = _console_sign_in_limit()
    _count(
        [
            (limit, ("console_sign_in", client_ip(request))),
            (limit, ("console_sign_in_email", email.strip().lower()[:254])),
        ],
        what="sign-in attempts",
    )


def client_ip(request: HttpRequest) -> str:
    """The address limits are counted against.

    ``REMOTE_ADDR`` unless ``ORDERFACTORY_RATE_LIMIT_IP_HEADER`` names a header set by a trusted reverse proxy
    (without it, every client behind the proxy would share one budget). For a list-valued header such as
    X-Forwarded-For the last entry is used: it is the one the proxy itself appended, so clients cannot forge it.
    """
    header = _ip_header()
    if header:
        value = request.META.get(header, "")
        if value:
            return value.rsplit(",", 1)[-1].strip()
    return request.META.get("REMOTE_ADDR") or "unknown"


def reset() -> None:
    """Forget every counter and re-read the configuration (tests; never needed in production)."""
    if _limiter.cache_info().currsize:
        _limiter().storage.reset()
    for cached in (_limiter, _budgets, _token_endpoint_limit, _console_sign_in_limit, _ip_header):
        cached.cache_clear()


def _count(counted: Iterable[tuple[RateLimitItem, tuple[str, ...]]], *, what: str) -> dict[str, str]:
    """Hit every limit, then report the exceeded one, else the one with the fewest requests left.

    Every limit is hit even after one refuses: a refused request was still made, and counting it everywhere
    keeps a client that hammers one endpoint from saving up its average budget meanwhile.
    """
    limiter = _limiter()
    outcomes: list[_Outcome] = []
    try:
        for item, identifiers in counted:
            allowed = limiter.hit(item, *identifiers)
            stats = limiter.get_window_stats(item, *identifiers)
            outcomes.append(_Outcome(item, allowed, max(stats.remaining, 0), stats.reset_time))
    except StorageError:
        # A rate limiter must not take the API down with it: when Redis is unreachable, requests go through.
        logger.warning("rate limit storage unavailable; request not counted", exc_info=True)
        return {}
    tightest = min(outcomes, key=lambda o: (o.allowed, o.remaining, o.item.amount))
    headers = {
        "X-Ratelimit-Limit": str(tightest.item.amount),
        "X-Ratelimit-Interval": str(tightest.item.get_expiry()),
        "X-Ratelimit-Remaining": str(tightest.remaining),
    }
    if tightest.allowed:
        return headers
    retry_after = max(1, math.ceil(tightest.reset_at - time.time()))
    raise ApiError(
        429,
        "TOO_MANY_REQUESTS",
        "Too many requests",
        f"Rate limit exceeded: at most {tightest.item.amount} {what} every {tightest.item.get_expiry()} seconds.",
        headers={**headers, "Retry-After": str(retry_after)},
    )


@cache
def _limiter() -> MovingWindowRateLimiter:
    url = cast("str | None", settings.ORDERFACTORY.get("REDIS_URL"))
    storage = storage_from_string(url, wrap_exceptions=True) if url else MemoryStorage()
    return MovingWindowRateLimiter(storage)


@cache
def _budgets() -> dict[tuple[str, str], _Budget]:
    budgets = {}
    for (request_class, mode), (average, burst) in DEFAULTS.items():
        prefix = f"ORDERFACTORY_RATE_LIMIT_{request_class.upper()}"
        budgets[(request_class, mode)] = _Budget(
            average=RateLimitItemPerMinute(_configured(f"{prefix}_AVERAGE_{mode.upper()}", average)),
            burst=RateLimitItemPerSecond(_configured(f"{prefix}_BURST_{mode.upper()}", burst), BURST_SECONDS),
        )
    return budgets


@cache
def _token_endpoint_limit() -> RateLimitItem:
    return RateLimitItemPerMinute(_configured("ORDERFACTORY_RATE_LIMIT_TOKEN", TOKEN_ENDPOINT_DEFAULT))


@cache
def _console_sign_in_limit() -> RateLimitItem:
    return RateLimitItemPerMinute(
        _configured("ORDERFACTORY_RATE_LIMIT_CONSOLE_SIGN_IN", CONSOLE_SIGN_IN_DEFAULT)
    )


@cache
def _ip_header() -> str | None:
    name = config.env("ORDERFACTORY_RATE_LIMIT_IP_HEADER")
    return "HTTP_" + name.upper().replace("-", "_") if name else None


def _configured(name: str, default: int) -> int:
    value = config.env(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ImproperlyConfigured(f"{name} must be a positive integer, not {value!r}")
    return number
