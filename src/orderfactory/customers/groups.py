"""Customer groups, and the rule they bring: a market with a customer group is private to the group's
customers (docs/decisions.md, "Customer groups")."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction

from orderfactory.catalog.services import required, save, taken
from orderfactory.core.errors import CommonErrorCode, DomainError, Problem, problem
from orderfactory.customers.models import Customer, CustomerGroup

# Commerce Layer: "alphanumeric, underscores and hyphens, no spaces, at most 25 characters".
CODE = re.compile(r"[A-Za-z0-9_\-]{1,25}")


def group_problems(group: CustomerGroup) -> list[Problem]:
    found = required(group, "name")
    if group.code is not None and not CODE.fullmatch(group.code):
        code = CommonErrorCode.TOO_LONG if len(group.code) > 25 else CommonErrorCode.INVALID
        found.append(
            problem("code", "is invalid" if code is CommonErrorCode.INVALID else "is too long", code)
        )
    return found + taken(group, "code")


def save_group(group: CustomerGroup, changes: dict[str, Any]) -> CustomerGroup:
    try:
        with transaction.atomic():
            return save(group, changes, group_problems)
    except IntegrityError:  # a concurrent writer took the code between our check and our write
        raise DomainError([problem("code", "has already been taken", CommonErrorCode.TAKEN)]) from None


def delete_group(group: CustomerGroup) -> None:
    """A group that makes markets private is not deleted: its markets would open to every customer."""
    if group.markets.exists():
        raise DomainError.of(
            CommonErrorCode.INVALID, "markets", "the group makes markets private: take it off them first"
        )
    group.delete()


def outside_group(market_group_id: str | None, customer_id: str | None, *, guest: bool = False) -> str | None:
    """The message refusing an order of this customer in a market of this group (None: a public market), or
    None when the customer may order there. A guest order (``guest``, or no customer) never may."""
    if market_group_id is None:
        return None
    if customer_id is None or guest:
        return "is private to a customer group: a guest cannot order there"
    group_id = Customer.objects.filter(pk=customer_id).values_list("customer_group_id", flat=True).first()
    if group_id != market_group_id:
        return "is private to a customer group the customer is not in"
    return None
