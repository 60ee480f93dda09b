"""The gift_cards and gift_card_recipients resources."""

from __future__ import annotations

from django.db import models

from orderfactory.catalog.resources import ServiceResource
from orderfactory.core.money import money
from orderfactory.giftcards import services
from orderfactory.giftcards.models import GIFT_CARD_STATUSES, GiftCard, GiftCardRecipient
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import (
    Array,
    Boolean,
    Datetime,
    Integer,
    Object,
    Payload,
    Resource,
    String,
    ToOne,
)
from orderfactory.tags.resources import tagged


@registry.register
@tagged
class GiftCardResource(Resource):
    type = "gift_cards"
    model = GiftCard
    has_events = True
    attributes = (
        String("status", "Ffs", enum=GIFT_CARD_STATUSES),
        String("code", "CFf"),
        String("currency_code", "CUFfs"),
        *money("initial_balance_cents", "initial_balance_float", "formatted_initial_balance", flags="F"),
        *money("balance_cents", "balance_float", "formatted_balance", flags="CUFfs"),
        *money("balance_max_cents", "balance_max_float", "formatted_balance_max", flags="CUFfs"),
        Array("balance_log", "F"),
        Object("usage_log", "F"),
        Boolean("single_use", "CUFf", default=False, nullable=False),
        Boolean("rechargeable", "CUFf", default=True, nullable=False),
        # Stored and served; taxes are not reduced by a gift card here (docs/decisions.md, "Gift cards").
        Boolean("distribute_discount", "CUF", default=True, nullable=False),
        String("image_url", "CUF"),
        Datetime("expires_at", "CUFfs"),
        String(
            "recipient_email",
            "CUF",
            compute=lambda row: row["gift_card_recipient__email"],
            depends=("gift_card_recipient__email",),
        ),
        Boolean("_purchase", "U", trigger=True),
        Boolean("_activate", "U", trigger=True),
        Boolean("_deactivate", "U", trigger=True),
        Integer("_balance_change_cents", "U", trigger=True),
    )
    relationships = (
        ToOne("market", "markets", "CUf"),
        ToOne("gift_card_recipient", "gift_card_recipients", "CUf"),
    )

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        return cls.update(GiftCard(), payload)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, GiftCard)
        return services.save_gift_card(
            instance,
            payload.model_fields(cls),
            payload.triggers,
            recipient_email=payload.attributes.get("recipient_email"),
        )


@registry.register
class GiftCardRecipientResource(ServiceResource):
    type = "gift_card_recipients"
    model = GiftCardRecipient
    save = staticmethod(services.save_gift_card_recipient)
    attributes = (
        String("email", "CUFfs", required=True),
        String("first_name", "CUFf"),
        String("last_name", "CUFf"),
    )
    relationships = (ToOne("customer", "customers", "CUf"),)
