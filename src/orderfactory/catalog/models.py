"""Merchants, price lists, shipping categories and markets."""

from __future__ import annotations

from django.db import models

from orderfactory.core.models import TenantModel


def unique_code(model: str) -> models.UniqueConstraint:
    """Codes "must be unique within the environment" (organization and mode); many rows may have none."""
    return models.UniqueConstraint(
        fields=["organization", "mode", "code"],
        condition=models.Q(code__isnull=False),
        name=f"{model}_code_uniq",
    )


class Merchant(TenantModel):
    name = models.CharField(max_length=255)
    address = models.ForeignKey("addresses.Address", on_delete=models.PROTECT, related_name="+")


class PriceList(TenantModel):
    name = models.CharField(max_length=255)
    code = models.CharField(max_length=255, null=True, blank=True)
    currency_code = models.CharField(max_length=3)
    tax_included = models.BooleanField(default=True)
    rules = models.JSONField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [unique_code("price_list")]


class ShippingCategory(TenantModel):
    name = models.CharField(max_length=255)
    code = models.CharField(max_length=255, null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [unique_code("shipping_category")]
        verbose_name_plural = "shipping categories"


class Market(TenantModel):
    """Not served yet (the markets resource comes with the orders domain); token scopes ``market:code:X``
    already resolve through it."""

    number = models.IntegerField(null=True, blank=True)
    name = models.CharField(max_length=255)
    code = models.CharField(max_length=255, null=True, blank=True)
    facebook_pixel_id = models.CharField(max_length=255, null=True, blank=True)
    checkout_url = models.CharField(max_length=255, null=True, blank=True)
    external_prices_url = models.CharField(max_length=255, null=True, blank=True)
    external_order_validation_url = models.CharField(max_length=255, null=True, blank=True)
    private = models.BooleanField(default=False)
    shipping_cost_cutoff = models.IntegerField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    shared_secret = models.CharField(max_length=255, null=True, blank=True)
    external_includes = models.JSONField(null=True, blank=True)
    # Required by Commerce Layer; nullable until the markets resource enforces it in its service.
    merchant = models.ForeignKey(Merchant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    price_list = models.ForeignKey(
        PriceList, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    inventory_model = models.ForeignKey(
        "inventory.InventoryModel", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta(TenantModel.Meta):
        constraints = [unique_code("market")]
