"""The adjustments resource."""

from __future__ import annotations

from orderfactory.adjustments import services
from orderfactory.adjustments.models import Adjustment
from orderfactory.catalog.resources import ServiceResource
from orderfactory.core.money import money
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import Boolean, String

AMOUNT_CENTS, AMOUNT_FLOAT, FORMATTED_AMOUNT = money(
    "amount_cents", "amount_float", "formatted_amount", flags="CUFfs"
)
AMOUNT_CENTS.required = True


@registry.register
class AdjustmentResource(ServiceResource):
    type = "adjustments"
    model = Adjustment
    save = staticmethod(services.save_adjustment)
    attributes = (
        String("name", "CUFfs", required=True),
        String("currency_code", "CUFfs", required=True),
        AMOUNT_CENTS,
        AMOUNT_FLOAT,
        FORMATTED_AMOUNT,
        Boolean("distribute_discount", "CUF", default=True, nullable=False),
    )
