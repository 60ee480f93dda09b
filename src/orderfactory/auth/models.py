"""Organizations and the API applications (client credentials) that act in them."""

from __future__ import annotations

from django.db import models

from orderfactory.auth.kinds import KINDS, SALES_CHANNEL
from orderfactory.core import clock
from orderfactory.core.ids import new_id

MODES = ("test", "live")


class Organization(models.Model):
    id = models.CharField(primary_key=True, max_length=10, default=new_id, editable=False)
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=255)
    domain = models.CharField(max_length=255, null=True, blank=True)
    support_phone = models.CharField(max_length=255, null=True, blank=True)
    support_email = models.CharField(max_length=255, null=True, blank=True)
    logo_url = models.CharField(max_length=255, null=True, blank=True)
    favicon_url = models.CharField(max_length=255, null=True, blank=True)
    primary_color = models.CharField(max_length=32, null=True, blank=True)
    gtm_id = models.CharField(max_length=64, null=True, blank=True)
    gtm_id_test = models.CharField(max_length=64, null=True, blank=True)
    contrast_color = models.CharField(max_length=32, null=True, blank=True)
    region = models.CharField(max_length=32, default="eu-west-1")
    config = models.JSONField(default=dict)
    reference = models.CharField(max_length=255, null=True, blank=True)
    reference_origin = models.CharField(max_length=255, null=True, blank=True)
    metadata = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return self.slug


class Application(models.Model):
    id = models.CharField(primary_key=True, max_length=10, default=new_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="applications")
    mode = models.CharField(max_length=4, choices=[(m, m) for m in MODES])
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=32, choices=[(k, k) for k in KINDS])
    client_id = models.CharField(max_length=64, unique=True)
    # SHA-256 of the secret: secrets are 256-bit random strings, so a slow password hash buys nothing and would
    # slow every token request down (docs/auth.md). The secret itself is shown once, at creation.
    client_secret_hash = models.CharField(max_length=255)
    revoked_at = models.DateTimeField(null=True, blank=True)
    reference = models.CharField(max_length=255, null=True, blank=True)
    reference_origin = models.CharField(max_length=255, null=True, blank=True)
    metadata = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    @property
    def public(self) -> bool:
        return self.kind == SALES_CHANNEL

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}, {self.mode})"
