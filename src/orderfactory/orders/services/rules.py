"""What every order use-case checks: the statuses in which an order may be edited, the limits of quantities
and amounts, the kinds of lines, and where a problem about an order points."""

from __future__ import annotations

from orderfactory.core.errors import DomainError
from orderfactory.jsonapi.resource import JSON_SAFE_INTEGER
from orderfactory.orders.error_codes import OrderErrorCode
from orderfactory.orders.models import Order

MAX_QUANTITY = 100_000
# Totals have the range of the amounts they add up (a price's amount_cents): what a JSON client reads exactly.
MAX_AMOUNT = JSON_SAFE_INTEGER
SKU = "skus"
SHIPMENT_LINE = "shipments"
PAYMENT_LINE = "payment_methods"
# The promotion kinds served (promotions.models.SERVED_TYPES): a line of one of them is a discount line.
PROMOTION_LINES = (
    "percentage_discount_promotions",
    "free_shipping_promotions",
    "fixed_amount_promotions",
    "free_gift_promotions",
    "buy_x_pay_y_promotions",
    "fixed_price_promotions",
)
FREE_SHIPPING_LINE = "free_shipping_promotions"
ADJUSTMENT_LINE = "adjustments"
GIFT_CARD_LINE = "gift_cards"  # a gift card the order sells (orders.services.gift_cards)
BUNDLE_LINE = "bundles"
# The lines of goods: priced from the catalog, shipped, stocked, in the subtotal.
GOODS = (SKU, BUNDLE_LINE)
# What a line item's ``item`` may be here.
ITEM_TARGETS = (
    SKU,
    BUNDLE_LINE,
    GIFT_CARD_LINE,
    SHIPMENT_LINE,
    PAYMENT_LINE,
    *PROMOTION_LINES,
    ADJUSTMENT_LINE,
)
EDITABLE = ("draft", "pending", "editing")

# Problems named after a relationship of the order point at it; the others at an attribute.
ORDER_RELATIONSHIPS = frozenset(
    (
        "market",
        "customer",
        "billing_address",
        "shipping_address",
        "payment_method",
        "payment_source",
        "line_items",
        "shipments",
    )
)


def pointer(attribute: str) -> str:
    section = "relationships" if attribute in ORDER_RELATIONSHIPS else "attributes"
    return f"/data/{section}/{attribute}"


def transition_error(current: str, target: str) -> DomainError:
    return DomainError.of(
        OrderErrorCode.TRANSITION, "status", f"cannot transition from {current} to {target}"
    )


def require_editable(order: Order) -> None:
    if order.status not in EDITABLE:
        raise DomainError.of(
            OrderErrorCode.NOT_EDITABLE, "status", f"cannot modify an order in status {order.status}"
        )


def check_amounts(*amounts: int) -> None:
    """A total beyond the range of amounts (prices up to MAX_AMOUNT times quantities up to MAX_QUANTITY can
    get there) is refused before anything is written, as a price beyond it is."""
    if any(not -MAX_AMOUNT <= amount <= MAX_AMOUNT for amount in amounts):
        raise DomainError.of(
            OrderErrorCode.OUT_OF_RANGE,
            "total_amount_cents",
            f"must be between {-MAX_AMOUNT} and {MAX_AMOUNT}",
            count=MAX_AMOUNT,
        )
