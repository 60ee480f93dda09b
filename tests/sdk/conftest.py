from __future__ import annotations

from typing import Any

import pytest
from django.test.utils import override_settings


@pytest.fixture(scope="session")
def static_url() -> Any:
    """Django's live server wraps the app in a static-files handler that fails on every request when STATIC_URL
    is unset, as it is in orderfactory (which serves no static files); it must be set before the server starts,
    so request this fixture before ``live_server``."""
    with override_settings(STATIC_URL="/static/"):
        yield
