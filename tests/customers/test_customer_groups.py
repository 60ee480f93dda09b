"""Customer groups (docs/decisions.md, "Customer groups"): the resource, its customers and markets, and the
private market a group makes: only the group's customers place orders there, and a copy for a customer no
longer in the group fails."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, document
from tests.factories.conftest import copied, copy, run_job
from tests.orders.conftest import Shop, build_shop, new_order, place


@pytest.fixture
def shop(api: Api) -> Shop:
    return build_shop(api)


def meta_codes(r: Any) -> list[str]:
    return [e["meta"].get("error") for e in r.json["errors"]]


def group(api: Api, name: str = "VIP", code: str | None = "vip1") -> dict[str, Any]:
    return api.create("customer_groups", {"name": name, "code": code})


def customer_id(api: Api, email: str) -> str:
    r = api.get("customers", {"filter[q][email_eq]": email})
    assert r.status == 200 and len(r.data) == 1, r
    return r.data[0]["id"]


def join(api: Api, email: str, vip: dict[str, Any] | None) -> None:
    r = api.update("customers", customer_id(api, email), relationships={"customer_group": vip})
    assert r.status == 200, r


def make_private(api: Api, shop: Shop, vip: dict[str, Any] | None) -> dict[str, Any]:
    r = api.update("markets", shop.market.pk, relationships={"customer_group": vip})
    assert r.status == 200, r
    return r.data


def test_a_group_lists_its_customers_and_markets(api: Api, shop: Shop) -> None:
    vip = group(api)
    assert vip["attributes"] == {**vip["attributes"], "name": "VIP", "code": "vip1"}
    ada = api.create("customers", {"email": "ada@example.com"}, {"customer_group": vip})
    api.create("customers", {"email": "bob@example.com"})
    market = make_private(api, shop, vip)
    assert market["attributes"]["private"] is True
    r = api.get(f"customer_groups/{vip['id']}", {"include": "customers,markets"})
    assert r.status == 200, r
    assert [c["id"] for c in r.data["relationships"]["customers"]["data"]] == [ada["id"]]
    assert [m["id"] for m in r.data["relationships"]["markets"]["data"]] == [shop.market.pk]
    listed = api.get("customers", {"filter[q][customer_group_id_eq]": vip["id"]})
    assert [c["id"] for c in listed.data] == [ada["id"]]
    assert api.get("markets", {"filter[q][customer_group_id_eq]": vip["id"]}).data[0]["id"] == shop.market.pk
    assert make_private(api, shop, None)["attributes"]["private"] is False


def test_a_group_code_is_unique_and_follows_commerce_layers_rules(api: Api) -> None:
    group(api)
    r = api.post("customer_groups", document("customer_groups", {"name": "Other", "code": "vip1"}))
    assert r.status == 422 and meta_codes(r) == ["taken"], r
    r = api.post("customer_groups", document("customer_groups", {"name": "Other", "code": "has space"}))
    assert r.status == 422 and meta_codes(r) == ["invalid"], r
    r = api.post("customer_groups", document("customer_groups", {"code": "x"}))
    assert r.status == 422 and meta_codes(r) == ["blank"], r
    assert group(api, "No code", None)["attributes"]["code"] is None
    assert group(api, "No code either", None)["attributes"]["code"] is None


def test_a_group_making_a_market_private_is_not_deleted(api: Api, shop: Shop) -> None:
    vip = group(api)
    make_private(api, shop, vip)
    r = api.delete(f"customer_groups/{vip['id']}")
    assert r.status == 422, r
    make_private(api, shop, None)
    ada = api.create("customers", {"email": "ada@example.com"}, {"customer_group": vip})
    assert api.delete(f"customer_groups/{vip['id']}").status == 204
    assert api.get(f"customers/{ada['id']}/customer_group").json == {"data": None}


def test_only_the_groups_customers_place_orders_in_a_private_market(api: Api, shop: Shop) -> None:
    vip = group(api)
    outsider = new_order(api, shop, email="bob@example.com")
    member = new_order(api, shop, email="ada@example.com")
    join(api, "ada@example.com", vip)
    make_private(api, shop, vip)
    r = place(api, outsider["id"])
    assert r.status == 422 and meta_codes(r) == ["private_market"], r
    assert r.json["errors"][0]["source"]["pointer"] == "/data/relationships/market"
    validated = api.update("orders", outsider["id"], {"_validate": True})
    assert validated.status == 422 and meta_codes(validated) == ["private_market"], validated
    assert place(api, member["id"]).status == 200
    # A guest order is refused even for a member's email.
    guest = new_order(api, shop, email="ada@example.com")
    assert api.update("orders", guest["id"], {"guest": True}).status == 200
    r = place(api, guest["id"])
    assert r.status == 422 and meta_codes(r) == ["private_market"], r


def test_a_copy_for_a_customer_no_longer_in_the_group_fails(api: Api, shop: Shop) -> None:
    vip = group(api)
    order = new_order(api, shop, email="ada@example.com")
    join(api, "ada@example.com", vip)
    make_private(api, shop, vip)
    r = api.update("orders", order["id"], {"_save_payment_source_to_customer_wallet": True})
    assert r.status == 200, r
    assert place(api, order["id"]).status == 200
    made = copy(api, order["id"], attributes={"place_target_order": True})
    assert made.status == 201, made
    run_job(made.data["id"])
    factory, target = copied(api, made.data["id"])
    assert factory["attributes"]["status"] == "completed", factory
    assert target is not None and target["attributes"]["status"] == "placed"
    join(api, "ada@example.com", None)
    made = copy(api, order["id"], attributes={"place_target_order": False})
    run_job(made.data["id"])
    factory, target = copied(api, made.data["id"])
    assert factory["attributes"]["status"] == "failed", factory
    assert factory["attributes"]["errors_log"] == {
        "market": ["is private to a customer group the customer is not in"]
    }
    assert [d["code"] for d in factory["attributes"]["errors_details"]] == ["private_market"]
    assert target is None


@pytest.mark.parametrize("caller", ["other_org", "live_api"])
def test_groups_of_another_environment_are_invisible_and_unusable(
    api: Api, caller: str, request: pytest.FixtureRequest
) -> None:
    theirs: Api = request.getfixturevalue(caller)
    vip = group(api)
    assert theirs.get(f"customer_groups/{vip['id']}").status == 404
    assert theirs.get("customer_groups").data == []
    assert theirs.delete(f"customer_groups/{vip['id']}").status == 404
    r = theirs.post("customers", document("customers", {"email": "eve@example.com"}, {"customer_group": vip}))
    assert r.status == 404 and r.error_codes == ["RECORD_NOT_FOUND"], r
    # Their own group may take the same code: codes are unique per environment.
    assert group(theirs)["attributes"]["code"] == "vip1"
