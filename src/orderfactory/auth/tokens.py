"""Access tokens: issue them (the /oauth/token use-case) and verify them (every API request).

Tokens are JWTs shaped like Commerce Layer's (contract d, "JWT payload"), because the official SDK reads
``organization.slug`` and ``iss`` from them to build its base URL, and ``test`` decides the mode.

Verifying is on the hot path of every request, so it reads no database row: everything the scope needs is in
the signed claims. The one thing a signature cannot say is "this application was revoked since", which comes
from a small in-process cache of revoked application ids (see ``_RevokedApplications``).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Any, cast

import jwt
from django.apps import apps
from django.conf import settings
from django.db.models import Model
from django.http import HttpRequest

from orderfactory.auth import keys
from orderfactory.auth.models import Application
from orderfactory.core.scope import Scope
from orderfactory.jsonapi.errors import ApiError, unauthorized

VERIFY_ALGORITHMS = ["RS512", "RS256"]
ALL_MARKETS = "market:all"


# --- issuing ----------------------------------------------------------------------------------------------


def issue_token(app: Application, requested_scope: str | None) -> dict[str, Any]:
    """Sign a token for ``app`` and return the OAuth token response body.

    Raises a 400 ``INVALID_SCOPE`` ApiError when the scope is malformed, names a market the application's
    organization does not have in the application's mode, or is missing for a sales channel.
    """
    scope, market_ids = _resolve_scope(app, requested_scope)
    ttl = cast(int, settings.ORDERFACTORY["TOKEN_TTL_SECONDS"])
    issued_at = int(time.time())
    organization = app.organization
    claims: dict[str, Any] = {
        "organization": {
            "id": organization.id,
            "slug": organization.slug,
            "enterprise": False,
            "region": organization.region,
        },
        "application": {
            "id": app.id,
            "kind": app.kind,
            "public": app.public,
            "client_id": app.client_id,
            "confidential": not app.public,
        },
        "scope": scope,
        "test": app.mode == "test",
        "iat": issued_at,
        "exp": issued_at + ttl,
        "rand": random.random(),  # tokens issued in the same second differ; not a security property
        "iss": issuer(),
    }
    if market_ids is not None:
        claims["market"] = {
            "id": market_ids,
            "stock_location_ids": [],
            "geocoder_id": None,
            "allows_external_prices": False,
        }
    access_token = jwt.encode(
        claims, keys.signing_key(), algorithm=keys.ALGORITHM, headers={"kid": keys.kid()}
    )
    return {
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": ttl,
        "scope": scope,
        "created_at": issued_at,
    }


def issuer() -> str:
    """``https://auth.<domain>``: the SDK derives the API domain from it by dropping ``https://auth.``."""
    return f"https://auth.{settings.ORDERFACTORY['AUTH_DOMAIN']}"


def invalid_scope(detail: str) -> ApiError:
    return ApiError(400, "INVALID_SCOPE", "Invalid scope", detail, parameter="scope")


def _resolve_scope(app: Application, requested: str | None) -> tuple[str, list[str] | None]:
    """The normalized scope string and, for a market-scoped token, the ids of its markets.

    Accepted: ``market:all`` (integrations only, the default when they send no scope), or one or more
    space-separated ``market:id:<id>`` / ``market:code:<code>``.
    """
    entries = list(dict.fromkeys((requested or "").split()))  # dedupe, keep order
    if not entries:
        if app.public:
            raise invalid_scope("A sales channel token must be scoped to a market (e.g. market:code:europe).")
        return ALL_MARKETS, None
    if entries == [ALL_MARKETS]:
        if app.public:
            raise invalid_scope("A sales channel token must be scoped to a market, not market:all.")
        return ALL_MARKETS, None
    ids: list[str] = []
    codes: list[str] = []
    for entry in entries:
        parts = entry.split(":", 2)
        named = len(parts) == 3 and parts[0] == "market" and parts[1] in ("id", "code") and parts[2]
        # A NUL can name no market (and PostgreSQL refuses one in a query's text).
        if named and "\x00" not in parts[2]:
            (ids if parts[1] == "id" else codes).append(parts[2])
        elif entry == ALL_MARKETS:
            raise invalid_scope("market:all cannot be combined with other scopes.")
        else:
            raise invalid_scope(
                f"{entry} is not a supported scope (use market:all, market:id:<id> or market:code:<code>)."
            )
    return " ".join(entries), _market_ids(app, ids, codes)


def _market_ids(app: Application, ids: list[str], codes: list[str]) -> list[str]:
    """Resolve ids and codes against the markets of the application's organization and mode.

    Any one that matches nothing fails the whole request: a token silently narrower than asked would surface
    later as baffling empty lists.
    """
    market = _market_model()
    found: dict[tuple[str, str], str] = {}
    if market is not None:
        # The base manager: the tenant default manager needs an active request scope, and there is none yet.
        # A disabled market takes no new orders, so it grants no new tokens either.
        rows = market._base_manager.filter(
            organization_id=app.organization_id, mode=app.mode, disabled_at__isnull=True
        )
        if ids:
            found.update((("id", i), i) for i in rows.filter(id__in=ids).values_list("id", flat=True))
        if codes:
            found.update((("code", c), i) for i, c in rows.filter(code__in=codes).values_list("id", "code"))
    resolved: list[str] = []
    for kind, values in (("id", ids), ("code", codes)):
        for value in values:
            if (kind, value) not in found:
                raise invalid_scope(f"market:{kind}:{value} does not match any {app.mode} market.")
            resolved.append(found[(kind, value)])
    return list(dict.fromkeys(resolved))


def _market_model() -> type[Model] | None:
    """The catalog Market model, looked up when needed: the catalog app may be absent from a trimmed install."""
    try:
        return apps.get_model("catalog", "Market")
    except LookupError:
        return None


# --- verifying --------------------------------------------------------------------------------------------


class _RevokedApplications:
    """Ids of revoked applications, refreshed from the database at most once per ``refresh_seconds``.

    One query of one column of a handful of rows per second per process is the whole cost of revocation.
    ``note_revoked`` adds an id at once, so the process that revokes stops accepting the tokens immediately;
    other processes catch up on their next refresh. Revocation is permanent, so a snapshot that races a
    revocation can only be late, never undo it.
    """

    def __init__(self, refresh_seconds: float = 1.0) -> None:
        self.refresh_seconds = refresh_seconds
        self._ids: frozenset[str] = frozenset()
        self._noted: set[str] = set()
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def __contains__(self, application_id: object) -> bool:
        self._refresh_if_stale()
        return application_id in self._ids or application_id in self._noted

    def _refresh_if_stale(self) -> None:
        loaded_at = self._loaded_at
        if loaded_at is not None and time.monotonic() - loaded_at < self.refresh_seconds:
            return
        # Until the first load every caller waits for it; after that one caller refreshes while the others
        # go on with the previous snapshot, so a slow query never stalls the requests queued behind it.
        if not self._lock.acquire(blocking=loaded_at is None):
            return
        try:
            if self._loaded_at == loaded_at:  # nobody refreshed while this caller waited for the lock
                ids = Application.objects.filter(revoked_at__isnull=False).values_list("id", flat=True)
                self._ids = frozenset(ids)
                self._loaded_at = time.monotonic()
        finally:
            self._lock.release()

    def note(self, application_id: str) -> None:
        self._noted.add(application_id)

    def clear(self) -> None:
        self._ids = frozenset()
        self._noted = set()
        self._loaded_at = None


_revoked = _RevokedApplications()


def note_revoked(application_id: str) -> None:
    """Stop accepting this application's tokens in this process now (called by services.revoke_application)."""
    _revoked.note(application_id)


def reset_revocation_cache() -> None:
    """Forget the cached revocations, so the next verify reads them again (tests)."""
    _revoked.clear()


# Tokens whose signature and claims were checked, by their exact text, with the key that checked them: a
# client sends the same token for hours, and checking an RSA signature and parsing the claims cost more than
# the rest of a small request's authentication. A hit is still refused once expired, once its application is
# revoked, or once the key changed; a token that differs by one character is checked in full.
@dataclass(frozen=True)
class _Verified:
    scope: Scope
    expires_at: float
    key: Any


_verified: dict[str, _Verified] = {}
_VERIFIED_MAX = 4096


def verify(token: str) -> Scope:
    """The scope a token grants; raises a 401 ``INVALID_TOKEN`` ApiError, which makes the SDK get a new one."""
    return verify_until(token)[0]


def verify_until(token: str) -> tuple[Scope, float]:
    """The scope a token grants and when it expires (epoch seconds), or a 401 ``INVALID_TOKEN`` ApiError."""
    key = keys.public_key()
    hit = _verified.get(token)
    if hit is not None and hit.key is key and time.time() < hit.expires_at:
        scope, expires_at = hit.scope, hit.expires_at
    else:
        scope, expires_at = _verify_in_full(token, key)
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[token] = _Verified(scope, expires_at, key)
    if scope.application_id in _revoked:
        raise _invalid_token("The application this token was issued to has been revoked.")
    return scope, expires_at


def _verify_in_full(token: str, key: Any) -> tuple[Scope, float]:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=VERIFY_ALGORITHMS,
            issuer=issuer(),
            options={"require": ["exp", "iat", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise _invalid_token("The access token has expired.") from None
    except jwt.InvalidTokenError as exc:
        raise _invalid_token(f"The access token is invalid: {exc}.") from None
    try:
        organization = claims["organization"]
        application = claims["application"]
        market = claims.get("market")
        scope = Scope(
            organization_id=str(organization["id"]),
            organization_slug=str(organization["slug"]),
            mode="test" if claims["test"] else "live",
            application_id=str(application["id"]),
            application_kind=str(application["kind"]),
            client_id=str(application["client_id"]),
            market_ids=tuple(str(i) for i in market["id"]) if market else None,
        )
        expires_at = float(claims["exp"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _invalid_token(f"The access token's claims are malformed (at {exc}).") from None
    return scope, expires_at


def authenticate(request: HttpRequest) -> Scope:
    """The scope of the request's ``Authorization: Bearer`` token; 401 ``UNAUTHORIZED`` when there is none."""
    token = bearer_token(request)
    if token is None:
        raise unauthorized("An access token is required: send Authorization: Bearer <access_token>.")
    return verify(token)


def bearer_token(request: HttpRequest) -> str | None:
    """The token of the request's ``Authorization: Bearer <token>`` header, if it has one."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _invalid_token(detail: str) -> ApiError:
    return unauthorized(detail, code="INVALID_TOKEN")
