"""Percentage discount promotions, their coupon codes rule and its coupons."""

from __future__ import annotations

from django.db import models

from orderfactory.core.models import TenantModel, tenant_index


class PercentageDiscountPromotion(TenantModel):
    name = models.CharField(max_length=255)
    currency_code = models.CharField(max_length=3, null=True, blank=True)
    exclusive = models.BooleanField(default=False)
    # Lower means higher priority; Commerce Layer leaves it optional, and a promotion without one ranks last.
    priority = models.IntegerField(null=True, blank=True)
    starts_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    total_usage_limit = models.IntegerField(null=True, blank=True)  # null: unlimited
    total_usage_count = models.IntegerField(default=0)
    percentage = models.IntegerField()
    disabled_at = models.DateTimeField(null=True, blank=True)
    market = models.ForeignKey(
        "catalog.Market", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta(TenantModel.Meta):
        constraints = [
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
        ]
        indexes = [tenant_index("promotion_tenant", "created_at")]


class CouponCodesPromotionRule(TenantModel):
    """A promotion with this rule applies only to orders carrying one of its coupons. One per promotion."""

    promotion = models.OneToOneField(
        PercentageDiscountPromotion, on_delete=models.CASCADE, related_name="coupon_codes_promotion_rule"
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
