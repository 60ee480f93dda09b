"""Gift cards and their recipients. A card is a payment instrument: its balance pays (part of) an order that
names its code (``gift_card_code``), and a card bought as a line item of kind ``gift_cards`` becomes active
when that order is paid (orders.services.gift_cards)."""

from __future__ import annotations

from django.db import models

from orderfactory.core.models import TenantModel, tenant_index

GIFT_CARD_STATUSES = ("draft", "inactive", "active", "redeemed")


class GiftCardRecipient(TenantModel):
    email = models.CharField(max_length=255)
    first_name = models.CharField(max_length=255, null=True, blank=True)
    last_name = models.CharField(max_length=255, null=True, blank=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("gift_card_recipient_tenant", "created_at")]


class GiftCard(TenantModel):
    # Looked up by exact match within the organization and mode (services.usable_card).
    code = models.CharField(max_length=40)
    status = models.CharField(max_length=16, default="draft")
    currency_code = models.CharField(max_length=3, null=True, blank=True)
    initial_balance_cents = models.BigIntegerField(default=0)
    balance_cents = models.BigIntegerField(null=True, blank=True)
    balance_max_cents = models.BigIntegerField(null=True, blank=True)
    # [{"datetime", "balance_change_cents"}]: every change of the balance after the card left draft.
    balance_log = models.JSONField(default=list)
    # order id -> [{"action": "use" | "restore", "amount_cents", "balance_cents", "order_number", "datetime"}]
    usage_log = models.JSONField(default=dict)
    single_use = models.BooleanField(default=False)
    rechargeable = models.BooleanField(default=True)
    distribute_discount = models.BooleanField(default=True)
    image_url = models.CharField(max_length=2048, null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    market = models.ForeignKey(
        "catalog.Market", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    gift_card_recipient = models.ForeignKey(
        GiftCardRecipient, null=True, blank=True, on_delete=models.SET_NULL, related_name="gift_cards"
    )

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "mode", "code"], name="gift_card_code_uniq")
        ]
        indexes = [tenant_index("gift_card_tenant", "created_at")]
