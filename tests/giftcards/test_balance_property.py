"""The balance of a card under any sequence of ``_balance_change_cents`` (in memory, through
``services.change_balance``): never negative, never above its maximum, never up on a card that is not
rechargeable, a refused change changes nothing, and ``initial_balance_cents`` plus ``balance_log`` is always
the balance."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from orderfactory.core.errors import DomainError
from orderfactory.giftcards.models import GiftCard
from orderfactory.giftcards.services import change_balance

changes = st.lists(st.integers(min_value=-20_000, max_value=20_000).filter(bool), max_size=30)


@settings(max_examples=300, deadline=None)
@given(
    initial=st.integers(min_value=0, max_value=20_000),
    headroom=st.one_of(st.none(), st.integers(min_value=0, max_value=20_000)),
    rechargeable=st.booleans(),
    status=st.sampled_from(["inactive", "active", "redeemed"]),
    steps=changes,
)
def test_any_sequence_of_balance_changes_keeps_the_card_consistent(
    initial: int, headroom: int | None, rechargeable: bool, status: str, steps: list[int]
) -> None:
    maximum = None if headroom is None else initial + headroom
    card = GiftCard(
        status=status,
        balance_cents=initial,
        initial_balance_cents=initial,
        balance_max_cents=maximum,
        rechargeable=rechargeable,
        balance_log=[],
    )
    for change in steps:
        before = (card.balance_cents, copy.deepcopy(card.balance_log))
        try:
            change_balance(card, change)
        except DomainError:
            assert (card.balance_cents, card.balance_log) == before
            continue
        assert card.balance_cents == before[0] + change
        assert card.balance_log[-1]["balance_change_cents"] == change
    assert card.balance_cents is not None and card.balance_cents >= 0
    assert maximum is None or card.balance_cents <= maximum
    assert rechargeable or card.balance_cents <= initial
    assert (
        card.initial_balance_cents + sum(e["balance_change_cents"] for e in card.balance_log)
        == card.balance_cents
    )
