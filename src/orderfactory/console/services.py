"""Operator accounts: create (from the CLI), list and deactivate. The console's actions on orders, copies,
subscriptions, applications and webhooks are the domain services' own (see views.py)."""

from __future__ import annotations

import secrets

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from orderfactory.auth.models import Organization
from orderfactory.auth.services import SLUG
from orderfactory.console.models import ROLES, Operator


class OperatorInvalid(ValueError):
    """What is wrong with an operator's email, organization, role or password (one line per problem)."""


def generate_password() -> str:
    return secrets.token_urlsafe(18)  # 24 characters, 144 bits


def create_operator(*, email: str, organization_slug: str, role: str, password: str) -> Operator:
    """An operator of the organization (created on first use, as ``apps create`` does), with the password
    stored hashed by Django's configured hasher."""
    email = (email or "").strip().lower()
    problems = []
    try:
        validate_email(email)
    except ValidationError:
        problems.append(f"email {email!r} is not a valid address")
    if role not in ROLES:
        problems.append(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not SLUG.match(organization_slug or ""):
        problems.append(
            f"organization must be a slug of lowercase letters, digits and dashes, not {organization_slug!r}"
        )
    operator = Operator(email=email, role=role)
    try:
        password_validation.validate_password(password, operator)
    except ValidationError as exc:
        problems += [f"password: {message}" for message in exc.messages]
    if Operator.objects.filter(email=email).exists():
        problems.append(f"an operator with email {email} exists already")
    if problems:
        raise OperatorInvalid("; ".join(problems))
    with transaction.atomic():
        operator.organization, _ = Organization.objects.get_or_create(
            slug=organization_slug, defaults={"name": organization_slug}
        )
        operator.set_password(password)
        operator.save()
    return operator


def list_operators() -> list[Operator]:
    return list(Operator.objects.select_related("organization").order_by("created_at", "id"))


def deactivate_operator(email: str) -> Operator:
    """The operator can no longer sign in, and the sessions it has stop working at their next request."""
    operator = Operator.objects.filter(email=(email or "").strip().lower()).first()
    if operator is None:
        raise OperatorInvalid(f"no operator has email {email!r}")
    operator.is_active = False
    operator.save(update_fields=["is_active"])
    return operator
