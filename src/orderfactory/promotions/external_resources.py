"""external_promotions: a promotion whose discount the merchant's service computes (promotions.external).
Written here (its URL, shared secret and circuit) so the promotion kinds' shared modules only name its type."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import models, transaction

from orderfactory.core import outbound
from orderfactory.core.errors import CommonErrorCode, DomainError, Problem, problem
from orderfactory.core.errors import blank as blank_problem
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import Array, Boolean, Integer, Payload, String
from orderfactory.promotions import services
from orderfactory.promotions.models import EXTERNAL, Promotion
from orderfactory.promotions.resources import (
    SKUS,
    TypedPromotionResource,
    promotion_attributes,
    promotion_relationships,
)
from orderfactory.tags.resources import tagged

URL_MAX_LENGTH = 2048


def new_shared_secret() -> str:
    """32 random bytes, URL-safe: the key of the HMAC that signs each call to the promotion's service."""
    return secrets.token_urlsafe(32)


def _url_problems(url: Any) -> list[Problem]:
    if url is None or (isinstance(url, str) and not url.strip()):
        return [blank_problem("promotion_url")]
    why = "is invalid" if not isinstance(url, str) or len(url) > URL_MAX_LENGTH else outbound.problem(url)
    return [problem("promotion_url", why, CommonErrorCode.INVALID, value=url)] if why else []


def save_external_promotion(
    promotion: Promotion,
    changes: dict[str, Any],
    *,
    disable: bool = False,
    enable: bool = False,
    reset_circuit: bool = False,
    regenerate_shared_secret: bool = False,
) -> Promotion:
    """Create (an unsaved ``promotion``, which gets a new shared secret and a closed circuit) or update an
    external promotion, with the triggers ``_reset_circuit`` (closes the circuit, zeroes the failure count)
    and ``_regenerate_shared_secret``. Its URL passes the outbound rules, as webhooks' and gateways' do."""
    changes = dict(changes)
    if promotion._state.adding:
        changes.update(circuit_state="closed", circuit_failure_count=0)
        if not promotion.shared_secret:
            changes["shared_secret"] = new_shared_secret()
    if reset_circuit:
        changes.update(circuit_state="closed", circuit_failure_count=0)
    if regenerate_shared_secret:
        changes["shared_secret"] = new_shared_secret()
    with transaction.atomic():
        found = _url_problems(changes.get("promotion_url", promotion.promotion_url))
        if found:
            raise DomainError(found)
        return services.save_promotion(promotion, changes, disable=disable, enable=enable)


@registry.register
@tagged
class ExternalPromotionResource(TypedPromotionResource):
    type = EXTERNAL
    promotion_type = EXTERNAL
    attributes = (
        *promotion_attributes(),
        String("promotion_url", "CUF", required=True),
        String("circuit_state", "Ffs"),
        Integer("circuit_failure_count", "Ffs"),
        Boolean("_reset_circuit", "U", trigger=True),
        # Shown, as Commerce Layer shows it: the merchant's service needs it to check our signature, so it is
        # kept as is (a hash could not sign), as the shared secrets of webhooks and tax calculators.
        String("shared_secret", "F"),
        Boolean("_regenerate_shared_secret", "U", trigger=True),
        Array("external_includes", "CUF"),
    )
    relationships = (*promotion_relationships(), SKUS)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, Promotion)
        return save_external_promotion(
            instance,
            payload.model_fields(cls),
            disable=payload.triggers.get("_disable") is True,
            enable=payload.triggers.get("_enable") is True,
            reset_circuit=payload.triggers.get("_reset_circuit") is True,
            regenerate_shared_secret=payload.triggers.get("_regenerate_shared_secret") is True,
        )
