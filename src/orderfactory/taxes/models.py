"""Tax calculators (one table for every kind, as Commerce Layer's single-table ``TaxCalculator``), the tax rules
of manual calculators and the tax categories of SKUs."""

from __future__ import annotations

import secrets

from django.db import models

from orderfactory.core.models import TenantModel, tenant_index

# Every type a tax calculator has in Commerce Layer (the enum of ``tax_calculators.type``)...
TAX_CALCULATOR_TYPES = (
    "avalara_accounts",
    "stripe_tax_accounts",
    "vertex_accounts",
    "taxjar_accounts",
    "manual_tax_calculators",
    "external_tax_calculators",
)
# ... and those served here: the others are third-party services (docs/compatibility.md).
MANUAL = "manual_tax_calculators"
EXTERNAL = "external_tax_calculators"
SERVED_TYPES = (MANUAL, EXTERNAL)
CIRCUIT_STATES = ("closed", "open")


def new_shared_secret() -> str:
    """32 random bytes, URL-safe: the key of the HMAC that signs each call to an external tax calculator."""
    return secrets.token_urlsafe(32)


class TaxCalculator(TenantModel):
    """A manual or an external tax calculator; ``type`` is its JSON:API type. The external columns are null
    on a manual one."""

    type = models.CharField(max_length=32)
    name = models.CharField(max_length=255)
    tax_calculator_url = models.CharField(max_length=2048, null=True, blank=True)
    shared_secret = models.CharField(max_length=255, null=True, blank=True)
    external_includes = models.JSONField(null=True, blank=True)
    circuit_state = models.CharField(max_length=16, default="closed")
    circuit_failure_count = models.IntegerField(default=0)

    class Meta(TenantModel.Meta):
        constraints = [
            models.CheckConstraint(condition=models.Q(type__in=SERVED_TYPES), name="tax_calculator_type"),
        ]
        indexes = [
            tenant_index("tax_calculator_tenant", "created_at"),
            # Each of the typed lists (manual_tax_calculators, external_tax_calculators) reads its own rows.
            tenant_index("tax_calculator_type_tenant", "type", "created_at"),
        ]

    @property
    def jsonapi_type(self) -> str:
        return self.type


class TaxRule(TenantModel):
    """A rate that applies to the shipping addresses its regular expressions match (manual calculators)."""

    # Commerce Layer's foreign key of the ``manual_tax_calculator`` relationship.
    tax_calculator = models.ForeignKey(TaxCalculator, on_delete=models.CASCADE, related_name="tax_rules")
    name = models.CharField(max_length=255)
    tax_rate = models.DecimalField(max_digits=9, decimal_places=6, default=0)
    freight_taxable = models.BooleanField(default=False)
    payment_method_taxable = models.BooleanField(default=False)
    gift_card_taxable = models.BooleanField(default=False)
    adjustment_taxable = models.BooleanField(default=False)
    country_code_regex = models.TextField(null=True, blank=True)
    not_country_code_regex = models.TextField(null=True, blank=True)
    state_code_regex = models.TextField(null=True, blank=True)
    not_state_code_regex = models.TextField(null=True, blank=True)
    zip_code_regex = models.TextField(null=True, blank=True)
    not_zip_code_regex = models.TextField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tax_rate__gte=0, tax_rate__lte=1), name="tax_rule_tax_rate_range"
            ),
        ]
        indexes = [
            tenant_index("tax_rule_tenant", "created_at"),
            # A calculator's rules, in the order they are tried.
            tenant_index("tax_rule_calculator_tenant", "tax_calculator", "created_at"),
        ]


class TaxCategory(TenantModel):
    """The tax code of one SKU for one calculator (a product tax code, e.g. TaxJar's ``31000``)."""

    code = models.CharField(max_length=255)
    sku = models.ForeignKey("catalog.Sku", on_delete=models.CASCADE, related_name="tax_categories")
    tax_calculator = models.ForeignKey(TaxCalculator, on_delete=models.CASCADE, related_name="tax_categories")
    tax_calculator_type = models.CharField(max_length=32)

    class Meta(TenantModel.Meta):
        constraints = [
            # One code per SKU and calculator: the one its lines are taxed by.
            models.UniqueConstraint(
                fields=["tax_calculator", "sku"], name="tax_category_calculator_sku_uniq"
            ),
        ]
        indexes = [tenant_index("tax_category_tenant", "created_at")]
        verbose_name_plural = "tax categories"
