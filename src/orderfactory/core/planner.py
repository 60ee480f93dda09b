"""What the query planners are told about tenant tables (post_migrate, on every ``migrate``).

Every tenant query filters by an organization and a mode, and each tenant table has an index that leads
with them (``core.models.tenant_index``). A planner that does not know which organization a statement is
for guesses how many rows it holds: PostgreSQL, planning a prepared statement once for every value (its
generic plan), took an organization for 1 / (number of organizations) of the table, which with a few
organizations is most of it, and chose to scan the table; SQLite, with no statistics, took an equality on
an index's first column to match ten rows, and read a big tenant's whole index to find 25 rows named by key.
Both are told the same thing instead: an organization holds about a hundredth of a table (TENANTS). With it
a statement of a small tenant is planned through its own index rows whatever its neighbours hold; a big
tenant's own statements cost what its own rows cost. docs/decisions.md, "Scale".
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import connections

# Organizations the planners assume share each tenant table.
TENANTS = 100
# SQLite's figures: rows of a table, rows per organization.
TABLE_ROWS = 1_000_000
ORGANIZATION_ROWS = TABLE_ROWS // TENANTS
_ONE_ROW_COLUMNS = ("id", "created_at", "updated_at", "next_run_at", "scheduled_at")


def tenant_tables() -> list[str]:
    from orderfactory.core.models import TenantModel

    return sorted({m._meta.db_table for m in apps.get_models() if issubclass(m, TenantModel)})


def tell(using: str = "default", **kwargs: Any) -> None:
    """post_migrate: tell the planner of database ``using`` the shape of the tenant tables (idempotent)."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        _postgresql(connection)
    elif connection.vendor == "sqlite":
        _sqlite(connection)


def _postgresql(connection: Any) -> None:
    """``n_distinct`` of each tenant table's organization_id, PostgreSQL's own override of the estimate
    ANALYZE makes, and the table analyzed again so that it counts now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relname = ANY(%s) AND a.attname = 'organization_id' "
            "AND NOT coalesce(a.attoptions, '{}') @> %s",
            [tenant_tables(), [f"n_distinct={TENANTS}"]],
        )
        for (table,) in cursor.fetchall():
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"ALTER TABLE {quoted} ALTER COLUMN organization_id SET (n_distinct = {TENANTS})")
            cursor.execute(f"ANALYZE {quoted}")


def _rows(columns: list[str], unique: bool) -> list[int]:
    """sqlite_stat1's figures for an index of a tenant table on ``columns``: the table's rows, then the rows
    per value of each leading part of the index."""
    stat = [TABLE_ROWS]
    for position, column in enumerate(columns):
        if column == "organization_id":
            rows = ORGANIZATION_ROWS
        elif column == "mode":
            rows = stat[-1] // 2
        elif column == "id" or column in _ONE_ROW_COLUMNS:
            rows = 1
        elif column.endswith("_id"):
            rows = 10 if position == 0 else 1  # a parent's rows, as SQLite assumes by default
        else:
            rows = stat[-1] // 10  # a status, a type, a name: a tenth of what precedes
        stat.append(max(1, min(rows, stat[-1])))
    if unique:
        stat[-1] = 1
    return stat


def _sqlite(connection: Any) -> None:
    """A fixed sqlite_stat1 row (SQLite's documented way to steer its plans) for each index of each tenant
    table: tables of TABLE_ROWS rows, ORGANIZATION_ROWS per organization and half as many per organization
    and mode, one per key or time, a tenth of what precedes per status-like column (so that an index on a
    status alone, the scheduler's, does not look narrower than the tenant's own). A real ANALYZE replaces
    the figures."""
    rows = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sqlite_master")  # creates sqlite_stat1 when missing, analyzes nothing
        for table in tenant_tables():
            cursor.execute(f"PRAGMA index_list({quote(table)})")
            for _, index, unique, _, _ in cursor.fetchall():
                cursor.execute(f"PRAGMA index_info({quote(index)})")
                columns = [row[2] for row in cursor.fetchall()]
                rows.append((table, index, " ".join(map(str, _rows(columns, bool(unique))))))
        tables = sorted({table for table, _, _ in rows})
        cursor.execute(f"DELETE FROM sqlite_stat1 WHERE tbl IN ({', '.join(['%s'] * len(tables))})", tables)
        cursor.executemany("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (%s, %s, %s)", rows)
        cursor.execute(
            "ANALYZE sqlite_master"
        )  # this connection loads the figures now, others when they open
