"""Payment gateways."""

from __future__ import annotations

from django.db import models

from orderfactory.core.models import TenantModel


class ManualGateway(TenantModel):
    name = models.CharField(max_length=255)
    force_payments = models.BooleanField(default=False)
    disabled_at = models.DateTimeField(null=True, blank=True)
