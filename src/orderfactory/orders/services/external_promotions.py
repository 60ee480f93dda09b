"""An order's external promotions, called once the transaction that priced it commits (promotions.external
asks for it, through the function registered here): the order's document read in a first transaction, each
promotion's service called with none open, what they answered stored and the order priced again in a second
one, which takes the answers (they were given for the order as it is, ``fingerprint``) and asks for nothing
more. An order changed meanwhile was priced by its own change, which asked for its own call."""

from __future__ import annotations

from django.db import transaction

from orderfactory.core import hooks
from orderfactory.orders.models import Order
from orderfactory.orders.services import pricing, taxing
from orderfactory.orders.services.loading import lock_order
from orderfactory.promotions import external
from orderfactory.promotions.models import Promotion


@external.refreshes_orders
def refresh(order_id: str, state: str, promotion_ids: tuple[str, ...]) -> None:
    with external.refreshing(order_id):
        with transaction.atomic():
            status = Order.objects.filter(pk=order_id).values_list("status", flat=True).first()
            if status not in external.CALLED_STATUSES:
                return  # gone, or placed meanwhile: its promotions are what they were
            promotions = list(Promotion.objects.filter(pk__in=promotion_ids).order_by("id"))
            document = taxing.document(order_id, ",".join(external.DOCUMENT_INCLUDE))
        results = {promotion.pk: external.call(promotion, document) for promotion in promotions}
        with transaction.atomic():
            order = lock_order(order_id)
            external.store(order_id, state, results)
            if order.status in external.CALLED_STATUSES:
                with hooks.recording("orders", order, only_if_changed=True):
                    pricing.recompute(order)
