"""Rows built without ``Model.__init__`` (issue 16, the cost of one copy): a row read whole
(``TenantModel.from_db``) and a row a copy builds (``core.models.new_row``) are the instances Django's
own way builds, attribute for attribute."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.apps import apps
from django.db import models

from orderfactory.core import clock
from orderfactory.core.models import TenantModel, new_row
from orderfactory.orders.models import LineItem, LineItemOption, Order

TENANT_MODELS = sorted(
    (m for m in apps.get_models() if issubclass(m, TenantModel)), key=lambda m: m._meta.label
)


def _attributes(row: models.Model) -> dict[str, Any]:
    return {k: v for k, v in row.__dict__.items() if k != "_state"} | {
        "_state": (row._state.adding, row._state.db, dict(row._state.fields_cache))
    }


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m._meta.label)
def test_a_row_read_whole_is_the_row_djangos_from_db_builds(model: type[models.Model]) -> None:
    fields = model._meta.concrete_fields
    values = [f"value {i}" for i in range(len(fields))]
    names = [f.attname for f in fields]
    fast = model.from_db("default", names, values)
    django = models.Model.from_db.__func__(model, "default", names, values)  # type: ignore[attr-defined]
    assert type(fast) is model
    assert _attributes(fast) == _attributes(django)


def test_a_row_read_with_deferred_columns_takes_djangos_way() -> None:
    row = LineItem.from_db("default", ["id", "quantity"], ["L1", 3])
    assert (row.pk, row.quantity, row.get_deferred_fields() >= {"name", "sku_code"}) == ("L1", 3, True)


def test_a_row_a_copy_builds_is_the_row_djangos_init_builds() -> None:
    order = Order(id="O1", organization_id="ORG", mode="test")
    values: dict[str, Any] = dict(
        order=order,
        item_type="skus",
        item_id="S1",
        sku=None,
        sku_code="TSHIRT",
        bundle_id=None,
        quantity=2,
        currency_code="EUR",
        unit_amount_cents=1000,
        total_amount_cents=2000,
        discount_breakdown={"P1": {"cents": 10}},
        name="T-shirt",
    )
    at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    with clock.frozen(at):
        fast, django = new_row(LineItem, **values), LineItem(**values)
    assert (fast.pk != django.pk, len(fast.pk)) == (True, len(django.pk))  # each its own new id
    fast.id = django.id
    assert _attributes(fast) == _attributes(django)
    assert fast.order is order and fast.tax_breakdown == {} and fast.tax_breakdown is not django.tax_breakdown
    option = new_row(LineItemOption, line_item=fast, name="Engraving", quantity=1, options={"text": "hi"})
    assert (option.line_item_id, option.delay_days, option.metadata) == (fast.pk, 0, {})


def test_a_row_given_a_name_that_is_no_column_is_refused_as_djangos_init_refuses_it() -> None:
    with pytest.raises(TypeError, match="unexpected keyword"):
        new_row(LineItem, colour="red")
