"""bench/clones.py, the batch bench's seeding: placed orders cloned set-wise are what the services write for
a placed order, and copy to what its copy is (both databases)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from django.apps import apps

from orderfactory.core import scope
from orderfactory.core.models import TenantModel
from orderfactory.customers.models import Customer
from orderfactory.inventory.models import StockItem
from orderfactory.orders.models import Order
from tests.factories.conftest import copied, copy, placed, run_job

ROOT = Path(__file__).resolve().parents[2]


def _clones() -> Any:
    spec = importlib.util.spec_from_file_location("bench_clones", ROOT / "bench" / "clones.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows() -> dict[str, int]:
    return {m._meta.db_table: m.unscoped.count() for m in apps.get_models() if issubclass(m, TenantModel)}


def _copied(api: Any, source_id: str) -> str:
    factory = copy(api, source_id, attributes={"place_target_order": False})
    assert factory.status == 201, factory
    run_job(factory.data["id"])
    made, target = copied(api, factory.data["id"])
    assert made["attributes"]["status"] == "completed" and target is not None, made
    return str(target["id"])


def test_a_clone_owns_what_placing_wrote_and_copies_as_its_template_does(api: Any, shop: Any) -> None:
    clones = _clones()
    with scope.active(api.scope()):
        StockItem.objects.update(quantity=100)  # for the clones' stock as much as for the template's
    template = placed(api, shop)
    with scope.active(api.scope()):
        stock_before = dict(StockItem.objects.values_list("pk", "quantity"))
        owned = clones.owned_rows(template["id"])
        before = _rows()
        ids = clones.clone_placed_order(template["id"], 3)
        added = {table: n - before[table] for table, n in _rows().items() if n != before[table]}
        template_shape = clones.shape(template["id"])
        clone_shapes = [clones.shape(i) for i in ids]
        customer = Customer.objects.get(pk=Order.objects.get(pk=template["id"]).customer_id)
        stock_after = dict(StockItem.objects.values_list("pk", "quantity"))

    # The rows placing wrote (the order, its addresses, payment source, lines, shipments, stock allocations,
    # authorization), once more per clone, equal but for their ids and numbers.
    # (not its audit trail and events: no copy reads them)
    assert {"orders_lineitem", "orders_shipment", "orders_stockallocation", "payments_transaction"} <= set(
        added
    )
    assert added == {m._meta.db_table: 3 * len(found) for m, found in owned.items()}
    assert clone_shapes == [template_shape] * 3
    # What placing counted elsewhere: the customer's orders, the stock taken, the order numbers.
    assert customer.total_orders_count == 4 and customer.status == "repeat"
    taken = {
        pk: stock_before[pk] - stock_after[pk] for pk in stock_before if stock_before[pk] != stock_after[pk]
    }
    assert taken and set(taken.values()) <= {3 * q for q in (1, 2)}
    numbers = [api.get(f"orders/{i}").data["attributes"]["number"] for i in [template["id"], *ids]]
    assert numbers == [str(int(template["attributes"]["number"]) + n) for n in range(4)]
    assert api.get(f"orders/{ids[1]}/line_items").json["meta"]["record_count"] == len(owned_lines(owned))

    # A clone's copy is the template's copy: the same target rows, timestamps and ids aside.
    with scope.active(api.scope()):
        targets = [clones.shape(_copied(api, source), times=False) for source in (template["id"], ids[2])]
    assert targets[0] == targets[1]
    assert targets[0]["orders_lineitem"]


def owned_lines(owned: dict[Any, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return next(rows for model, rows in owned.items() if model._meta.db_table == "orders_lineitem")
