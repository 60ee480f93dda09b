"""What a copy reads comes from factories.loading: a column the copy uses but SOURCE_COLUMNS leaves out would
be loaded by Django on first access, one query per row, which no pinned count names. Here any such load
fails the copy instead."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from orderfactory.core.prepared import Prepared
from orderfactory.factories import loading
from tests.factories.conftest import copied, copy, run_job
from tests.factories.test_exactly_once import _source_with_lines


@pytest.fixture
def deferred_loads_refused(monkeypatch: Any) -> None:
    """Django loads a deferred column when it is first read, after ``_check_parent_chain`` found no value of
    it in a parent row; refuse that load."""
    real = DeferredAttribute._check_parent_chain

    def check(self: DeferredAttribute, instance: models.Model) -> Any:
        value = real(self, instance)
        if value is None:
            raise AssertionError(
                f"{type(instance).__name__}.{self.field.attname} was read but not loaded with the copy"
            )
        return value

    monkeypatch.setattr(DeferredAttribute, "_check_parent_chain", check)


@pytest.mark.parametrize(
    "attributes",
    [{"place_target_order": False}, {"place_target_order": True, "cancel_source_order": True}],
    ids=["copy", "copy-place-cancel"],
)
def test_a_copy_reads_no_column_its_loading_left_out(api, deferred_loads_refused, attributes):
    source_id, _ = _source_with_lines(
        api, 2, "L"
    )  # paid from the customer's wallet: the target can be placed
    factory_id = copy(api, source_id, attributes=attributes).data["id"]
    assert run_job(factory_id) == "completed"
    _, target = copied(api, factory_id)
    assert target is not None


def test_the_refusal_catches_a_column_left_out(api, placed_order, deferred_loads_refused, monkeypatch):
    columns = {**loading.SOURCE_COLUMNS, "source_order": loading.SOURCE_COLUMNS["source_order"][:-3]}
    monkeypatch.setattr(loading, "SOURCE_COLUMNS", columns)
    loading._source_columns.cache_clear()
    monkeypatch.setattr(loading, "_LOCKED_WITH_SOURCE", Prepared(loading._LOCKED_WITH_SOURCE._build))
    try:
        factory_id = copy(api, placed_order["id"]).data["id"]
        with pytest.raises(AssertionError, match="not loaded with the copy"):
            run_job(factory_id)
    finally:
        loading._source_columns.cache_clear()
