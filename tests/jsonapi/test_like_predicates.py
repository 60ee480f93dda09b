"""Every LIKE-based predicate treats ``%``, ``_`` and ``\\`` in a value the same on SQLite and PostgreSQL
(#18 item 4): literally for ``cont``/``start``/``end``, as a pattern with backslash escapes for ``matches``."""

from __future__ import annotations

import pytest

from tests.conftest import Api

NAMES = ["50% off", "50_ off", "500 off", "back\\slash", "ends\\", "\\", "plain"]


@pytest.fixture
def lists(api: Api) -> None:
    for name in NAMES:
        api.create("price_lists", {"name": name, "currency_code": "EUR"})


@pytest.mark.parametrize(
    "predicate,value,expected",
    [
        # a pattern ending in a lone backslash was a 500 on PostgreSQL; the backslash stands for itself
        ("matches", "\\", ["\\"]),
        ("matches", "%\\", ["ends\\", "\\"]),
        ("does_not_match", "%\\", ["50% off", "50_ off", "500 off", "back\\slash", "plain"]),
        ("matches", "%\\\\", ["ends\\", "\\"]),
        ("matches", "%\\\\\\", []),  # an escaped backslash, then one standing for itself
        ("matches", "50\\%%", ["50% off"]),
        ("matches", "50\\_%", ["50_ off"]),
        ("matches", "50_ off", ["50% off", "50_ off", "500 off"]),
        ("matches", "%\\s%", ["back\\slash", "ends\\"]),  # an escaped s
        ("matches_any", "%\\,plain", ["ends\\", "\\", "plain"]),
        ("cont", "%", ["50% off"]),
        ("cont", "_", ["50_ off"]),
        ("cont", "\\", ["back\\slash", "ends\\", "\\"]),
        ("cont", "\\s", ["back\\slash"]),
        ("not_cont", "\\", ["50% off", "50_ off", "500 off", "plain"]),
        ("start", "50%", ["50% off"]),
        ("start", "\\", ["\\"]),
        ("not_start", "50_", ["50% off", "500 off", "back\\slash", "ends\\", "\\", "plain"]),
        ("end", "\\", ["ends\\", "\\"]),
        ("not_end", "\\", ["50% off", "50_ off", "500 off", "back\\slash", "plain"]),
        ("cont_any", "%,_", ["50% off", "50_ off"]),
        ("cont_all", "0,\\", []),
    ],
)
def test_like_predicates_take_percent_underscore_and_backslash(api: Api, lists, predicate, value, expected):
    response = api.get("price_lists", {f"filter[q][name_{predicate}]": value, "page[size]": "25"})
    assert response.status == 200, response
    assert sorted(item["attributes"]["name"] for item in response.data) == sorted(expected)
