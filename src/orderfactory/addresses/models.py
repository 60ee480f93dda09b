"""Postal addresses: of customers, orders, merchants and stock locations."""

from __future__ import annotations

from django.db import models

from orderfactory.core.models import TenantModel, tenant_index


class Address(TenantModel):
    business = models.BooleanField(default=False)
    first_name = models.CharField(max_length=255, null=True, blank=True)
    last_name = models.CharField(max_length=255, null=True, blank=True)
    company = models.CharField(max_length=255, null=True, blank=True)
    line_1 = models.CharField(max_length=255, null=True, blank=True)
    line_2 = models.CharField(max_length=255, null=True, blank=True)
    city = models.CharField(max_length=255, null=True, blank=True)
    zip_code = models.CharField(max_length=255, null=True, blank=True)
    state_code = models.CharField(max_length=255, null=True, blank=True)
    country_code = models.CharField(max_length=255, null=True, blank=True)
    phone = models.CharField(max_length=255, null=True, blank=True)
    email = models.CharField(max_length=255, null=True, blank=True)
    notes = models.TextField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    billing_info = models.CharField(max_length=255, null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("address_tenant", "created_at")]
