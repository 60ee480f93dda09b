"""Gift card writes and the questions orders ask of a card. A card's life (Commerce Layer's): ``draft`` when
created, ``_purchase`` makes it ``inactive``, ``_activate`` ``active`` (usable), ``_deactivate`` back to
``inactive``; a single-use card is ``redeemed`` by its first use. Its balance changes by
``_balance_change_cents`` (a recharge only if ``rechargeable``, never above ``balance_max_cents``) and by the
orders that redeem it (``take``, given back by ``give_back``), each change logged."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import transaction

from orderfactory.catalog.models import Market
from orderfactory.catalog.services import blank, invalid_currency, negative, required, save, taken
from orderfactory.core import clock, hooks, locks
from orderfactory.core.errors import CommonErrorCode, DomainError, Problem, problem
from orderfactory.core.errors import blank as blank_problem
from orderfactory.giftcards.error_codes import GiftCardErrorCode
from orderfactory.giftcards.models import GiftCard, GiftCardRecipient
from orderfactory.jsonapi.resource import format_datetime

MIN_CODE_LENGTH = 8  # the organization's gift_cards_min_code_length and max_code_length, as served
MAX_CODE_LENGTH = 40
# trigger -> (the statuses it leaves, the status it reaches)
TRANSITIONS = {
    "_purchase": (("draft",), "inactive"),
    "_activate": (("draft", "inactive"), "active"),
    "_deactivate": (("active",), "inactive"),
}


def _code_problems(card: GiftCard) -> list[Problem]:
    length = len(card.code)
    if length < MIN_CODE_LENGTH:
        return [
            problem(
                "code", f"is too short (minimum is {MIN_CODE_LENGTH} characters)", CommonErrorCode.TOO_SHORT
            )
        ]
    if length > MAX_CODE_LENGTH:
        return [
            problem(
                "code", f"is too long (maximum is {MAX_CODE_LENGTH} characters)", CommonErrorCode.TOO_LONG
            )
        ]
    return taken(card, "code")


def _problems(card: GiftCard) -> list[Problem]:
    found = [blank_problem(name) for name in ("currency_code", "balance_cents") if blank(getattr(card, name))]
    found += (
        invalid_currency(card) + negative(card, "balance_cents", "balance_max_cents") + _code_problems(card)
    )
    if card.balance_max_cents is not None and (card.balance_cents or 0) > card.balance_max_cents:
        found.append(
            problem(
                "balance_cents",
                f"must be less than or equal to {card.balance_max_cents}",
                CommonErrorCode.LESS_THAN_OR_EQUAL_TO,
                count=card.balance_max_cents,
            )
        )
    market_currency = _market_currency(card)
    if market_currency and card.currency_code and card.currency_code != market_currency:
        found.append(problem("currency_code", f"must be the market's ({market_currency})"))
    return found


def _market_currency(card: GiftCard) -> str | None:
    """The currency of the card's market (its price list's), if it has one."""
    if not card.market_id:
        return None
    return (
        Market.objects.filter(pk=card.market_id).values_list("price_list__currency_code", flat=True).first()
    )


@transaction.atomic
def save_gift_card(
    card: GiftCard, changes: dict[str, Any], triggers: dict[str, Any], recipient_email: str | None = None
) -> GiftCard:
    """Create (an unsaved ``card``) or update a gift card: its attributes, ``recipient_email`` (finds or
    creates the recipient), then its triggers, every problem at once."""
    new = card._state.adding
    if not new:
        card = locks.lock_one(GiftCard.objects.all(), card.pk) or card
    if (
        "balance_cents" in changes
        and not new
        and card.status != "draft"
        and changes["balance_cents"] != card.balance_cents
    ):
        raise DomainError.of(
            CommonErrorCode.INVALID,
            "balance_cents",
            "changes with _balance_change_cents once the card is purchased",
        )
    for column, value in changes.items():
        setattr(card, column, value)
    if new and blank(card.code):
        card.code = str(uuid.uuid4())
    if blank(card.currency_code):
        card.currency_code = _market_currency(card)
    if recipient_email is not None:
        card.gift_card_recipient = _recipient(recipient_email) if recipient_email else None
    found = _problems(card)
    if found:
        raise DomainError(found)
    if card.status == "draft":
        card.initial_balance_cents = card.balance_cents or 0
    _apply_triggers(card, triggers)
    card.save()
    return card


def _recipient(email: str) -> GiftCardRecipient:
    found = GiftCardRecipient.objects.filter(email=email).order_by("created_at").first()
    return found or GiftCardRecipient.objects.create(email=email)


def _apply_triggers(card: GiftCard, triggers: dict[str, Any]) -> None:
    for name, (sources, target) in TRANSITIONS.items():
        if triggers.get(name):
            if card.status not in sources:
                raise DomainError.of(
                    CommonErrorCode.TRANSITION, name, f"cannot transition from {card.status} to {target}"
                )
            card.status = target
    change = triggers.get("_balance_change_cents")
    if change:
        change_balance(card, change)


def change_balance(card: GiftCard, change: int) -> None:
    """``_balance_change_cents``: a negative change spends, a positive one recharges (a rechargeable card
    only, up to ``balance_max_cents``); logged in ``balance_log``. A refused change changes nothing."""
    balance = (card.balance_cents or 0) + change
    if balance < 0:
        raise DomainError.of(
            GiftCardErrorCode.NO_BALANCE,
            "_balance_change_cents",
            f"cannot take more than the balance ({card.balance_cents})",
        )
    if change > 0 and not card.rechargeable:
        raise DomainError.of(
            GiftCardErrorCode.NOT_RECHARGEABLE, "_balance_change_cents", "the card is not rechargeable"
        )
    if change > 0 and card.balance_max_cents is not None and balance > card.balance_max_cents:
        raise DomainError.of(
            GiftCardErrorCode.BALANCE_MAX,
            "_balance_change_cents",
            f"the balance cannot exceed {card.balance_max_cents}",
        )
    card.balance_cents = balance
    if card.status == "draft":  # still being set up: the balance it starts with, not a change of it
        card.initial_balance_cents = balance
    else:
        _log_balance(card, change)


def _log_balance(card: GiftCard, change: int) -> None:
    """``balance_log``: every change after the card left draft, so ``initial_balance_cents`` plus its changes
    is always the balance."""
    card.balance_log = [
        *card.balance_log,
        {"datetime": format_datetime(clock.now()), "balance_change_cents": change},
    ]


# --- what orders ask -----------------------------------------------------------------------------------------


def usable_card(
    code: str, *, currency_code: str | None, market_id: str | None, at: datetime, lock: bool = False
) -> GiftCard:
    """The card an order may redeem by ``code`` (exact match, in the caller's organization and mode): active,
    not expired, in the order's currency and market, with a balance; else a DomainError on
    ``gift_card_code``. ``lock``: its row is locked (placing takes from it)."""
    cards = GiftCard.objects.filter(code=code)
    card = (locks.for_update(cards) if lock else cards).first()
    if card is None:
        raise DomainError.of(CommonErrorCode.INVALID, "gift_card_code", "is invalid")
    why = _unusable(card, currency_code, market_id, at)
    if why is not None:
        raise DomainError.of(why[0], "gift_card_code", why[1])
    return card


def _unusable(
    card: GiftCard, currency_code: str | None, market_id: str | None, at: datetime
) -> tuple[GiftCardErrorCode, str] | None:
    if card.status != "active":
        return GiftCardErrorCode.INACTIVE, f"the gift card is {card.status}"
    if card.expires_at is not None and card.expires_at <= at:
        return GiftCardErrorCode.EXPIRED, "the gift card has expired"
    if currency_code and card.currency_code != currency_code:
        return GiftCardErrorCode.CURRENCY_MISMATCH, f"the gift card is in {card.currency_code}"
    if card.market_id and card.market_id != market_id:
        return GiftCardErrorCode.MARKET_MISMATCH, "the gift card belongs to another market"
    if not card.balance_cents:
        return GiftCardErrorCode.NO_BALANCE, "the gift card has no balance left"
    return None


def take(card: GiftCard, amount_cents: int, *, order_id: str, order_number: str | None) -> None:
    """An order placed with ``card`` (locked by ``usable_card``) takes ``amount_cents`` of its balance; a
    single-use card is then redeemed. Refused whole when less is left than the order counted on."""
    balance = card.balance_cents or 0
    if amount_cents > balance:
        raise DomainError.of(
            GiftCardErrorCode.INSUFFICIENT_BALANCE,
            "gift_card_code",
            f"the gift card has {balance} cents left, not the {amount_cents} the order counted on",
        )
    with hooks.recording("gift_cards", card):
        card.balance_cents = balance - amount_cents
        if card.single_use:
            card.status = "redeemed"
        _log_usage(card, order_id, "use", -amount_cents, order_number)
        _log_balance(card, -amount_cents)
        card.save(update_fields=["balance_cents", "status", "usage_log", "balance_log", "updated_at"])


def give_back(code: str, *, order_id: str, order_number: str | None) -> None:
    """A cancelled order gives back what it took of the card (read from the card's ``usage_log``); a card
    it redeemed is active again. Nothing when it took nothing, or gave it back already."""
    card = locks.for_update(GiftCard.objects.filter(code=code)).first()
    if card is None:
        return
    taken_cents = -sum(entry["amount_cents"] for entry in card.usage_log.get(order_id, []))
    if taken_cents <= 0:
        return
    with hooks.recording("gift_cards", card):
        card.balance_cents = (card.balance_cents or 0) + taken_cents
        if card.status == "redeemed":
            card.status = "active"
        _log_usage(card, order_id, "restore", taken_cents, order_number)
        _log_balance(card, taken_cents)
        card.save(update_fields=["balance_cents", "status", "usage_log", "balance_log", "updated_at"])


def _log_usage(
    card: GiftCard, order_id: str, action: str, amount_cents: int, order_number: str | None
) -> None:
    entry = {
        "action": action,
        "amount_cents": amount_cents,
        "balance_cents": card.balance_cents,
        "order_number": order_number,
        "datetime": format_datetime(clock.now()),
    }
    card.usage_log = {**card.usage_log, order_id: [*card.usage_log.get(order_id, []), entry]}


def purchasable(card: GiftCard, currency_code: str | None) -> list[Problem]:
    """Whether an order may sell ``card`` as a line item: a draft card with a balance, in the order's
    currency."""
    pointer = "/data/relationships/item"
    if card.status != "draft":
        return [
            Problem(GiftCardErrorCode.NOT_PURCHASABLE, "item", f"the gift card is {card.status}", pointer)
        ]
    if not card.balance_cents:
        return [Problem(GiftCardErrorCode.NOT_PURCHASABLE, "item", "the gift card has no balance", pointer)]
    if currency_code and card.currency_code != currency_code:
        return [
            Problem(
                GiftCardErrorCode.CURRENCY_MISMATCH,
                "item",
                f"the gift card is in {card.currency_code}",
                pointer,
            )
        ]
    return []


def move(card_ids: list[str], sources: tuple[str, ...], target: str) -> None:
    """Cards bought by an order: ``inactive`` when it is placed (``_purchase``), ``active`` when it is paid;
    only those (locked) still in one of ``sources``, so a card moved meanwhile (deactivated by hand) is left
    as it is. Recorded as any update of theirs."""
    if not card_ids:
        return
    for card in locks.lock_all(GiftCard.objects.filter(status__in=sources), card_ids):
        with hooks.recording("gift_cards", card):
            card.status = target
            card.save(update_fields=["status", "updated_at"])


def save_gift_card_recipient(recipient: GiftCardRecipient, changes: dict[str, Any]) -> GiftCardRecipient:
    return save(recipient, changes, lambda r: required(r, "email"))
