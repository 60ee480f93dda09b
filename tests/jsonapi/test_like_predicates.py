"""Every LIKE-based predicate treats ``%``, ``_`` and ``\\`` in a value the same on SQLite and PostgreSQL
(#18 item 4): literally for ``cont``/``start``/``end``, as a pattern with backslash escapes for ``matches``.
A pattern with no cased character is a plain LIKE on PostgreSQL (filters.Like.caseless): the same rows as
ILIKE, whatever the case of the text."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderfactory.jsonapi.filters import Like
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


# Cased characters among the text's, ASCII and not: the Kelvin sign and the dotted capital I lowercase to
# ASCII letters, the final sigma and sharp s are the odd ones of their alphabets.
TEXT = "0123456789-.@ %_\\aAzZkK\u212a\u0130i\u0131\u00e9\u00c9\u00df\u03a3\u03c3\u03c2"


def _reference(text: str, pattern: str) -> bool:
    """What a LIKE pattern (backslash escapes) matches, case-sensitively, in plain Python."""
    parts, chars = [], iter(pattern)
    for c in chars:
        if c == "\\":
            parts.append(re.escape(next(chars, "\\")))
        else:
            parts.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
    return re.fullmatch("".join(parts), text, re.DOTALL) is not None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=TEXT, max_size=8), raw=st.text(alphabet="0123456789-.@ %_\\", max_size=6))
def test_a_pattern_without_cased_characters_matches_the_same_text_in_any_case(db, text, raw):
    """Such a pattern matches what it matches case-sensitively: on PostgreSQL its LIKE and its ILIKE, and
    SQLite's LIKE, agree with each other and with a case-sensitive reading of it, whatever the text holds."""
    pattern = Like.pattern(raw)
    assert Like.caseless(pattern)
    expected = _reference(text, pattern)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT %s::text LIKE %s::text, %s::text ILIKE %s::text", [text, pattern] * 2)
            assert cursor.fetchone() == (expected, expected), (text, pattern)
        else:
            cursor.execute("SELECT %s LIKE %s ESCAPE '\\'", [text, pattern])
            assert bool(cursor.fetchone()[0]) == expected, (text, pattern)


@pytest.mark.parametrize(
    "pattern,caseless",
    [
        ("%999%", True),
        ("%1\\_2%", True),
        ("%-@.%", True),
        ("%a%", False),
        ("%Z9%", False),
        ("%\u00e9%", False),
    ],
)
def test_only_patterns_of_ascii_signs_and_digits_are_caseless(pattern, caseless):
    assert Like.caseless(pattern) is caseless
