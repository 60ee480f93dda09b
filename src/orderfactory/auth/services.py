"""Application use-cases: create, list, revoke, and check client credentials.

Called by the CLI (to create the first application), by the token endpoint, and by tests alike.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from functools import partial

from django.db import transaction

from orderfactory import config
from orderfactory.auth import tokens
from orderfactory.auth.models import KINDS, MODES, Application, Organization
from orderfactory.core import clock, locks

DEFAULT_ORGANIZATION = "demo"

# Hashed when the client id is unknown, so that an unknown id costs the same time as a wrong secret and
# response timing does not reveal which client ids exist.
_DUMMY_HASH = hashlib.sha256(b"orderfactory: no such client").hexdigest()


class ApplicationNotFound(LookupError):
    """No application has this client id."""

    def __init__(self, client_id: str) -> None:
        super().__init__(f"no application with client_id {client_id!r}")
        self.client_id = client_id


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a client secret (why not a slow password hash: see Application.client_secret_hash)."""
    return hashlib.sha256(secret.encode()).hexdigest()


SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62})$")


def create_application(
    *, name: str, kind: str, mode: str, organization_slug: str | None = None
) -> tuple[Application, str]:
    """Create an application and return it with its plain client secret, which is never stored nor shown again.

    The organization is created on first use, so one command sets up a fresh install. Its slug defaults to
    ``ORDERFACTORY_ORGANIZATION`` (or "demo"): the SDK builds its base URL from that slug.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not name or not name.strip():
        raise ValueError("name must not be blank")
    slug = (
        organization_slug
        or config.env("ORDERFACTORY_ORGANIZATION", DEFAULT_ORGANIZATION)
        or DEFAULT_ORGANIZATION
    )
    if not SLUG.match(slug):
        # The SDK builds https://<slug>.<domain>/api from it: a slug that is no host label breaks every client.
        raise ValueError(f"organization must be a slug of lowercase letters, digits and dashes, not {slug!r}")
    secret = secrets.token_urlsafe(32)  # 43 characters, 256 bits
    with transaction.atomic():
        organization, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": slug})
        application = Application.objects.create(
            organization=organization,
            name=name.strip(),
            kind=kind,
            mode=mode,
            client_id=new_client_id(),
            client_secret_hash=hash_secret(secret),
        )
    return application, secret


def new_client_id() -> str:
    """43 URL-safe characters (256 bits) that never start with ``-``, so a shell command line such as
    ``orderfactory apps revoke <client_id>`` cannot read one as an option."""
    while True:
        client_id = secrets.token_urlsafe(32)
        if not client_id.startswith("-"):
            return client_id


def list_applications() -> list[Application]:
    """All applications, revoked ones included, oldest first."""
    return list(Application.objects.select_related("organization").order_by("created_at", "id"))


def revoke_application(client_id: str) -> Application:
    """Revoke an application: it can get no new token, and its tokens already issued stop working.

    Revoking twice keeps the first revocation time. This process stops accepting the tokens at once; other
    processes within a second (the refresh period of tokens' revocation cache).
    """
    with transaction.atomic():
        application = locks.for_update(Application.objects.filter(client_id=client_id)).first()
        if application is None:
            raise ApplicationNotFound(client_id)
        if application.revoked_at is None:
            application.revoked_at = application.updated_at = clock.now()
            application.save(update_fields=["revoked_at", "updated_at"])
        # After commit: a revocation rolled back by an enclosing transaction must not lock the client out.
        transaction.on_commit(partial(tokens.note_revoked, application.id))
    return application


def check_client(client_id: str, client_secret: str | None) -> Application | None:
    """The live application these credentials belong to, or None.

    Sales channels are public clients (their client id ships in storefront code), so like Commerce Layer
    they may authenticate with the client id alone; a secret, when sent, must still be the right one.
    Integrations always need their secret.
    """
    application = Application.objects.select_related("organization").filter(client_id=client_id).first()
    stored = application.client_secret_hash if application is not None else _DUMMY_HASH
    secret_ok = client_secret is not None and hmac.compare_digest(stored, hash_secret(client_secret))
    if application is None or application.revoked_at is not None:
        return None
    if secret_ok or (client_secret is None and application.public):
        return application
    return None
