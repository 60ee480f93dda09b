"""flex_promotions: a promotion whose discount is a Rules Engine order rule (promotions.flex). Written here so
the promotion kinds' shared modules only name its type."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from orderfactory.core.errors import CommonErrorCode, DomainError, problem
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import Object, Payload
from orderfactory.promotions import flex, services
from orderfactory.promotions.models import FLEX, Promotion
from orderfactory.promotions.resources import (
    TypedPromotionResource,
    promotion_attributes,
    promotion_relationships,
)
from orderfactory.tags.resources import tagged

# Commerce Layer's flex promotions have neither a currency nor a market (their rules say where they apply),
# nor the ranking and coupon counts of the other kinds.
_NOT_FLEX = ("currency_code", "total_usage_reached", "weight", "coupons_count")


def save_flex_promotion(
    promotion: Promotion, changes: dict[str, Any], *, disable: bool = False, enable: bool = False
) -> Promotion:
    """Create (an unsaved ``promotion``) or update a flex promotion: its ``rules`` must be the served subset
    of the Rules Engine's order rules (refused, never ignored, otherwise)."""
    with transaction.atomic():
        rules = changes.get("rules", promotion.rules)
        found = flex.problems(rules) if rules is not None else []
        if found:
            raise DomainError([problem("rules", "; ".join(found)[:500], CommonErrorCode.INVALID)])
        return services.save_promotion(promotion, changes, disable=disable, enable=enable)


def _no_outcomes(row: dict[str, Any]) -> None:
    """Commerce Layer's outcomes and payload of the last evaluation: evaluated here on each order as it is
    priced, a promotion has no single last one (docs/compatibility.md)."""
    return None


@registry.register
@tagged
class FlexPromotionResource(TypedPromotionResource):
    type = FLEX
    promotion_type = FLEX
    attributes = (
        *(a for a in promotion_attributes() if a.name not in _NOT_FLEX),
        Object("rules", "CUFf", required=True),
        Object("rule_outcomes", "F", compute=_no_outcomes),
        Object("resource_payload", "F", compute=_no_outcomes),
    )
    relationships = tuple(
        r for r in promotion_relationships() if r.name in ("coupon_codes_promotion_rule", "coupons")
    )

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, Promotion)
        return save_flex_promotion(
            instance,
            payload.model_fields(cls),
            disable=payload.triggers.get("_disable") is True,
            enable=payload.triggers.get("_enable") is True,
        )
