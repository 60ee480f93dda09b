"""order_factories, order_copies and recurring_order_copies as a client sees them over HTTP."""

from __future__ import annotations

import pytest

from tests.conftest import document
from tests.factories.conftest import copy, run_job, subscription
from tests.orders.conftest import build_shop, new_order

OPTIONS = {
    "place_target_order": None,
    "reuse_wallet": True,
    "cancel_source_order": False,
    "apply_promotions": False,
    "skip_errors": False,
    "ignore_invalid_coupon": False,
    "unavailable_lines": "fail",
    "prices": "frozen",
}


def test_create_returns_a_pending_copy_with_the_documented_defaults(api, placed_order):
    r = copy(api, placed_order["id"], attributes={"reference": "ERP-991", "metadata": {"ticket": "T-1"}})
    assert r.status == 201, r
    data = r.data
    assert data["type"] == "order_copies"
    attrs = data["attributes"]
    assert {k: attrs[k] for k in OPTIONS} == OPTIONS
    assert attrs["type"] == "order_copies"
    assert attrs["status"] == "pending"
    assert (attrs["started_at"], attrs["completed_at"], attrs["failed_at"]) == (None, None, None)
    assert (attrs["errors_log"], attrs["errors_count"]) == ({}, 0)
    assert (attrs["reference"], attrs["reference_origin"], attrs["metadata"]) == (
        "ERP-991",
        None,
        {"ticket": "T-1"},
    )
    base = f"http://testserver/api/order_copies/{data['id']}"
    assert set(data["relationships"]) == {
        "source_order",
        "target_order",
        "order_subscription",
        "preview",
        "order_copy_batch",
        "events",
        "event_stores",
    }
    assert data["relationships"]["source_order"]["links"] == {
        "self": f"{base}/relationships/source_order",
        "related": f"{base}/source_order",
    }


@pytest.mark.parametrize(
    ("attributes", "params", "read_back"),
    [
        ({}, None, False),
        (
            {
                "place_target_order": True,
                "reference": "ERP-1",
                "reference_origin": "erp",
                "prices": "current",
            },
            None,
            False,
        ),
        ({"metadata": {"b": 1, "a": [1.5, "x"]}}, None, True),  # JSON as the database gives it back: read
        ({}, {"include": "source_order"}, True),
        ({}, {"fields[order_copies]": "status,source_order"}, True),
    ],
    ids=["defaults", "options", "metadata", "include", "fields"],
)
def test_the_created_copy_is_answered_as_a_get_then_shows_it(
    api, placed_order, attributes, params, read_back
):
    """The 201 is rendered from the copy as written, unless a value must be read back (JSON the database
    writes its own way) or the query asks for more: the same document either way, byte for byte."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    body = document("order_copies", attributes, {"source_order": ("orders", placed_order["id"])})
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        r = api.post("order_copies", body, params=params)
    assert r.status == 201, r
    reads = [q["sql"] for q in captured if q["sql"].startswith('SELECT "factories_orderfactory"')]
    assert len(reads) == int(read_back), reads
    again = api.get(f"order_copies/{r.data['id']}", params=params)
    assert again.status == 200, again
    assert r.body == again.body


def test_every_create_only_option_is_kept(api, placed_order):
    chosen = {
        "place_target_order": True,
        "reuse_wallet": False,
        "cancel_source_order": True,
        "apply_promotions": True,
        "skip_errors": True,
        "ignore_invalid_coupon": True,
        "reference_origin": "erp",
    }
    r = copy(api, placed_order["id"], attributes=chosen)
    assert r.status == 201, r
    assert {k: r.data["attributes"][k] for k in chosen} == chosen
    again = api.get(f"order_copies/{r.data['id']}").data["attributes"]
    assert {k: again[k] for k in chosen} == chosen


def test_source_order_is_required(api, placed_order):
    r = api.post("order_copies", document("order_copies", {"place_target_order": True}))
    assert r.status == 422, r
    assert r.json["errors"] == [
        {
            "title": "can't be blank",
            "detail": "source_order - can't be blank",
            "code": "VALIDATION_ERROR",
            "source": {"pointer": "/data/relationships/source_order"},
            "status": "422",
            "meta": {"error": "blank"},
        }
    ]
    assert api.get("order_copies").json["meta"]["record_count"] == 0


@pytest.mark.parametrize("owner", ["other_org", "live_api"])
def test_a_source_order_outside_the_callers_scope_is_not_found(request, api, owner):
    outsider = request.getfixturevalue(owner)
    foreign = new_order(outsider, build_shop(outsider, code="XX"), {"TSHIRT": 1})
    r = copy(api, foreign["id"])
    assert r.status == 404, r
    assert r.json["errors"][0]["code"] == "RECORD_NOT_FOUND"
    assert r.json["errors"][0]["source"] == {"pointer": "/data/relationships/source_order"}
    assert api.get("order_factories").json["meta"]["record_count"] == 0


@pytest.mark.parametrize("attribute", ["status", "errors_count", "started_at", "type", "errors_log"])
def test_read_only_attributes_cannot_be_sent_on_create(api, placed_order, attribute):
    value = {
        "status": "completed",
        "errors_count": 1,
        "started_at": "2025-01-01T00:00:00Z",
        "type": "order_copies",
        "errors_log": {},
    }[attribute]
    r = copy(api, placed_order["id"], attributes={attribute: value})
    assert r.status == 400, r
    assert r.error_codes == ["PARAM_NOT_ALLOWED"]


def test_update_takes_reference_reference_origin_and_metadata_only(api, placed_order):
    factory = copy(api, placed_order["id"]).data
    r = api.update(
        "order_copies",
        factory["id"],
        {"reference": "R-2", "reference_origin": "crm", "metadata": {"ticket": "T-42"}},
    )
    assert r.status == 200, r
    attrs = r.data["attributes"]
    assert (attrs["reference"], attrs["reference_origin"], attrs["metadata"]) == (
        "R-2",
        "crm",
        {"ticket": "T-42"},
    )
    assert attrs["status"] == "pending"
    for forbidden in (
        {"place_target_order": True},
        {"reuse_wallet": False},
        {"skip_errors": True},
        {"status": "completed"},
    ):
        r = api.update("order_copies", factory["id"], forbidden)
        assert r.status == 400, (forbidden, r)
        assert r.error_codes == ["PARAM_NOT_ALLOWED"]
    r = api.update(
        "order_copies", factory["id"], relationships={"source_order": ("orders", placed_order["id"])}
    )
    assert r.status == 400, r
    attrs = api.get(f"order_copies/{factory['id']}").data["attributes"]
    assert (
        attrs["place_target_order"] is None and attrs["reuse_wallet"] is True and attrs["status"] == "pending"
    )


def test_delete(api, placed_order):
    factory = copy(api, placed_order["id"]).data
    r = api.delete(f"order_copies/{factory['id']}")
    assert r.status == 204 and r.body == b""
    assert api.get(f"order_copies/{factory['id']}").status == 404
    assert api.get(f"orders/{placed_order['id']}").status == 200
    assert run_job(factory["id"]) is None


def test_other_organizations_do_not_see_the_copy(api, other_org, live_api, placed_order):
    factory = copy(api, placed_order["id"]).data
    for outsider in (other_org, live_api):
        assert outsider.get(f"order_copies/{factory['id']}").status == 404
        assert outsider.get(f"order_factories/{factory['id']}").status == 404
        assert outsider.get("order_factories").json["meta"]["record_count"] == 0
        assert outsider.delete(f"order_copies/{factory['id']}").status == 404


# --- recurring_order_copies -------------------------------------------------------------------------------


def test_recurring_copy_needs_an_order_subscription(api, placed_order):
    r = copy(api, placed_order["id"], kind="recurring_order_copies")
    assert r.status == 422, r
    assert [(e["source"]["pointer"], e["title"]) for e in r.json["errors"]] == [
        ("/data/relationships/order_subscription", "can't be blank")
    ]


def test_recurring_copy_crud(api, placed_order):
    sub = subscription(api, placed_order["id"])
    r = copy(
        api,
        placed_order["id"],
        kind="recurring_order_copies",
        attributes={"reference": "run-1"},
        relationships={"order_subscription": ("order_subscriptions", sub.pk)},
    )
    assert r.status == 201, r
    data = r.data
    assert data["type"] == "recurring_order_copies"
    attrs = data["attributes"]
    assert attrs["type"] == "recurring_order_copies" and attrs["status"] == "pending"
    # A subscription run places its target unless told otherwise (contract a.2), and reuses the wallet.
    assert attrs["place_target_order"] is True and attrs["reuse_wallet"] is True
    assert "cancel_source_order" not in attrs and "skip_errors" not in attrs
    rel = api.get(f"recurring_order_copies/{data['id']}/order_subscription")
    assert rel.status == 200 and rel.data["id"] == sub.pk
    r = api.update("recurring_order_copies", data["id"], {"metadata": {"run": 1}})
    assert r.status == 200 and r.data["attributes"]["metadata"] == {"run": 1}
    assert api.update("recurring_order_copies", data["id"], {"place_target_order": False}).status == 400
    r = copy(
        api,
        placed_order["id"],
        kind="recurring_order_copies",
        attributes={"cancel_source_order": True},
        relationships={"order_subscription": ("order_subscriptions", sub.pk)},
    )
    assert r.status == 400, r
    assert api.delete(f"recurring_order_copies/{data['id']}").status == 204
    assert api.get(f"recurring_order_copies/{data['id']}").status == 404


def test_order_copies_cannot_be_given_an_order_subscription(api, placed_order):
    sub = subscription(api, placed_order["id"])
    r = copy(api, placed_order["id"], relationships={"order_subscription": ("order_subscriptions", sub.pk)})
    assert r.status == 400, r
    assert r.error_codes == ["PARAM_NOT_ALLOWED"]


def test_a_subscription_outside_the_callers_scope_is_not_found(api, other_org, placed_order):
    foreign_order = new_order(other_org, build_shop(other_org, code="XX"), {"TSHIRT": 1})
    sub = subscription(other_org, foreign_order["id"])
    r = copy(
        api,
        placed_order["id"],
        kind="recurring_order_copies",
        relationships={"order_subscription": ("order_subscriptions", sub.pk)},
    )
    assert r.status == 404, r


def test_each_kind_serves_only_its_own_rows(api, placed_order):
    plain = copy(api, placed_order["id"]).data
    sub = subscription(api, placed_order["id"])
    recurring = copy(
        api,
        placed_order["id"],
        kind="recurring_order_copies",
        relationships={"order_subscription": ("order_subscriptions", sub.pk)},
    ).data
    assert [d["id"] for d in api.get("order_copies").data] == [plain["id"]]
    assert [d["id"] for d in api.get("recurring_order_copies").data] == [recurring["id"]]
    assert api.get(f"order_copies/{recurring['id']}").status == 404
    assert api.get(f"recurring_order_copies/{plain['id']}").status == 404
    assert api.delete(f"order_copies/{recurring['id']}").status == 404


# --- order_factories --------------------------------------------------------------------------------------


@pytest.fixture
def both_kinds(api, placed_order):
    plain = copy(api, placed_order["id"], attributes={"metadata": {"ticket": "T-42"}}).data
    sub = subscription(api, placed_order["id"])
    recurring = copy(
        api,
        placed_order["id"],
        kind="recurring_order_copies",
        relationships={"order_subscription": ("order_subscriptions", sub.pk)},
    ).data
    return plain, recurring


def test_order_factories_lists_both_kinds_told_apart_by_the_type_attribute(api, both_kinds):
    plain, recurring = both_kinds
    r = api.get("order_factories", {"sort": "created_at"})
    assert r.status == 200, r
    assert [(d["type"], d["id"], d["attributes"]["type"]) for d in r.data] == [
        ("order_factories", plain["id"], "order_copies"),
        ("order_factories", recurring["id"], "recurring_order_copies"),
    ]
    one = api.get(f"order_factories/{recurring['id']}")
    assert one.status == 200 and one.data["attributes"]["type"] == "recurring_order_copies"
    assert one.data["links"]["self"] == f"http://testserver/api/order_factories/{recurring['id']}"


def test_order_factories_filters_and_includes(api, both_kinds, placed_order):
    plain, recurring = both_kinds
    assert run_job(plain["id"]) == "completed"
    target_id = api.get(f"order_copies/{plain['id']}/target_order").data["id"]

    def ids(params):
        r = api.get("order_factories", params)
        assert r.status == 200, r
        return {d["id"] for d in r.data}

    assert ids({"filter[q][status_eq]": "completed"}) == {plain["id"]}
    assert ids({"filter[q][status_eq]": "pending"}) == {recurring["id"]}
    assert ids({"filter[q][type_eq]": "recurring_order_copies"}) == {recurring["id"]}
    assert ids({"filter[q][source_order_id_eq]": placed_order["id"]}) == {plain["id"], recurring["id"]}
    assert ids({"filter[q][source_order_id_eq]": "nope"}) == set()
    assert ids({"filter[q][target_order_id_eq]": target_id}) == {plain["id"]}
    assert ids({"filter[q][metadata_jcont]": '{"ticket":"T-42"}'}) == {plain["id"]}
    r = api.get(
        "order_factories", {"include": "source_order,target_order", "filter[q][status_eq]": "completed"}
    )
    assert r.status == 200, r
    assert r.data[0]["relationships"]["source_order"]["data"] == {"type": "orders", "id": placed_order["id"]}
    assert r.data[0]["relationships"]["target_order"]["data"] == {"type": "orders", "id": target_id}
    assert {(o["type"], o["id"]) for o in r.json["included"]} == {
        ("orders", placed_order["id"]),
        ("orders", target_id),
    }
    assert [d["id"] for d in api.get("order_factories", {"sort": "-created_at"}).data] == [
        recurring["id"],
        plain["id"],
    ]
    r = api.get(
        "order_copies",
        {
            "filter[q][source_order_id_eq]": placed_order["id"],
            "filter[q][metadata_jcont]": '{"ticket":"T-42"}',
        },
    )
    assert [d["id"] for d in r.data] == [plain["id"]]


def test_order_factories_is_read_only(api, both_kinds, placed_order):
    plain, _ = both_kinds
    r = api.post(
        "order_factories", document("order_factories", {}, {"source_order": ("orders", placed_order["id"])})
    )
    assert r.status == 405, r
    assert (
        api.patch(
            f"order_factories/{plain['id']}", document("order_factories", {"reference": "x"}, rid=plain["id"])
        ).status
        == 405
    )
    assert api.delete(f"order_factories/{plain['id']}").status == 405
    assert api.get(f"order_copies/{plain['id']}").status == 200


# --- relationship endpoints -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["order_copies", "recurring_order_copies", "order_factories"])
def test_relationship_endpoints(api, placed_order, kind):
    sub = subscription(api, placed_order["id"])
    create_kind = "order_copies" if kind == "order_factories" else kind
    rels = (
        {"order_subscription": ("order_subscriptions", sub.pk)}
        if create_kind == "recurring_order_copies"
        else {}
    )
    factory = copy(
        api,
        placed_order["id"],
        kind=create_kind,
        attributes={"place_target_order": False},
        relationships=rels,
    ).data
    fid = factory["id"]
    assert api.get(f"{kind}/{fid}/target_order").json == {"data": None}
    assert run_job(fid) == "completed"
    source = api.get(f"{kind}/{fid}/source_order")
    assert (
        source.status == 200 and source.data["type"] == "orders" and source.data["id"] == placed_order["id"]
    )
    target = api.get(f"{kind}/{fid}/target_order")
    assert (
        target.status == 200 and target.data["type"] == "orders" and target.data["id"] != placed_order["id"]
    )
    linkage = api.get(f"{kind}/{fid}/relationships/target_order")
    assert linkage.json == {"data": {"type": "orders", "id": target.data["id"]}}
    events = api.get(f"{kind}/{fid}/events")
    assert events.status == 200, events
    assert {e["attributes"]["name"] for e in events.data} >= {
        f"{create_kind}.start",
        f"{create_kind}.complete",
    }
    stores = api.get(f"{kind}/{fid}/event_stores")
    assert stores.status == 200 and stores.json["meta"]["record_count"] >= 1, stores
    if kind != "order_factories":
        sub_rel = api.get(f"{kind}/{fid}/order_subscription")
        assert sub_rel.status == 200
        expected = sub.pk if kind == "recurring_order_copies" else None
        assert (sub_rel.data or {}).get("id") == expected


@pytest.mark.parametrize("kind", ["order_copies", "recurring_order_copies", "order_factories"])
def test_orders_list_their_factories(api, placed_order, kind):
    if kind not in {r.name for r in _orders_resource().all_relationships()}:
        pytest.skip(f"orders does not declare {kind} yet (the lead adds it)")
    sub = subscription(api, placed_order["id"])
    plain = copy(api, placed_order["id"]).data
    recurring = copy(
        api,
        placed_order["id"],
        kind="recurring_order_copies",
        relationships={"order_subscription": ("order_subscriptions", sub.pk)},
    ).data
    r = api.get(f"orders/{placed_order['id']}/{kind}")
    assert r.status == 200, r
    expected = {
        "order_copies": {plain["id"]},
        "recurring_order_copies": {recurring["id"]},
        "order_factories": {plain["id"], recurring["id"]},
    }[kind]
    assert {d["id"] for d in r.data} == expected
    assert {d["type"] for d in r.data} == {kind}


def _orders_resource():
    from orderfactory.jsonapi import registry

    return registry.get("orders")


@pytest.mark.django_db(transaction=True)  # the foreign key is checked when the request's transaction commits
def test_a_source_deleted_while_its_copy_is_created_gets_the_404_a_missing_source_gets(
    api, shop, monkeypatch
):
    """The body of a copy is parsed before its transaction (its source read for its key only): when another
    request deletes the source in between, the foreign key refuses the write and the client gets the answer
    of a copy of a missing source, not a 500, and nothing is written."""
    from orderfactory.factories.models import OrderFactory
    from orderfactory.jsonapi import body as parsing
    from orderfactory.orders.models import Order

    source = new_order(api, shop, {"MUG": 1})
    parse = parsing.parse
    deleted = []

    def parse_then_lose_the_source(*args, **kwargs):
        parsed = parse(*args, **kwargs)
        if not deleted:  # the other request's delete, committed between the parse and the transaction
            deleted.append(Order.unscoped.filter(pk=source["id"]).delete())
        return parsed

    monkeypatch.setattr(parsing, "parse", parse_then_lose_the_source)
    r = copy(api, source["id"])
    monkeypatch.undo()
    assert deleted
    missing = copy(api, source["id"])
    assert (r.status, r.json["errors"]) == (missing.status, missing.json["errors"]), r
    assert r.status == 404, r
    assert not OrderFactory.unscoped.exists()
