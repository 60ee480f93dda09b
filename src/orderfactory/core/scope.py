"""The (organization, mode) scope every tenant query runs in.

The scope is set once per request from the verified token (auth.tokens) or from the operator signed in to
the console (orderfactory.console), once per job by the worker, and explicitly by the CLI and tests. Tenant
models filter their default manager by it, so no resource declaration, include, relationship endpoint,
association filter or console page can forget it; with no scope set a tenant query raises instead of reading
across organizations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scope:
    organization_id: str
    organization_slug: str
    mode: str  # "test" | "live"
    application_id: str | None = None
    application_kind: str | None = None
    client_id: str | None = None
    market_ids: tuple[str, ...] | None = None  # set when the token is scoped to markets
    request_id: str | None = None
    # An operator signed in to the console (orderfactory.console): (id, email). The audit trail names them.
    operator: tuple[str, str] | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def who(self) -> dict:
        if self.operator is not None:
            # Commerce Layer names the person behind a change as the token's ``owner``; an operator acts
            # through the console, which is no API application and has no client id.
            operator_id, email = self.operator
            return {
                "application": {"id": self.application_id, "kind": self.application_kind},
                "owner": {"id": operator_id, "type": "User", "email": email},
            }
        return {
            "application": {
                "id": self.application_id,
                "kind": self.application_kind,
                "client_id": self.client_id,
            }
        }


def worker(organization_id: str, mode: str, name: str) -> Scope:
    """The scope background code acts in for one tenant's rows; ``name`` identifies it in audit trails."""
    return Scope(
        organization_id=organization_id,
        organization_slug="",
        mode=mode,
        application_id=name,
        application_kind="worker",
    )


class ScopeMissing(RuntimeError):
    """A tenant query ran with no (organization, mode) scope: a programming error, never user input."""


_current: ContextVar[Scope | None] = ContextVar("orderfactory_scope", default=None)


def current() -> Scope:
    scope = _current.get()
    if scope is None:
        raise ScopeMissing("no organization/mode scope is active")
    return scope


def current_or_none() -> Scope | None:
    return _current.get()


@contextmanager
def active(scope: Scope) -> Iterator[Scope]:
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)
