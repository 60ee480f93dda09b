"""Property tests for the two parsers facing clients: the scope string and the token request body."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from orderfactory.auth import tokens
from orderfactory.jsonapi.errors import ApiError

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.auth.urls")]

FIXTURE_SAFE = hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scope_words = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["market:all", "market:id:", "market:code:", "market:", "stock_location:id:x"]),
    st.builds(
        lambda kind, value: f"market:{kind}:{value}", st.sampled_from(["id", "code", "ID", "x"]), st.text()
    ),
)


@FIXTURE_SAFE
@given(words=st.lists(scope_words, max_size=4))
@example(words=["market:id:\x00"])  # PostgreSQL refuses a NUL in a query's text: found by this test
@example(words=["market:code:a\x00b"])
def test_any_scope_gives_a_token_or_an_invalid_scope_error(integration, words: list[str]) -> None:
    """No market exists here, so only an empty scope or market:all may succeed; nothing may crash."""
    app, _ = integration
    requested = " ".join(words)

    try:
        body = tokens.issue_token(app, requested)
    except ApiError as error:
        assert (error.status, error.code) == (400, "INVALID_SCOPE")
    else:
        assert set(requested.split()) <= {"market:all"}
        assert body["scope"] == "market:all"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
token_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "grant_type": st.sampled_from(["client_credentials", "password"]) | json_values,
            "client_id": json_values,
            "client_secret": json_values,
            "scope": json_values,
        },
    ),
)


@FIXTURE_SAFE
@given(body=token_bodies)
def test_any_json_body_is_answered_with_a_client_error(client: Client, db, settings, body: object) -> None:
    settings.ORDERFACTORY = {
        **settings.ORDERFACTORY,
        "RATE_LIMITS_ENABLED": False,
    }  # far more than 30 a minute

    response = client.post("/oauth/token", data=json.dumps(body), content_type="application/json")

    assert response.status_code in (400, 401)
    assert response.json()["errors"][0]["status"] == str(response.status_code)
