"""The percentage_discount_promotions, coupon_codes_promotion_rules and coupons resources.

Commerce Layer has eight promotion types and four rule types, and a rule's ``promotion`` may be any of the
promotions. We serve one promotion type, so the rule's ``promotion`` targets percentage_discount_promotions
only: a single target keeps association filters such as ``filter[q][promotion_rule_promotion_name_eq]`` on
coupons reachable, which a polymorphic relationship would limit to ``_id``/``_type``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models
from django.db.models import (
    BooleanField,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from orderfactory.catalog.resources import ServiceResource
from orderfactory.core import clock
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import (
    Boolean,
    Datetime,
    Integer,
    Payload,
    String,
    ToMany,
    ToOne,
)
from orderfactory.promotions import services
from orderfactory.promotions.models import Coupon, CouponCodesPromotionRule, PercentageDiscountPromotion
from orderfactory.tags.resources import tagged

PROMOTION_TYPES = (
    "percentage_discount_promotions",
    "free_shipping_promotions",
    "buy_x_pay_y_promotions",
    "free_gift_promotions",
    "fixed_price_promotions",
    "external_promotions",
    "fixed_amount_promotions",
    "flex_promotions",
)
PROMOTION_RULE_TYPES = (
    "order_amount_promotion_rules",
    "sku_list_promotion_rules",
    "coupon_codes_promotion_rules",
    "custom_promotion_rules",
)
PROMOTION_STATUSES = ("disabled", "expired", "pending", "active", "inactive")


def _usage_reached(row: dict[str, Any]) -> bool:
    limit = row["total_usage_limit"]
    return limit is not None and row["total_usage_count"] >= limit


def promotion_status(row: dict[str, Any]) -> str:
    """disabled, expired, pending (not started), inactive (usage limit reached) or active, in that order."""
    now = clock.now()
    if row["disabled_at"] is not None:
        return "disabled"
    if row["expires_at"] <= now:
        return "expired"
    if row["starts_at"] > now:
        return "pending"
    return "inactive" if _usage_reached(row) else "active"


_STATUS_COLUMNS = ("disabled_at", "starts_at", "expires_at", "total_usage_limit", "total_usage_count")

# Coupons reach a promotion through its rule: one COUNT per page of promotions, not one per promotion.
_COUPONS_COUNT = Coalesce(
    Subquery(
        Coupon.unscoped.filter(promotion_rule__promotion_id=OuterRef("pk"))
        .order_by()
        .values("promotion_rule__promotion_id")
        .annotate(n=Count("pk"))
        .values("n")
    ),
    0,
)


def _coupons_of_promotions(coupons: models.QuerySet, promotion_ids: Sequence[str]) -> models.QuerySet:
    return coupons.filter(promotion_rule__promotion_id__in=promotion_ids).annotate(
        _parent_id=F("promotion_rule__promotion_id")
    )


def _no_skus(skus: models.QuerySet, promotion_ids: Sequence[str]) -> models.QuerySet:
    return skus.none().annotate(_parent_id=F("id"))


@registry.register
@tagged
class PercentageDiscountPromotionResource(ServiceResource):
    type = "percentage_discount_promotions"
    model = PercentageDiscountPromotion
    has_events = True
    attributes = (
        String("name", "CUFfs", required=True),
        String("type", "Ffs", enum=PROMOTION_TYPES),  # annotated by queryset(), so filters and sorts reach it
        String("currency_code", "CUFfs"),
        Boolean("exclusive", "CUFfs", default=False, nullable=False),
        Integer("priority", "CUFfs"),
        Datetime("starts_at", "CUFfs", required=True),
        Datetime("expires_at", "CUFfs", required=True),
        Integer("total_usage_limit", "CUFfs"),
        Integer("total_usage_count", "Ffs"),
        Boolean("total_usage_reached", "Ffs"),  # annotated by queryset()
        Boolean(
            "active", "F", compute=lambda row: promotion_status(row) == "active", depends=_STATUS_COLUMNS
        ),
        String("status", "F", enum=PROMOTION_STATUSES, compute=promotion_status, depends=_STATUS_COLUMNS),
        # Commerce Layer's internal ranking score; promotions here rank by priority (services.applicable_promotions).
        Integer("weight", "F", compute=lambda row: None),
        Integer("coupons_count", "F", expression=_COUPONS_COUNT),
        Boolean("_disable", "CU", trigger=True),
        Boolean("_enable", "CU", trigger=True),
        Datetime("disabled_at", "Ffs"),
        Integer("percentage", "CUF", required=True),
    )
    relationships = (
        # Markets are served by the orders domain; until then a market can be set only by the services.
        ToOne("market", "markets", "CUf"),
        # The rule holds the foreign key; the column is the reverse one-to-one (see docs/compatibility.md).
        ToOne(
            "coupon_codes_promotion_rule",
            "coupon_codes_promotion_rules",
            "f",
            column="coupon_codes_promotion_rule",
        ),
        ToMany(
            "coupons",
            "coupons",
            "f",
            queryset=_coupons_of_promotions,
            lookup="coupon_codes_promotion_rule__coupons",
        ),
        # In Commerce Layer the SKUs of the promotion's sku_list, empty without one; sku lists are not served,
        # so a promotion here discounts every SKU and lists none, as one without a sku_list does there.
        ToMany("skus", "skus", "", queryset=_no_skus),
    )

    @classmethod
    def queryset(cls) -> models.QuerySet:
        return (
            super()
            .queryset()
            .annotate(
                type=Value(cls.type, output_field=CharField()),
                total_usage_reached=ExpressionWrapper(
                    Q(total_usage_limit__isnull=False, total_usage_count__gte=F("total_usage_limit")),
                    output_field=BooleanField(),
                ),
            )
        )

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        return cls.update(PercentageDiscountPromotion(), payload)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, PercentageDiscountPromotion)
        return services.save_percentage_discount_promotion(
            instance,
            payload.model_fields(cls),
            disable=payload.triggers.get("_disable") is True,
            enable=payload.triggers.get("_enable") is True,
        )


@registry.register
class CouponCodesPromotionRuleResource(ServiceResource):
    type = "coupon_codes_promotion_rules"
    model = CouponCodesPromotionRule
    save = staticmethod(services.save_coupon_codes_promotion_rule)
    attributes = (String("type", "Ffs", enum=PROMOTION_RULE_TYPES),)  # annotated by queryset()
    relationships = (
        ToOne("promotion", ("percentage_discount_promotions",), "CUf", required=True),
        ToMany("coupons", "coupons", "f", reverse="promotion_rule_id"),
    )

    @classmethod
    def queryset(cls) -> models.QuerySet:
        return super().queryset().annotate(type=Value(cls.type, output_field=CharField()))


@registry.register
@tagged
class CouponResource(ServiceResource):
    type = "coupons"
    model = Coupon
    has_events = True
    save = staticmethod(services.save_coupon)
    attributes = (
        String("code", "CUFfs", required=True),
        Boolean("customer_single_use", "CUFfs", default=False, nullable=False),
        Integer("usage_limit", "CUFfs"),
        Integer("usage_count", "Ffs"),
        # Stored as given: coupon recipients are not served, so there is no recipient to find or create.
        String("recipient_email", "CUF"),
        Datetime("expires_at", "CUFfs"),
    )
    relationships = (ToOne("promotion_rule", "coupon_codes_promotion_rules", "CUf", required=True),)
