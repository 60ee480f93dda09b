"""Placed orders cloned set-wise, for the batch phase of bench/copy_throughput.py.

Seeding 10,000 batch sources through the services (``Shop.placed_order``: create, price, place, one order
at a time) took over half an hour. Here one order placed through the services is the template, and
``clone_placed_order`` writes ``count`` more with one ``INSERT ... SELECT`` per table it owns, over a series
of clone numbers: the rows the services wrote for the template (the order, its addresses, payment source,
line items, shipments, stock allocations, authorization, ...; ``owned_rows`` finds them), each with a new id,
its references to the template's other rows pointed at the clone's, and the numbers a placing gives (the
order's, and its shipments' and transactions' that start with it) taken from the tenant's order number
sequence. What placing counts elsewhere follows in one statement each: the customer's placed orders, the
stock the allocations took, the sequence. Not written: the template's audit trail and events (no copy
reads them).

The ids are the template row's position in the clone's rows after a prefix drawn for the run (``PFX0000042``:
ten characters of the id alphabet, distinct from one run to the next on a database kept between runs), so
the lines of a clone keep the template's order (lines are read by ``created_at, id``, and a placed order's
lines share their ``created_at``).
"""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

ID = re.compile(r"^[A-Za-z0-9]{1,10}$")


def owned_rows(order_id: str) -> dict[Any, list[dict[str, Any]]]:
    """The rows a placed order owns, by model, each as ``{column: value}``, in the order the database lists
    them for a copy (``created_at, id``): the order, its addresses, every row of a table with an ``order_id``
    column that names it (payment source, line items, shipments, stock allocations, transactions, external
    discounts) and its line items' options."""
    from django.apps import apps

    from orderfactory.addresses.models import Address
    from orderfactory.core.models import TenantModel
    from orderfactory.orders.models import LineItem, LineItemOption, Order

    def rows(model: Any, **where: Any) -> list[dict[str, Any]]:
        columns = [f.attname for f in model._meta.concrete_fields]
        found = model.unscoped.filter(**where).order_by("created_at", "id").values_list(*columns)
        return [dict(zip(columns, values, strict=True)) for values in found]

    owned: dict[Any, list[dict[str, Any]]] = {Order: rows(Order, pk=order_id)}
    [order] = owned[Order]
    addresses = sorted({order[c] for c in ("billing_address_id", "shipping_address_id") if order[c]})
    owned[Address] = rows(Address, pk__in=addresses)
    for model in apps.get_models():
        columns = {f.column for f in model._meta.concrete_fields}
        if issubclass(model, TenantModel) and model is not Order and "order_id" in columns:
            owned[model] = rows(model, order_id=order_id)
    owned[LineItemOption] = rows(LineItemOption, line_item_id__in=[r["id"] for r in owned[LineItem]])
    return {model: found for model, found in owned.items() if found}


def shape(order_id: str, *, times: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    """What ``owned_rows`` finds, without what tells two equal orders apart: by table, each row's values in
    column order, sorted, without its id, with a reference to another of the order's rows as that row's
    table and the order's number as ``#`` where a number starts with it (``#/S/001``); ``times``: with the
    timestamps (without: two orders made at different moments compare equal)."""
    import datetime as dt

    owned = owned_rows(order_id)
    tables = {row["id"]: model._meta.db_table for model, rows in owned.items() for row in rows}
    number = next(iter(owned.values()))[0]["number"]

    def value(column: str, v: Any) -> Any:
        if isinstance(v, str) and v in tables:
            return f"<{tables[v]}>"
        if (
            number
            and column == "number"
            and isinstance(v, str)
            and (v == number or v.startswith(f"{number}/"))
        ):
            return "#" + v[len(number) :]
        if isinstance(v, dt.datetime) and not times:
            return "<time>"
        return repr(v)  # JSON columns (dicts, lists) sort as text

    return {
        model._meta.db_table: sorted(
            tuple(value(column, v) for column, v in row.items() if column != "id") for row in rows
        )
        for model, rows in owned.items()
    }


class _Sql:
    """The few spellings that differ between PostgreSQL and SQLite."""

    def __init__(self, vendor: str) -> None:
        self.postgresql = vendor == "postgresql"

    def digits(self, expression: str, width: int) -> str:
        if self.postgresql:
            return f"lpad(({expression})::text, {width}, '0')"
        return f"substr('{'0' * width}' || ({expression}), -{width})"

    def text(self, expression: str) -> str:
        return f"({expression})::text" if self.postgresql else f"CAST(({expression}) AS TEXT)"

    def over_series(self, insert: str, select: str, count: int) -> str:
        """``insert`` fed by ``select``, which reads the clone number ``s.g`` (0 to count - 1) from ``s``."""
        if self.postgresql:
            return f"{insert} {select.replace('{series}', f'generate_series(0, {count - 1}) AS s(g)')}"
        series = f"WITH RECURSIVE s(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM s WHERE g < {count - 1}) "
        return f"{series}{insert} {select.replace('{series}', 's')}"


def _literal(value: str) -> str:
    assert ID.match(value), value  # ids and numbers of our own making only: no quoting needed
    return f"'{value}'"


def clone_placed_order(template_id: str, count: int) -> list[str]:
    """``count`` clones of the placed order ``template_id`` (inside its scope), written set-wise in one
    transaction; returns their ids, in clone order."""
    from django.db import connection, models, transaction

    from orderfactory.customers.models import Customer
    from orderfactory.inventory.models import StockItem
    from orderfactory.orders.models import Order, OrderNumberSequence, StockAllocation

    if count <= 0:
        return []
    sql = _Sql(connection.vendor)
    owned = owned_rows(template_id)
    position = {row["id"]: k for k, row in enumerate(row for found in owned.values() for row in found)}
    per_clone = len(position)
    width = max(7, len(str(count * per_clone - 1)))
    assert width <= 9, f"{count} clones of {per_clone} rows each: too many for these ids"
    prefix = "".join(secrets.choice(string.ascii_letters) for _ in range(10 - width))
    [order] = owned[Order]
    template_number = order["number"]
    assert template_number and template_number.isdigit(), "the template must be a placed order"

    def new_id(position_expression: str) -> str:
        return f"'{prefix}' || {sql.digits(f's.g * {per_clone} + ({position_expression})', width)}"

    def pointed(column: str) -> str:
        """The column, pointed at the clone's row where it names one of the template's."""
        cases = " ".join(f"WHEN {_literal(old)} THEN {k}" for old, k in position.items())
        return f"CASE WHEN t.{column} IN ({', '.join(map(_literal, position))}) THEN {new_id(f'CASE t.{column} {cases} END')} ELSE t.{column} END"

    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The foreign keys of thousands of rows are checked at the commit, each by a query planned with the
            # statistics of the tables' few rows before (this server runs no autovacuum): planned as a scan of
            # the whole referenced table, the commit of 10,000 clones ran for minutes. Analyzed here (which also
            # drops the checks' plans kept from earlier inserts) and with index scans preferred, each check is
            # one index probe.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute("ANALYZE")
        sequence = OrderNumberSequence.objects.select_for_update().get(
            organization_id=order["organization_id"], mode=order["mode"]
        )
        first_number = sequence.last_value + 1
        number = sql.text(f"s.g + {first_number}")
        with connection.cursor() as cursor:
            for model, rows in owned.items():
                fields = model._meta.concrete_fields
                names = [f.column for f in fields]
                expressions = []
                for field in fields:
                    column = connection.ops.quote_name(field.column)
                    values = [row[field.attname] for row in rows]
                    if field.primary_key:
                        expressions.append(pointed(column))
                    elif model is Order and field.column == "number":
                        expressions.append(number)
                    elif field.column == "number" and all(
                        isinstance(v, str) and v.startswith(f"{template_number}/") for v in values
                    ):
                        # a shipment's 1/S/001, a transaction's 1/T/001: numbered after their order
                        expressions.append(f"{number} || substr(t.{column}, {len(template_number) + 1})")
                    elif any(isinstance(v, str) and v in position for v in values):
                        expressions.append(pointed(column))
                    else:
                        expressions.append(f"t.{column}")
                table = connection.ops.quote_name(model._meta.db_table)
                insert = f"INSERT INTO {table} ({', '.join(map(connection.ops.quote_name, names))})"
                select = (
                    f"SELECT {', '.join(expressions)} FROM {table} AS t CROSS JOIN {{series}} "
                    f"WHERE t.id IN ({', '.join(_literal(row['id']) for row in rows)})"
                )
                cursor.execute(sql.over_series(insert, select, count))
        OrderNumberSequence.objects.filter(pk=sequence.pk).update(last_value=models.F("last_value") + count)
        if order["customer_id"]:
            # as customers.services.count_placed_order counts each: a customer's second order on is a repeat
            Customer.objects.filter(pk=order["customer_id"]).update(
                total_orders_count=models.F("total_orders_count") + count, status="repeat"
            )
        for allocation in owned.get(StockAllocation, []):
            if allocation["released_at"] is None:
                StockItem.objects.filter(pk=allocation["stock_item_id"]).update(
                    quantity=models.F("quantity") - count * allocation["quantity"]
                )
    return [f"{prefix}{str(g * per_clone + position[template_id]).zfill(width)}" for g in range(count)]


__all__ = ["clone_placed_order", "owned_rows", "shape"]
