"""The circuit breaker of a resource that calls a merchant's URL (external gateways, tax calculators and
promotions): its ``circuit_state`` opens after ``THRESHOLD`` consecutive failures, and ``_reset_circuit``
closes it. One UPDATE each, so concurrent callers all count."""

from __future__ import annotations

from typing import Any

from django.db import models

# Commerce Layer's threshold of consecutive failures for external services.
THRESHOLD = 30


def record_success(row: Any) -> None:
    """The call was answered: the consecutive failures start again from zero."""
    if row.circuit_failure_count:
        type(row)._default_manager.filter(pk=row.pk).update(circuit_failure_count=0)


def record_failure(row: Any) -> None:
    """One more failure in a row; the circuit opens at the threshold."""
    type(row)._default_manager.filter(pk=row.pk).update(
        circuit_failure_count=models.F("circuit_failure_count") + 1,
        circuit_state=models.Case(
            models.When(circuit_failure_count__gte=THRESHOLD - 1, then=models.Value("open")),
            default=models.F("circuit_state"),
        ),
    )
