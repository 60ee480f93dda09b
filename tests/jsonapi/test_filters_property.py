"""Property tests for the query-string parser and for SQLite's stand-in for PostgreSQL's ``@>``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from orderfactory.core import scope as scopes
from orderfactory.core.sqlite import json_contains
from orderfactory.jsonapi import errors, filters, query, registry
from orderfactory.jsonapi import resource as r

BOUNDED = settings(max_examples=200, deadline=None)
ALGEBRA = settings(max_examples=100, deadline=None)
RESOURCES = ["price_lists", "inventory_stock_locations", "inventory_models", "stock_locations", "addresses"]

# Text that looks like filter keys some of the time: the parser's interesting cases are near-misses.
WORDS = st.sampled_from(
    [
        "name",
        "code",
        "priority",
        "metadata",
        "created_at",
        "stock_location",
        "inventory_stock_locations",
        "address_city",
        "or",
        "and",
        "not",
        "eq",
        "in",
        "any",
        "all",
        "null",
        "jcont",
        "",
        "_",
    ]
)
KEYS = st.one_of(
    st.text(max_size=40),
    st.lists(WORDS, min_size=1, max_size=8).map("_".join),
    st.builds(
        lambda a, b: f"{a}_{b}",
        st.lists(WORDS, max_size=4).map("_".join),
        st.sampled_from(filters.PREDICATES),
    ),
)
VALUES = st.one_of(
    st.text(max_size=60),
    st.integers().map(str),
    st.integers(min_value=10**18, max_value=10**400).map(str),
    st.floats().map(str),
    st.lists(st.text(alphabet="0123456789,-.² \x00", max_size=6), max_size=5).map(",".join),
    st.sampled_from(
        ["", " ", "true", "1e999", "nan", "{}", "[]", "null", '{"a":"\\u0000"}', "2024-02-30T00:00:00Z"]
    ),
)


# Conditions through a relationship no Django relation joins are subqueries of the target resource's rows,
# which exist only in an (organization, mode) scope: any one does to build them.
SCOPE = scopes.Scope(organization_id="o", organization_slug="o", mode="test")


def _q(condition: filters.Condition) -> Any:
    with scopes.active(SCOPE):
        return condition.q()


def _resource(name: str) -> type[r.Resource]:
    resource = registry.get(name)
    assert resource is not None
    return resource


# --- (a) parse_condition: only 400s, whatever the key and value ---------------------------------------------


@BOUNDED
@given(st.sampled_from(RESOURCES), KEYS, VALUES)
def test_parse_condition_raises_only_400s(type_name, key, value):
    try:
        condition = filters.parse_condition(_resource(type_name), key, value)
    except errors.ApiError as exc:
        assert exc.status == 400 and exc.code in ("FILTER_NOT_ALLOWED", "INVALID_FILTER_VALUE")
        return
    _q(condition)  # building the query never fails either
    assert key.endswith("_" + condition.predicate)


# --- (b) valid keys resolve to their predicate and path -----------------------------------------------------

TEXT = {"matches", "does_not_match", "start", "not_start", "end", "not_end", "cont", "not_cont"}
TEXT |= {"i_cont", "not_i_cont"}  # Ransack's case-insensitive cont, which the dashboard apps send
PRESENCE = {"present", "blank", "null", "not_null"}


def _base(predicate: str) -> str:
    return predicate[:-4] if predicate.endswith(("_any", "_all")) else predicate


def _meaningful(predicate: str, attr: r.Attr) -> bool:
    """Written out again here, independently of filters.applies, from contract d and Ransack."""
    if predicate in PRESENCE:
        return True
    if isinstance(attr, (r.Object, r.Array)):
        return predicate == "jcont"
    if predicate == "jcont":
        return False
    if predicate in ("true", "false"):
        return isinstance(attr, r.Boolean)
    return _base(predicate) not in TEXT or isinstance(attr, r.String)


def _filterable(resource: type[r.Resource]) -> list[r.Attr]:
    return [a for a in resource.all_attributes() if a.filterable and a.column]


def _sample_value(attr: r.Attr, predicate: str) -> st.SearchStrategy[str]:
    if predicate in PRESENCE or predicate in ("true", "false"):
        return st.sampled_from(["true", "false", "1", "0", "t", "f"])
    if predicate == "jcont":
        return st.sampled_from(['{"a": 1}', "{}", '{"a": [1, "x", {"b": null}]}', "[]"])
    if _base(predicate) in TEXT or isinstance(attr, r.String):
        return st.text(alphabet=st.characters(blacklist_characters="\x00,\ufffd"), min_size=1, max_size=10)
    if isinstance(attr, r.Integer):
        return st.integers(attr.minimum, attr.maximum).map(str)
    if isinstance(attr, r.Float):
        return st.floats(allow_nan=False, allow_infinity=False).map(repr)
    if isinstance(attr, r.Datetime):
        return st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(lambda d: d.isoformat())
    if isinstance(attr, r.Boolean):
        return st.sampled_from(["true", "false"])
    raise AssertionError(attr)


@st.composite
def valid_conditions(draw: Any) -> tuple[type[r.Resource], str, str, str, str]:
    """(resource, key, value, predicate, expected ORM lookup) for an attribute or a one-hop association."""
    resource = _resource(draw(st.sampled_from(RESOURCES)))
    prefix, lookup_prefix, target = "", "", resource
    rels = [
        rel
        for rel in resource.all_relationships()
        if rel.filterable and not rel.polymorphic and registry.get(rel.targets[0])
    ]
    if rels and draw(st.booleans()):
        rel = draw(st.sampled_from(rels))
        prefix, lookup_prefix, target = f"{rel.name}_", f"{rel.lookup}__", _resource(rel.targets[0])
    attr = draw(st.sampled_from(_filterable(target)))
    predicate = draw(st.sampled_from([p for p in filters.PREDICATES if _meaningful(p, attr)]))
    value = draw(_sample_value(attr, predicate))
    lookup = f"{lookup_prefix}{attr.column}"
    rel = resource.relationship(prefix[:-1]) if prefix else None
    if rel is not None and rel.to_many and not _has_relation(resource, rel):
        assert isinstance(rel, r.ToMany) and rel.reverse, rel.name
        # no Django relation of that name: the row's key among the ``reverse`` column of the matching rows
        return resource, f"{prefix}{attr.name}_{predicate}", value, predicate, f"pk<{attr.column}"
    if prefix and attr.name == "id":
        lookup = f"{prefix}id"  # a to-one's id is its foreign key column; a to-many's goes through the join
        if rel is not None and rel.to_many:
            lookup = f"{lookup_prefix}id"
    return resource, f"{prefix}{attr.name}_{predicate}", value, predicate, lookup


def _has_relation(resource: type[r.Resource], rel: r.Rel) -> bool:
    try:
        resource.model._meta.get_field((rel.lookup or "").split("__")[0])
    except FieldDoesNotExist:
        return False
    return True


def _lookup(path: filters.Path) -> str:
    return path.lookup if path.inner is None else f"{path.lookup}<{_lookup(path.inner)}"


@BOUNDED
@given(valid_conditions())
def test_valid_keys_resolve_to_their_predicate_and_path(case):
    resource, key, value, predicate, lookup = case
    condition = filters.parse_condition(resource, key, value)
    assert condition.predicate == predicate
    assert [_lookup(p) for p in condition.paths] == [lookup]
    assert condition.value is not None
    _q(condition)


@ALGEBRA
@given(st.sampled_from(RESOURCES), st.data())
def test_or_and_keys_resolve_every_attribute(type_name, data):
    resource = _resource(type_name)
    strings = [a for a in _filterable(resource) if isinstance(a, r.String)]
    chosen = data.draw(st.lists(st.sampled_from(strings), min_size=2, max_size=3, unique_by=lambda a: a.name))
    combinator = data.draw(st.sampled_from(["or", "and"]))
    key = f"_{combinator}_".join(a.name for a in chosen) + "_cont"
    condition = filters.parse_condition(resource, key, "x")
    assert condition.combinator == combinator
    assert [p.lookup for p in condition.paths] == [a.column for a in chosen]


# --- (c) query.parse over whole query strings ---------------------------------------------------------------

SEGMENT = st.one_of(
    st.text(max_size=12), WORDS, st.sampled_from(["q", "number", "size", "price_lists", "[", "]"])
)
BRACKETED = st.builds(
    lambda base, segs: base + "".join(f"[{s}]" for s in segs),
    st.sampled_from(["filter", "fields", "page", "sort", "include", "x", "", "FILTER"]),
    st.lists(SEGMENT, max_size=4),
)
PARAMS = st.lists(st.tuples(st.one_of(BRACKETED, st.text(max_size=20)), VALUES), max_size=6)


@BOUNDED
@given(st.sampled_from(RESOURCES), PARAMS, st.booleans())
def test_query_parse_raises_only_400s(type_name, items, collection):
    resource = _resource(type_name)
    try:
        q = query.parse(resource, items, collection=collection)
    except errors.ApiError as exc:
        assert exc.status == 400
        return
    assert 1 <= q.page_size <= query.MAX_PAGE_SIZE and 1 <= q.page_number <= query.MAX_PAGE_NUMBER
    query.order_by(resource, q.sort)
    for condition in q.filters:
        _q(condition)


@BOUNDED
@given(st.text(alphabet="0123456789²³¹٣۳ +-.e_", max_size=12))
def test_page_values_are_plain_decimal_numbers(value):
    try:
        q = query.parse(_resource("price_lists"), [("page[number]", value)], collection=True)
    except errors.ApiError as exc:
        assert exc.code == "INVALID_PAGE_VALUE"
        return
    assert str(q.page_number) == value.strip().lstrip("0")


# --- (d) json_contains is PostgreSQL's @> ---------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from([0, 1, 1.0, 0.5, "1", "", "a", True, False]),
    st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=4),
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.sampled_from("abc"), children, max_size=3)
    ),
    max_leaves=12,
)


@st.composite
def part_of(draw: Any, document: Any) -> Any:
    """A document ``document`` contains: a sub-object, a sub-multiset of an array, or itself."""
    if isinstance(document, dict):
        keys = draw(st.lists(st.sampled_from(sorted(document)), unique=True)) if document else []
        return {k: draw(part_of(document[k])) for k in keys}
    if isinstance(document, list):
        items = draw(st.lists(st.sampled_from(document), max_size=4)) if document else []
        return [draw(part_of(item)) for item in items]
    return document


def _postgres_contains(target: Any, query_: Any) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb @> %s::jsonb", [json.dumps(target), json.dumps(query_)])
        return bool(cursor.fetchone()[0])


def _sqlite_contains(target: Any, query_: Any) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT of_json_contains(%s, %s)", [json.dumps(target), json.dumps(query_)])
        return bool(cursor.fetchone()[0])


@pytest.mark.django_db
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_json_contains_agrees_with_postgresql(data):
    target = data.draw(DOCUMENTS)
    query_ = data.draw(st.one_of(DOCUMENTS, part_of(target)))
    expected = json_contains(target, query_)
    if connection.vendor == "postgresql":
        assert _postgres_contains(target, query_) == expected, (target, query_)
    else:
        assert _sqlite_contains(target, query_) == expected, (target, query_)


@ALGEBRA
@given(DOCUMENTS)
def test_json_contains_is_reflexive(document):
    assert json_contains(document, document)


@ALGEBRA
@given(st.data())
def test_a_part_is_contained_and_containment_is_transitive(data):
    whole = data.draw(DOCUMENTS)
    part = data.draw(part_of(whole))
    smaller = data.draw(part_of(part))
    assert json_contains(whole, part) and json_contains(part, smaller) and json_contains(whole, smaller)


@ALGEBRA
@given(DOCUMENTS)
def test_empty_containers_are_in_every_container_of_their_kind(document):
    assert json_contains(document, {}) == isinstance(document, dict)
    assert json_contains(document, []) == isinstance(document, list)


@ALGEBRA
@given(DOCUMENTS, DOCUMENTS)
def test_wrapping_in_an_object_keeps_the_answer(target, query_):
    assume(not isinstance(target, list) or isinstance(query_, (dict, list)))  # the top-level exception
    assert json_contains({"k": target}, {"k": query_}) == json_contains(target, query_)


# PostgreSQL's answers, asked again of the database the suite runs on; note the top-level exception for scalars.
@pytest.mark.django_db
@pytest.mark.parametrize(
    "target,query_,expected",
    [
        ([1, 2], 1, True),
        ([1, [2]], 2, False),
        ({"a": [1]}, {"a": 1}, False),
        (1, [1], False),
        (1, 1.0, True),
        (True, 1, False),
        ([[1, 2]], [[1]], True),
        ([[1, 2]], [1], False),
        ({"a": None}, {"a": None}, True),
        ({}, {"a": None}, False),
        ("a", "a", True),
        ([0.1], [0.10000000000000001], True),  # the same double: json.dumps writes both as 0.1
    ],
)
def test_known_answers(target, query_, expected):
    assert json_contains(target, query_) is expected
    database = _postgres_contains if connection.vendor == "postgresql" else _sqlite_contains
    assert database(target, query_) is expected
