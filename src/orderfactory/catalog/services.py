"""Catalog writes: merchants, price lists and shipping categories. Every problem is reported at once."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models, transaction

from orderfactory.catalog.models import Merchant, PriceList, ShippingCategory
from orderfactory.jsonapi import errors
from orderfactory.jsonapi.errors import ApiError

M = TypeVar("M", bound=models.Model)
CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def required(instance: models.Model, *names: str) -> list[ApiError]:
    return [errors.blank(name) for name in names if blank(getattr(instance, name))]


def taken(instance: models.Model, column: str) -> list[ApiError]:
    """Uniqueness within the environment (the default manager sees only the caller's organization and mode)."""
    value = getattr(instance, column)
    if (
        value is None
        or not type(instance)._default_manager.filter(**{column: value}).exclude(pk=instance.pk).exists()
    ):
        return []
    return [errors.validation(column, "has already been taken", "taken", value=value)]


@transaction.atomic
def save(instance: M, changes: dict[str, Any], problems: Callable[[M], list[ApiError]]) -> M:
    """Create (an unsaved ``instance``) or update a row with ``changes`` (column -> value), if it is valid."""
    for column, value in changes.items():
        setattr(instance, column, value)
    found = problems(instance)
    if found:
        raise errors.ApiErrors(found)
    instance.save()
    return instance


def merchant_problems(merchant: Merchant) -> list[ApiError]:
    missing_address = [] if merchant.address_id else [errors.blank("address", relationship=True)]
    return required(merchant, "name") + missing_address


def price_list_problems(price_list: PriceList) -> list[ApiError]:
    found = required(price_list, "name", "currency_code")
    code = price_list.currency_code
    if not blank(code) and not (isinstance(code, str) and CURRENCY_CODE.fullmatch(code)):
        found.append(errors.validation("currency_code", "is invalid", "invalid", value=code))
    return found + taken(price_list, "code")


def shipping_category_problems(shipping_category: ShippingCategory) -> list[ApiError]:
    return required(shipping_category, "name") + taken(shipping_category, "code")


def save_merchant(merchant: Merchant, changes: dict[str, Any]) -> Merchant:
    return save(merchant, changes, merchant_problems)


def save_price_list(price_list: PriceList, changes: dict[str, Any]) -> PriceList:
    return save(price_list, changes, price_list_problems)


def save_shipping_category(shipping_category: ShippingCategory, changes: dict[str, Any]) -> ShippingCategory:
    return save(shipping_category, changes, shipping_category_problems)
