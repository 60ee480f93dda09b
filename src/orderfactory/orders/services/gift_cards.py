"""An order's gift cards (docs/decisions.md, "Gift cards"). The card whose code the order names
(``gift_card_code``) pays part of its total, up to the card's balance: ``gift_card_amount_cents``, negative as
Commerce Layer renders it; the balance is taken when the order is placed, under the card's row lock, and given
back when it is cancelled. The cards the order sells as line items of kind ``gift_cards`` are purchased
(``inactive``) when it is placed and become ``active`` when it is paid. Inside the caller's transaction."""

from __future__ import annotations

from orderfactory.core import clock
from orderfactory.core.errors import CommonErrorCode, DomainError, Problems
from orderfactory.giftcards import services as cards
from orderfactory.giftcards.error_codes import GiftCardErrorCode
from orderfactory.giftcards.models import GiftCard
from orderfactory.orders.models import LineItem, Order
from orderfactory.orders.services.rules import GIFT_CARD_LINE, check_amounts, require_editable


def usable_card(order: Order, *, lock: bool = False) -> GiftCard:
    """The card the order's ``gift_card_code`` names, if the order can redeem it; else a 422 on
    ``gift_card_code``."""
    assert order.gift_card_code
    return cards.usable_card(
        order.gift_card_code,
        currency_code=order.currency_code,
        market_id=order.market_id,
        at=clock.now(),
        lock=lock,
    )


def check_code(order: Order) -> None:
    """A ``gift_card_code`` given to the order: a card it can redeem, or a 422 on ``gift_card_code``."""
    if order.gift_card_code:
        usable_card(order)


def check_redemption(order: Order, problems: Problems, *, lock: bool) -> GiftCard | None:
    """What placing requires of the order's card: still usable, with at least the balance the order counted
    on; with ``lock`` its row is locked until placing commits, so two orders never take the same balance."""
    if not order.gift_card_code:
        return None
    try:
        card = usable_card(order, lock=lock)
    except DomainError as exc:
        for p in exc.problems:
            problems.add(p.attribute, p.message, p.code, pointer="/data/attributes/gift_card_code")
        return None
    counted = -order.gift_card_amount_cents
    if counted > (card.balance_cents or 0):
        problems.add(
            "gift_card_code",
            f"the gift card has {card.balance_cents} cents left, not the {counted} the order counted on",
            GiftCardErrorCode.INSUFFICIENT_BALANCE,
            pointer="/data/attributes/gift_card_code",
        )
    return card


def redeem(order: Order, card: GiftCard | None) -> None:
    """Placing: the order takes what its card pays (the card is locked by ``check_redemption``)."""
    if card is not None and order.gift_card_amount_cents:
        cards.take(card, -order.gift_card_amount_cents, order_id=order.pk, order_number=order.number)


def purchase(order: Order, ids: list[str]) -> None:
    """Placing: the cards the order sells (``ids``) are purchased; a free order is paid already, so they are
    active."""
    cards.move(ids, ("draft",), "inactive")
    if order.payment_status == "free":
        activate(order, ids)


def activate(order: Order, ids: list[str] | None = None) -> None:
    """The order is paid: the cards it sold become active."""
    cards.move(_purchased_card_ids(order) if ids is None else ids, ("draft", "inactive"), "active")


def give_back(order: Order) -> None:
    """Cancelling a placed order: the balance it took goes back to its card."""
    if order.gift_card_code:
        cards.give_back(order.gift_card_code, order_id=order.pk, order_number=order.number)


def _purchased_card_ids(order: Order) -> list[str]:
    return [
        pk
        for pk in LineItem.objects.filter(
            order=order, item_type=GIFT_CARD_LINE, total_amount_cents__gt=0
        ).values_list("gift_card_id", flat=True)
        if pk
    ]


def add_gift_card_line_item(order: Order, card: GiftCard, *, quantity: int | None) -> LineItem:
    """The order sells ``card`` (a draft card with a balance, in its currency, in no other order): one line at
    the card's balance, counted in the subtotal, never shipped, taxed when the rule's ``gift_card_taxable``.
    A positive line: the card an order redeems is a negative line of the same kind (pricing). The caller prices
    the order again."""
    require_editable(order)
    if quantity not in (None, 1):
        raise DomainError.of(CommonErrorCode.INVALID, "quantity", "a gift card is sold one at a time")
    problems = cards.purchasable(card, order.currency_code)
    if not problems and LineItem.objects.filter(gift_card=card, total_amount_cents__gt=0).exists():
        raise DomainError.of(
            GiftCardErrorCode.NOT_PURCHASABLE,
            "item",
            "the gift card is already sold by an order",
            pointer="/data/relationships/item",
        )
    if problems:
        raise DomainError(problems)
    amount = card.balance_cents or 0
    check_amounts(amount)
    line = LineItem(
        order=order,
        item_type=GIFT_CARD_LINE,
        item_id=card.pk,
        gift_card=card,
        quantity=1,
        currency_code=order.currency_code or card.currency_code,
        unit_amount_cents=amount,
        total_amount_cents=amount,
        name="Gift card",
        image_url=card.image_url,
    )
    line.save()
    return line
