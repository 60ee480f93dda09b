"""A service's refusal as the API renders it: services raise ``DomainError``; tests that check the 422 a
client would read look at ``jsonapi.errors.from_domain`` of it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from orderfactory.core.errors import DomainError
from orderfactory.jsonapi.errors import ApiErrors, from_domain


@dataclass
class Rendered:
    """Filled when the block is left: ``value`` is the refusal as its 422 errors, ``domain`` as raised."""

    value: ApiErrors = None  # type: ignore[assignment]
    domain: DomainError = None  # type: ignore[assignment]


@contextmanager
def refused() -> Iterator[Rendered]:
    """Like ``pytest.raises``: the block must raise a ``DomainError``."""
    rendered = Rendered()
    with pytest.raises(DomainError) as excinfo:
        yield rendered
    rendered.domain = excinfo.value
    rendered.value = from_domain(excinfo.value)
