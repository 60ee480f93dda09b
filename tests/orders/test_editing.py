"""The order's PATCH semantics without HTTP: ``editing.change_order`` as the CLI or the worker calls it, in
the caller's scope, with the same outcome as the API (rows written, events recorded, refusals as values)."""

from __future__ import annotations

import pytest

from orderfactory.core import scope
from orderfactory.core.errors import DomainError
from orderfactory.events.models import Event, EventStore
from orderfactory.orders.error_codes import OrderErrorCode
from orderfactory.orders.models import Order
from orderfactory.orders.services.editing import change_order
from tests.orders.conftest import new_order


def test_change_order_places_an_order_through_the_place_trigger_as_the_api_does(api, shop):
    order_id = new_order(api, shop, {"TSHIRT": 2})["id"]
    with scope.active(api.scope()):
        placed = change_order(order_id, {}, {"_place": True})
        assert placed.status == "placed" and placed.number
        stored = Order.objects.get(pk=order_id)
        assert (stored.status, stored.payment_status) == ("placed", "authorized")
        assert Event.objects.filter(resource_id=order_id, name="orders.place").count() == 1
    assert api.get(f"orders/{order_id}").data["attributes"]["status"] == "placed"


def test_change_order_records_a_change_of_columns_in_the_audit_trail(api, shop):
    order_id = new_order(api, shop, {"TSHIRT": 1})["id"]
    with scope.active(api.scope()):
        trail = EventStore.objects.filter(resource_id=order_id, event="update").count()
        change_order(order_id, {"reference": "from the worker"}, {})
        assert Order.objects.get(pk=order_id).reference == "from the worker"
        assert EventStore.objects.filter(resource_id=order_id, event="update").count() == trail + 1


def test_change_order_refuses_with_a_domain_error_and_changes_nothing(api, shop):
    order_id = new_order(api, shop, {"TSHIRT": 1})["id"]
    with scope.active(api.scope()):
        change_order(order_id, {}, {"_place": True})
        with pytest.raises(DomainError) as refused:
            change_order(order_id, {"reference": "too late"}, {})
        [problem] = refused.value.problems
        assert (problem.code, problem.attribute) == (OrderErrorCode.NOT_EDITABLE, "status")
        assert Order.objects.get(pk=order_id).reference != "too late"
        with pytest.raises(DomainError) as unknown:
            change_order(order_id, {}, {"_commit_invoice": True})
        assert unknown.value.problems[0].code is OrderErrorCode.NOT_SUPPORTED
