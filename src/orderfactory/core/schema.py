"""Migration operations of our own."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def drop_field_indexes(app_label: str, fields: list[tuple[str, str]]) -> migrations.RunPython:
    """Drop the single-column indexes Django made for these (model, field) pairs of ``app_label`` (a foreign
    key's, ``db_index``'s, and on PostgreSQL their ``_like`` twins), by the names Django gave them. Put it in a
    ``SeparateDatabaseAndState`` whose state operations are the fields' ``AlterField``: that operation
    rebuilds the whole table on SQLite, a copy of every row. Reversed, the plain indexes come back."""

    def names(apps: Any, schema_editor: Any) -> list[tuple[str, str, str]]:
        out = []
        for model_name, field_name in fields:
            model = apps.get_model(app_label, model_name)
            table, column = model._meta.db_table, model._meta.get_field(field_name).column
            out.append((table, column, schema_editor._create_index_name(table, [column], suffix="")))
        return out

    def forward(apps: Any, schema_editor: Any) -> None:
        quote = schema_editor.quote_name
        for table, column, name in names(apps, schema_editor):
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(name)}")
            like = schema_editor._create_index_name(table, [column], suffix="_like")
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(like)}")

    def backward(apps: Any, schema_editor: Any) -> None:
        quote = schema_editor.quote_name
        for table, column, name in names(apps, schema_editor):
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(table)} ({quote(column)})"
            )

    return migrations.RunPython(forward, backward, elidable=False)


def _create_trigram_index(
    schema_editor: Any, model: Any, name: str, fields: list[str], *, tenant_keys: bool
) -> None:
    quote = schema_editor.quote_name
    columns = [quote(model._meta.get_field(f).column) for f in fields]
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    keys = ["organization_id", "mode"] if tenant_keys else []
    if tenant_keys:
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(model._meta.db_table)} USING gin "
        f"({', '.join([*keys, *(f'{c} gin_trgm_ops' for c in columns)])})"
    )


def trigram_index(app_label: str, model_name: str, name: str, fields: list[str]) -> migrations.RunPython:
    """PostgreSQL only: a GIN index of the trigrams of the text columns ``fields`` of one organization's rows
    of one mode, which serves the substring filters (``_cont``, ``_start``, ``_end``, ``_matches``: ILIKE) on
    any of them, leading with the organization and mode (``btree_gin``); the ``*_trigram_search`` migrations
    build it again without them (``trigram_index_of_text_only``). Both extensions ship with PostgreSQL and are trusted: the database's owner may
    create them (docs/decisions.md, "Scale"). SQLite has no such index; Django's state does not know it."""

    def forward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            model = apps.get_model(app_label, model_name)
            _create_trigram_index(schema_editor, model, name, fields, tenant_keys=True)

    def backward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    return migrations.RunPython(forward, backward, elidable=False)


def trigram_index_of_text_only(
    app_label: str, model_name: str, name: str, fields: list[str]
) -> migrations.RunPython:
    """PostgreSQL only: ``trigram_index``'s index built again over the trigrams of ``fields`` alone, without
    the organization and mode. btree_gin reads an equality as a partial match, which gathers every row of the
    organization, and of the mode across all organizations, into a bitmap before the trigrams narrow it: a
    search cost what the tenant's size and the mode's rows cost (docs/decisions.md, "Scale"). Reversed, the
    index leads with them again."""

    def rebuild(tenant_keys: bool) -> Any:
        def run(apps: Any, schema_editor: Any) -> None:
            if schema_editor.connection.vendor != "postgresql":
                return
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")
            model = apps.get_model(app_label, model_name)
            _create_trigram_index(schema_editor, model, name, fields, tenant_keys=tenant_keys)

        return run

    return migrations.RunPython(rebuild(False), rebuild(True), elidable=False)
