"""The promotions (the polymorphic, read-only list), percentage_discount_promotions, fixed_amount_promotions,
free_shipping_promotions, free_gift_promotions, buy_x_pay_y_promotions, fixed_price_promotions, their rules
(coupon codes, order amount, custom, SKU list) and coupons resources.

The promotions share one table (models.Promotion, as Commerce Layer's single-table ``Promotion``): each typed
resource lists the rows of its type; ``promotions`` lists them all, each naming its own type in its ``type``
attribute. A rule's ``promotion`` is polymorphic, its type read from the promotion's row; association filters
such as ``filter[q][promotion_rule_promotion_name_eq]`` on coupons join the one table, through ``promotions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

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
from orderfactory.core.money import money
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import (
    Boolean,
    Datetime,
    Integer,
    Object,
    Payload,
    String,
    ToMany,
    ToOne,
)
from orderfactory.promotions import services
from orderfactory.promotions.models import (
    BUY_X_PAY_Y,
    FIXED_AMOUNT,
    FIXED_PRICE,
    FREE_GIFT,
    FREE_SHIPPING,
    PERCENTAGE_DISCOUNT,
    PROMOTION_TYPES,
    SERVED_TYPES,
    Coupon,
    CouponCodesPromotionRule,
    CustomPromotionRule,
    OrderAmountPromotionRule,
    Promotion,
    SkuListPromotionRule,
)
from orderfactory.tags.resources import tagged

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


def _promotion_skus(skus: models.QuerySet, promotion_ids: Sequence[str]) -> models.QuerySet:
    return skus.filter(sku_list_items__sku_list__promotions__id__in=promotion_ids).annotate(
        _parent_id=F("sku_list_items__sku_list__promotions__id")
    )


def _rule_skus(skus: models.QuerySet, rule_ids: Sequence[str]) -> models.QuerySet:
    return skus.filter(sku_list_items__sku_list__sku_list_promotion_rules__id__in=rule_ids).annotate(
        _parent_id=F("sku_list_items__sku_list__sku_list_promotion_rules__id")
    )


def promotion_attributes() -> tuple[Any, ...]:
    """The attributes every promotion kind has (and ``promotions`` lists)."""
    return (
        String("name", "CUFfs", required=True),
        String("type", "Ffs", enum=PROMOTION_TYPES),
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
        # Commerce Layer's internal ranking score; promotions here rank by priority (discounts.applicable_promotions).
        Integer("weight", "F", compute=lambda row: None),
        Integer("coupons_count", "F", expression=_COUPONS_COUNT),
        Boolean("_disable", "CU", trigger=True),
        Boolean("_enable", "CU", trigger=True),
        Datetime("disabled_at", "Ffs"),
    )


def promotion_relationships() -> tuple[Any, ...]:
    return (
        ToOne("market", "markets", "CUf"),
        # The rules hold the foreign keys; each column is the reverse one-to-one. Written from this side, a
        # rule may only be the promotion's own (services.save_promotion).
        *(ToOne(name, f"{name}s", "CUf", column=name) for name in services.RULE_RELATIONSHIPS),
        ToOne("sku_list", "sku_lists", "CUf"),
        ToMany(
            "coupons",
            "coupons",
            "f",
            queryset=_coupons_of_promotions,
            lookup="coupon_codes_promotion_rule__coupons",
        ),
    )


# The SKUs of the promotion's sku_list (a manual list's items; none for a list by regular expression, as the
# list's own skus), empty without one.
SKUS = ToMany("skus", "skus", "", queryset=_promotion_skus, lookup="sku_list__sku_list_items__sku")


def _with_usage_reached(queryset: models.QuerySet) -> models.QuerySet:
    return queryset.annotate(
        total_usage_reached=ExpressionWrapper(
            Q(total_usage_limit__isnull=False, total_usage_count__gte=F("total_usage_limit")),
            output_field=BooleanField(),
        )
    )


@registry.register
@tagged
class PromotionResource(ServiceResource):
    """Every promotion, of every served kind, read-only: each is written (and fires its events) as its own
    type, so there is no promotions.* topic to subscribe to (has_events would make one)."""

    type = "promotions"
    model = Promotion
    actions = ("list", "retrieve")
    # One of Commerce Layer's cacheable classes (contract d): served from the response cache, which any write
    # of the environment invalidates; a status that changes with the clock alone (a promotion expiring) shows
    # once the cached document is rendered again.
    cacheable = True
    scope_only_queryset = True  # annotates constants only
    attributes = promotion_attributes()
    relationships = (
        *promotion_relationships(),
        ToMany("events", "events", "f", reverse="resource_id"),
    )

    @classmethod
    def queryset(cls) -> models.QuerySet:
        return _with_usage_reached(super().queryset())


class TypedPromotionResource(ServiceResource):
    """The promotions of one kind."""

    model = Promotion
    has_events = True
    promotion_type: ClassVar[str]
    scope_only_queryset = True  # narrows by its type, a constant
    relationships = promotion_relationships()

    @classmethod
    def queryset(cls) -> models.QuerySet:
        return _with_usage_reached(super().queryset().filter(type=cls.promotion_type))

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        return cls.update(Promotion(type=cls.promotion_type), payload)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, Promotion)
        changes = payload.model_fields(cls)
        rules = {name: payload.relationships[name] for name in services.RULE_RELATIONSHIPS if name in changes}
        return services.save_promotion(
            instance,
            {k: v for k, v in changes.items() if k not in rules},
            disable=payload.triggers.get("_disable") is True,
            enable=payload.triggers.get("_enable") is True,
            rules=rules,
        )


@registry.register
@tagged
class PercentageDiscountPromotionResource(TypedPromotionResource):
    type = PERCENTAGE_DISCOUNT
    promotion_type = PERCENTAGE_DISCOUNT
    relationships = (*promotion_relationships(), SKUS)
    attributes = (*promotion_attributes(), Integer("percentage", "CUF", required=True))


@registry.register
@tagged
class FixedAmountPromotionResource(TypedPromotionResource):
    type = FIXED_AMOUNT
    promotion_type = FIXED_AMOUNT
    relationships = (*promotion_relationships(), SKUS)
    attributes = (
        *promotion_attributes(),
        Integer("fixed_amount_cents", "CUF", required=True),
        *money("fixed_amount_cents", "fixed_amount_float", "formatted_fixed_amount", flags="CUF")[1:],
    )


@registry.register
@tagged
class FreeShippingPromotionResource(TypedPromotionResource):
    type = FREE_SHIPPING
    promotion_type = FREE_SHIPPING
    attributes = promotion_attributes()


@registry.register
@tagged
class FreeGiftPromotionResource(TypedPromotionResource):
    type = FREE_GIFT
    promotion_type = FREE_GIFT
    relationships = (*promotion_relationships(), SKUS)
    attributes = (
        *promotion_attributes(),
        Integer("max_quantity", "CUF", default=1, nullable=False),
    )


@registry.register
@tagged
class BuyXPayYPromotionResource(TypedPromotionResource):
    type = BUY_X_PAY_Y
    promotion_type = BUY_X_PAY_Y
    relationships = (*promotion_relationships(), SKUS)
    attributes = (
        *promotion_attributes(),
        Integer("x", "CUFfs", required=True),
        Integer("y", "CUFfs", required=True),
        Boolean("cheapest_free", "CUF", default=False, nullable=False),
    )


@registry.register
@tagged
class FixedPricePromotionResource(TypedPromotionResource):
    type = FIXED_PRICE
    promotion_type = FIXED_PRICE
    relationships = (*promotion_relationships(), SKUS)
    attributes = (
        *promotion_attributes(),
        Integer("fixed_amount_cents", "CUF", required=True),
        *money("fixed_amount_cents", "fixed_amount_float", "formatted_fixed_amount", flags="CUF")[1:],
    )


@registry.register
class CouponCodesPromotionRuleResource(ServiceResource):
    type = "coupon_codes_promotion_rules"
    model = CouponCodesPromotionRule
    save = staticmethod(services.save_rule)
    attributes = (String("type", "Ffs", enum=PROMOTION_RULE_TYPES),)  # annotated by queryset()
    relationships = (
        # Polymorphic: the promotion's type is read from its row (the annotation of queryset()).
        ToOne("promotion", SERVED_TYPES, "CUf", required=True, joins="promotions"),
        ToMany("coupons", "coupons", "f", reverse="promotion_rule_id"),
    )

    @classmethod
    def queryset(cls) -> models.QuerySet:
        return (
            super()
            .queryset()
            .annotate(type=Value(cls.type, output_field=CharField()), promotion_type=F("promotion__type"))
        )


class RuleResource(ServiceResource):
    """A rule of a promotion of any kind, one of each rule kind per promotion."""

    save = staticmethod(services.save_rule)

    @classmethod
    def queryset(cls) -> models.QuerySet:
        return (
            super()
            .queryset()
            .annotate(type=Value(cls.type, output_field=CharField()), promotion_type=F("promotion__type"))
        )


RULE_PROMOTION = ToOne("promotion", SERVED_TYPES, "CUf", required=True, joins="promotions")


@registry.register
class OrderAmountPromotionRuleResource(RuleResource):
    type = "order_amount_promotion_rules"
    model = OrderAmountPromotionRule
    attributes = (
        String("type", "Ffs", enum=PROMOTION_RULE_TYPES),  # annotated by queryset()
        Integer("order_amount_cents", "CUF"),
        # The currency is the promotion's (none: the amount is read in the order's own).
        *money(
            "order_amount_cents",
            "order_amount_float",
            "formatted_order_amount",
            flags="CUF",
            currency="promotion__currency_code",
        )[1:],
        Boolean("use_subtotal", "CUF", default=False, nullable=False),
    )
    relationships = (RULE_PROMOTION,)


@registry.register
class CustomPromotionRuleResource(RuleResource):
    type = "custom_promotion_rules"
    model = CustomPromotionRule
    attributes = (
        String("type", "Ffs", enum=PROMOTION_RULE_TYPES),  # annotated by queryset()
        Object("filters", "CUF"),
    )
    relationships = (RULE_PROMOTION,)


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


@registry.register
class SkuListPromotionRuleResource(RuleResource):
    type = "sku_list_promotion_rules"
    model = SkuListPromotionRule
    attributes = (
        String("type", "Ffs", enum=PROMOTION_RULE_TYPES),  # annotated by queryset()
        Boolean("all_skus", "CUF", default=False, nullable=False),
        Integer("min_quantity", "CUF"),
    )
    relationships = (
        RULE_PROMOTION,
        ToOne("sku_list", "sku_lists", "CUf"),
        ToMany("skus", "skus", "", queryset=_rule_skus, lookup="sku_list__sku_list_items__sku"),
    )
