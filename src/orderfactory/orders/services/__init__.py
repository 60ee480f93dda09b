"""The order use-cases, one module per responsibility:

- ``editing``: the changes a client makes (``change_order`` is the order's PATCH; line items, shipments);
- ``building``: create an order, set its customer, link its payment source, copy addresses onto it;
- ``lines``: SKU and bundle line items of an editable order;
- ``options``: line item options (a SKU option a SKU line takes);
- ``goods``: what a line of goods holds (a bundle line its bundle's SKUs);
- ``pricing``: price an order from its lines (``recompute``), ``_refresh``;
- ``taxing``: the order's taxes from its market's tax calculator, ``_update_taxes``;
- ``external_promotions``: an order's external promotions, called once its pricing commits;
- ``shipments``: build the shipments and choose their shipping methods;
- ``checks``: what placing requires (``_validate``);
- ``placing``: ``_place``, with the payment authorization;
- ``paying``: after placing, ``_capture``, ``_refund`` and voids, with their transactions and payment status;
- ``transitions``: cancel, approve, archive, delete;
- ``fulfilment``: a shipment's PATCH and fulfilment triggers, and the order's ``fulfillment_status``;
- ``loading``: the reads and row locks the use-cases start from;
- ``rules``: the editable statuses, limits, line kinds and the errors every use-case raises.

The names other apps use are re-exported here; new code imports from the module that owns the name.
"""

from orderfactory.orders.services import external_promotions  # noqa: F401  (registers its refresher)
from orderfactory.orders.services.building import (
    clone_address,
    clone_addresses,
    create_order,
    link_payment_source,
    own_payment_source,
    payment_source_of,
    save_payment_source_to_wallet,
    set_customer_email,
)
from orderfactory.orders.services.checks import check_placeable, validate
from orderfactory.orders.services.editing import (
    add_line_item,
    change_line_item,
    change_order,
    link_order_payment_source,
    remove_line_item,
)
from orderfactory.orders.services.fulfilment import change_shipment
from orderfactory.orders.services.lines import add_sku_line_item, delete_line_item, update_line_item
from orderfactory.orders.services.loading import lock_order
from orderfactory.orders.services.placing import place
from orderfactory.orders.services.pricing import recompute, refresh
from orderfactory.orders.services.rules import (
    ADJUSTMENT_LINE,
    BUNDLE_LINE,
    EDITABLE,
    GIFT_CARD_LINE,
    GOODS,
    MAX_AMOUNT,
    MAX_QUANTITY,
    PAYMENT_LINE,
    PROMOTION_LINES,
    SHIPMENT_LINE,
    SKU,
    check_amounts,
    require_editable,
    transition_error,
)
from orderfactory.orders.services.shipments import (
    DroppedMethods,
    PreferredMethods,
    available_shipping_methods,
    shipping_method_applies,
)
from orderfactory.orders.services.transitions import approve, archive, cancel, delete_order

__all__ = [
    "ADJUSTMENT_LINE",
    "BUNDLE_LINE",
    "EDITABLE",
    "GIFT_CARD_LINE",
    "GOODS",
    "MAX_AMOUNT",
    "MAX_QUANTITY",
    "PAYMENT_LINE",
    "PROMOTION_LINES",
    "SHIPMENT_LINE",
    "SKU",
    "DroppedMethods",
    "PreferredMethods",
    "add_line_item",
    "add_sku_line_item",
    "approve",
    "archive",
    "available_shipping_methods",
    "cancel",
    "change_line_item",
    "change_order",
    "change_shipment",
    "check_amounts",
    "check_placeable",
    "clone_address",
    "clone_addresses",
    "create_order",
    "delete_line_item",
    "delete_order",
    "link_order_payment_source",
    "link_payment_source",
    "lock_order",
    "own_payment_source",
    "payment_source_of",
    "place",
    "recompute",
    "refresh",
    "remove_line_item",
    "require_editable",
    "save_payment_source_to_wallet",
    "set_customer_email",
    "shipping_method_applies",
    "transition_error",
    "update_line_item",
    "validate",
]
