"""Adjustments: an amount, positive or negative, that an order takes as a line item of kind ``adjustments``
(a fee, a goodwill discount), counted in its ``adjustment_amount_cents``."""

from __future__ import annotations

from django.db import models

from orderfactory.core.models import TenantModel, tenant_index


class Adjustment(TenantModel):
    name = models.CharField(max_length=255)
    currency_code = models.CharField(max_length=3)
    amount_cents = models.BigIntegerField()
    # For tax calculation only (a negative amount spread over the taxed lines); stored as given.
    distribute_discount = models.BooleanField(default=True)

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("adjustment_tenant", "created_at")]
