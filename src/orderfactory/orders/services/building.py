"""Building an order: create it in a market, set its customer, link its payment source, copy addresses onto
it. Inside the caller's transaction."""

from __future__ import annotations

from typing import Any, cast

from orderfactory.addresses.models import Address
from orderfactory.catalog.models import Market, PriceList
from orderfactory.core import clock
from orderfactory.core.errors import CommonErrorCode, DomainError
from orderfactory.orders.error_codes import OrderErrorCode
from orderfactory.orders.models import Order
from orderfactory.orders.services.pricing import recompute


def set_customer_email(order: Order, email: str | None) -> None:
    """``customer_email`` finds or creates the customer in the caller's scope."""
    from orderfactory.customers.services import email_problems, find_or_create_customer, normalize_email

    if email in (None, ""):
        order.customer_email = None
        return
    problems = email_problems(normalize_email(email), "customer_email")
    if problems:
        raise DomainError(problems)
    customer = find_or_create_customer(email)
    order.customer_email = customer.email
    order.customer_id = customer.pk


def create_order(
    columns: dict[str, Any],
    *,
    market: Market | None,
    customer_email: str | None = None,
    default_market_ids: tuple[str, ...] | None = None,
) -> Order:
    if market is None and default_market_ids:
        market = Market.objects.filter(pk__in=default_market_ids).first()
    if market is None:
        raise DomainError.of(
            CommonErrorCode.BLANK, "market", "can't be blank", pointer="/data/relationships/market"
        )
    if market.disabled_at is not None:
        raise DomainError.of(
            OrderErrorCode.DISABLED, "market", "is disabled", pointer="/data/relationships/market"
        )
    order = Order(**columns)
    order.market = market
    order.currency_code = cast(PriceList, market.price_list).currency_code if market.price_list_id else None
    order.tax_included = cast(PriceList, market.price_list).tax_included if market.price_list_id else True
    if customer_email is not None:
        set_customer_email(order, customer_email)
    elif order.customer_id and not order.customer_email:
        assert order.customer is not None
        order.customer_email = order.customer.email
    order.save()
    recompute(order)
    return order


def link_payment_source(order: Order, source: Any) -> None:
    """Attach a payment source (wire transfer, external payment) to the order; it is the order's own."""
    if source is None:
        order.payment_source_type = None
        order.payment_source_id = None
        return
    if source.order_id not in (None, order.pk):
        raise DomainError.of(
            CommonErrorCode.TAKEN,
            "payment_source",
            "belongs to another order",
            pointer="/data/relationships/payment_source",
        )
    type(source).objects.filter(pk=source.pk).update(order_id=order.pk)
    own_payment_source(order, source)


def own_payment_source(order: Order, source: Any) -> None:
    """Point the order at a payment source made for it (whose ``order_id`` is already the order's)."""
    from orderfactory.customers.services import source_type_of

    order.payment_source_type = source_type_of(source)
    order.payment_source_id = source.pk


def payment_source_of(order: Order) -> Any:
    from orderfactory.customers.services import PAYMENT_SOURCE_MODELS

    if not order.payment_source_type or not order.payment_source_id:
        return None
    model = PAYMENT_SOURCE_MODELS.get(order.payment_source_type)
    return model.objects.filter(pk=order.payment_source_id).first() if model else None


def clone_addresses(addresses: list[Address]) -> list[Address]:
    """Copies of addresses already read in this transaction, written with one INSERT."""
    now = clock.now()
    clones = [
        Address(
            **{
                f.attname: getattr(address, f.attname)
                for f in Address._meta.concrete_fields
                if f.attname not in ("id", "created_at", "updated_at")
            },
            created_at=now,
            updated_at=now,
        )
        for address in addresses
    ]
    Address.objects.bulk_create(clones)
    return clones


def clone_address(address: Address) -> Address:
    """A copy of the address as stored now."""
    return clone_addresses([Address.objects.get(pk=address.pk)])[0]


def save_payment_source_to_wallet(order: Order) -> None:
    from orderfactory.customers.services import save_payment_source_to_wallet as save

    source = payment_source_of(order)
    if order.customer_id and source is not None:
        assert order.customer is not None
        save(order.customer, order.payment_method, source)
