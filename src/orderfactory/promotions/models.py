"""Promotions (one table for every kind served, as Commerce Layer's single-table ``Promotion``), their coupon
codes rule and its coupons."""

from __future__ import annotations

from django.db import models

from orderfactory.core.models import TenantModel, tenant_index

# Every type a promotion has in Commerce Layer (the enum of ``promotions.type``)...
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
# ... and those served here (the others need an external service: docs/compatibility.md).
PERCENTAGE_DISCOUNT = "percentage_discount_promotions"
FIXED_AMOUNT = "fixed_amount_promotions"
FREE_SHIPPING = "free_shipping_promotions"
FREE_GIFT = "free_gift_promotions"
BUY_X_PAY_Y = "buy_x_pay_y_promotions"
FIXED_PRICE = "fixed_price_promotions"
SERVED_TYPES = (PERCENTAGE_DISCOUNT, FREE_SHIPPING, FIXED_AMOUNT, FREE_GIFT, BUY_X_PAY_Y, FIXED_PRICE)
# The kinds that price units of their SKU list's SKUs, and so need one.
LIST_TYPES = (FREE_GIFT, BUY_X_PAY_Y, FIXED_PRICE)


class Promotion(TenantModel):
    """A promotion of any served kind; ``type`` is its JSON:API type. ``percentage`` is set on percentage
    discounts only, ``fixed_amount_cents`` on fixed amount and fixed price promotions only, ``max_quantity``
    on free gifts, ``x``, ``y`` and ``cheapest_free`` on buy X pay Y promotions. ``sku_list`` restricts a
    percentage discount or fixed amount to the list's SKUs, and is what the free gift, buy X pay Y and fixed
    price kinds price."""

    type = models.CharField(max_length=40, default=PERCENTAGE_DISCOUNT)
    name = models.CharField(max_length=255)
    currency_code = models.CharField(max_length=3, null=True, blank=True)
    exclusive = models.BooleanField(default=False)
    # Lower means higher priority; Commerce Layer leaves it optional, and a promotion without one ranks last.
    priority = models.IntegerField(null=True, blank=True)
    starts_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    total_usage_limit = models.IntegerField(null=True, blank=True)  # null: unlimited
    total_usage_count = models.IntegerField(default=0)
    percentage = models.IntegerField(null=True, blank=True)
    fixed_amount_cents = models.BigIntegerField(null=True, blank=True)
    max_quantity = models.IntegerField(null=True, blank=True)
    x = models.IntegerField(null=True, blank=True)
    y = models.IntegerField(null=True, blank=True)
    cheapest_free = models.BooleanField(default=False)
    sku_list = models.ForeignKey(
        "catalog.SkuList", null=True, blank=True, on_delete=models.PROTECT, related_name="promotions"
    )
    disabled_at = models.DateTimeField(null=True, blank=True)
    market = models.ForeignKey(
        "catalog.Market", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta(TenantModel.Meta):
        constraints = [
            models.CheckConstraint(condition=models.Q(type__in=SERVED_TYPES), name="promotion_type"),
            models.CheckConstraint(
                condition=models.Q(percentage__gte=0, percentage__lte=100),
                name="percentage_discount_promotion_percentage_range",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("starts_at")),
                name="percentage_discount_promotion_expires_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(total_usage_count__gte=0),
                name="percentage_discount_promotion_usage_count_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(fixed_amount_cents__gte=0), name="promotion_fixed_amount_positive"
            ),
        ]
        indexes = [
            tenant_index("promotion_tenant", "created_at"),
            # Each typed list (percentage_discount_promotions, ...) reads its own rows.
            tenant_index("promotion_type_tenant", "type", "created_at"),
        ]

    @property
    def jsonapi_type(self) -> str:
        return self.type


class CouponCodesPromotionRule(TenantModel):
    """A promotion with this rule applies only to orders carrying one of its coupons. One per promotion."""

    promotion = models.OneToOneField(
        Promotion, on_delete=models.CASCADE, related_name="coupon_codes_promotion_rule"
    )

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("promotion_rule_tenant", "created_at")]


class Coupon(TenantModel):
    # Unique within the environment, not only within its rule: an order names its coupon by code alone.
    code = models.CharField(max_length=255)
    customer_single_use = models.BooleanField(default=False)
    usage_limit = models.IntegerField(null=True, blank=True)  # null: unlimited
    usage_count = models.IntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    recipient_email = models.CharField(max_length=255, null=True, blank=True)
    promotion_rule = models.ForeignKey(
        CouponCodesPromotionRule, on_delete=models.CASCADE, related_name="coupons"
    )

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "mode", "code"], name="coupon_code_uniq"),
            models.CheckConstraint(
                condition=models.Q(usage_count__gte=0), name="coupon_usage_count_positive"
            ),
        ]
        indexes = [tenant_index("coupon_tenant", "created_at")]


class OrderAmountPromotionRule(TenantModel):
    """A promotion with this rule applies only to orders of at least ``order_amount_cents`` (their subtotal
    when ``use_subtotal``). One per promotion."""

    promotion = models.OneToOneField(
        Promotion, on_delete=models.CASCADE, related_name="order_amount_promotion_rule"
    )
    order_amount_cents = models.BigIntegerField(null=True, blank=True)
    use_subtotal = models.BooleanField(default=False)

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("order_amount_rule_tenant", "created_at")]


class CustomPromotionRule(TenantModel):
    """A promotion with this rule applies only to orders its ``filters`` (Ransack predicates on the order and
    its line items, promotions.conditions) match. One per promotion."""

    promotion = models.OneToOneField(
        Promotion, on_delete=models.CASCADE, related_name="custom_promotion_rule"
    )
    filters = models.JSONField(default=dict)

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("custom_rule_tenant", "created_at")]


class SkuListPromotionRule(TenantModel):
    """A promotion with this rule applies only to orders holding any (``all_skus``: every one) of the SKUs
    of its list (its promotion's when it has none), or at least ``min_quantity`` units of them. One per
    promotion."""

    promotion = models.OneToOneField(
        Promotion, on_delete=models.CASCADE, related_name="sku_list_promotion_rule"
    )
    sku_list = models.ForeignKey(
        "catalog.SkuList",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sku_list_promotion_rules",
    )
    all_skus = models.BooleanField(default=False)
    min_quantity = models.IntegerField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("sku_list_rule_tenant", "created_at")]
