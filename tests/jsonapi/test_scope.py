"""Tenant isolation: a caller sees, changes and links only rows of its own organization and mode.

"Theirs" are the rows of another organization (``other_org``) and of our own organization in live mode
(``live_api``): every way to reach a row must miss both.
"""

from __future__ import annotations

import pytest

from orderfactory.addresses.models import Address
from orderfactory.auth import tokens
from orderfactory.catalog.models import Market, ShippingCategory
from orderfactory.core import scope
from orderfactory.inventory.models import InventoryModel, InventoryStockLocation, StockLocation
from orderfactory.jsonapi.errors import ApiError
from tests.conftest import document
from tests.jsonapi.conftest import ADDRESS


def build(caller, label):
    """One row of every kind for ``caller``, named after ``label``."""
    address = caller.create("addresses", {**ADDRESS, "city": f"{label} City"})
    location = caller.create("stock_locations", {"name": f"{label} WH", "code": "main"}, {"address": address})
    model = caller.create("inventory_models", {"name": f"{label} Model"})
    link = caller.create(
        "inventory_stock_locations", {"priority": 1}, {"stock_location": location, "inventory_model": model}
    )
    category = caller.create("shipping_categories", {"name": f"{label} Category", "code": "STD"})
    price_list = caller.create(
        "price_lists", {"name": f"{label} Prices", "code": "EUR", "currency_code": "EUR"}
    )
    return {
        "addresses": address,
        "stock_locations": location,
        "inventory_models": model,
        "inventory_stock_locations": link,
        "shipping_categories": category,
        "price_lists": price_list,
    }


@pytest.fixture
def tenants(api, other_org, live_api):
    # The same codes in all three: uniqueness is per organization and mode, so none of these is "taken".
    return {"ours": build(api, "Ours"), "globex": build(other_org, "Globex"), "live": build(live_api, "Live")}


THEIRS = ["globex", "live"]
TYPES = [
    "addresses",
    "stock_locations",
    "inventory_models",
    "inventory_stock_locations",
    "shipping_categories",
    "price_lists",
]


def test_lists_show_only_the_callers_rows(api, other_org, live_api, tenants):
    for type_name in TYPES:
        for caller, label in [(api, "ours"), (other_org, "globex"), (live_api, "live")]:
            r = caller.get(type_name)
            assert [d["id"] for d in r.data] == [tenants[label][type_name]["id"]], (type_name, label)
            assert r.json["meta"]["record_count"] == 1
            assert {d["meta"]["mode"] for d in r.data} == {caller.mode}
            assert {d["meta"]["organization_id"] for d in r.data} == {caller.organization.id}


def test_their_rows_are_not_found_and_stay_unchanged(api, other_org, live_api, tenants):
    for theirs, owner in [("globex", other_org), ("live", live_api)]:
        for type_name in reversed(TYPES):  # children first, so a delete that leaked could not be blocked
            rid = tenants[theirs][type_name]["id"]
            for r in [
                api.get(f"{type_name}/{rid}"),
                api.patch(f"{type_name}/{rid}", document(type_name, {"reference": "hijacked"}, rid=rid)),
                api.delete(f"{type_name}/{rid}"),
            ]:
                assert r.status == 404 and r.error_codes == ["RECORD_NOT_FOUND"], (theirs, type_name, r)
        for type_name in TYPES:
            rid = tenants[theirs][type_name]["id"]
            r = owner.get(f"{type_name}/{rid}")
            assert r.status == 200, r
            assert r.data["attributes"] == tenants[theirs][type_name]["attributes"]


@pytest.mark.parametrize("theirs", THEIRS)
def test_our_rows_cannot_link_to_theirs(api, tenants, theirs):
    ours, their = tenants["ours"], tenants[theirs]
    counts = (StockLocation.unscoped.count(), InventoryStockLocation.unscoped.count())

    def refused(r):
        assert r.status == 404 and r.error_codes == ["RECORD_NOT_FOUND"], r
        assert r.json["errors"][0]["source"]["pointer"].startswith("/data/relationships/")

    refused(
        api.post(
            "stock_locations", document("stock_locations", {"name": "x"}, {"address": their["addresses"]})
        )
    )
    refused(
        api.post(
            "inventory_stock_locations",
            document(
                "inventory_stock_locations",
                {"priority": 2},
                {"stock_location": their["stock_locations"], "inventory_model": ours["inventory_models"]},
            ),
        )
    )
    location = ours["stock_locations"]
    refused(api.update("stock_locations", location["id"], {"name": "moved"}, {"address": their["addresses"]}))
    assert (StockLocation.unscoped.count(), InventoryStockLocation.unscoped.count()) == counts
    r = api.get(f"stock_locations/{location['id']}", {"include": "address"})
    assert r.data["attributes"]["name"] == "Ours WH"
    assert r.data["relationships"]["address"]["data"]["id"] == ours["addresses"]["id"]


@pytest.mark.parametrize("theirs", THEIRS)
def test_a_link_to_their_row_in_the_database_still_shows_nothing_of_it(api, tenants, theirs):
    """Were a row of ours to point at theirs (no API write can do it), reads would still not follow it."""
    ours, their = tenants["ours"], tenants[theirs]
    location_id = ours["stock_locations"]["id"]
    StockLocation.unscoped.filter(pk=location_id).update(address_id=their["addresses"]["id"])

    r = api.get(f"stock_locations/{location_id}", {"include": "address"})
    assert r.status == 200, r
    assert r.data["relationships"]["address"]["data"] is None
    assert "included" not in r.json
    r = api.get("stock_locations", {"include": "address"})
    assert "included" not in r.json
    assert api.get(f"stock_locations/{location_id}/address").json == {"data": None}
    assert api.get(f"stock_locations/{location_id}/relationships/address").json == {"data": None}


@pytest.mark.parametrize("theirs", THEIRS)
def test_relationship_endpoints_of_their_rows_are_not_found(api, tenants, theirs):
    their = tenants[theirs]
    for path in [
        f"inventory_models/{their['inventory_models']['id']}/inventory_stock_locations",
        f"inventory_models/{their['inventory_models']['id']}/relationships/inventory_stock_locations",
        f"inventory_stock_locations/{their['inventory_stock_locations']['id']}/stock_location",
        f"inventory_stock_locations/{their['inventory_stock_locations']['id']}/relationships/inventory_model",
        f"stock_locations/{their['stock_locations']['id']}/inventory_stock_locations",
    ]:
        r = api.get(path)
        assert r.status == 404 and r.error_codes == ["RECORD_NOT_FOUND"], (path, r)


@pytest.mark.parametrize("theirs", THEIRS)
def test_filters_never_reach_their_rows(api, tenants, theirs):
    their, ours = tenants[theirs], tenants["ours"]

    def count(type_name, key, value):
        r = api.get(type_name, {f"filter[q][{key}]": value})
        assert r.status == 200, r
        return r.json["meta"]["record_count"]

    label = "Globex" if theirs == "globex" else "Live"
    assert count("inventory_stock_locations", "stock_location_name_eq", f"{label} WH") == 0
    assert count("inventory_stock_locations", "inventory_model_name_start", label) == 0
    assert count("inventory_models", "inventory_stock_locations_stock_location_name_eq", f"{label} WH") == 0
    assert count("stock_locations", "address_city_eq", f"{label} City") == 0
    assert count("stock_locations", "id_eq", their["stock_locations"]["id"]) == 0
    both = f"{their['price_lists']['id']},{ours['price_lists']['id']}"
    assert count("price_lists", "id_in", both) == 1
    assert count("price_lists", "code_eq", "EUR") == 1
    assert count("price_lists", "name_not_eq", "nothing") == 1


def test_singletons_are_the_callers_own(api, other_org, live_api):
    for caller in (api, other_org, live_api):
        organization = caller.get("organization").data
        assert organization["id"] == caller.organization.id
        application = caller.get("application").data
        assert application["id"] == caller.app.id
        assert application["meta"] == {"mode": caller.mode, "organization_id": caller.organization.id}
    assert api.organization.id == live_api.organization.id != other_org.organization.id
    assert api.get("organization").data["attributes"]["slug"] == "acme"
    assert other_org.get("organization").data["attributes"]["slug"] == "globex"


# --- the manager refuses to work without a scope ------------------------------------------------------------


@pytest.mark.django_db
def test_a_tenant_query_outside_any_scope_raises():
    assert scope.current_or_none() is None
    for model in (InventoryModel, StockLocation, Address, ShippingCategory):
        with pytest.raises(scope.ScopeMissing):
            model.objects.all()
    with pytest.raises(scope.ScopeMissing):
        ShippingCategory(name="orphan").save()
    assert not ShippingCategory.unscoped.exists()


def test_a_row_of_another_scope_cannot_be_written_inside_a_scope(api, other_org):
    with scope.active(other_org.scope()):
        theirs = ShippingCategory.objects.create(name="Globex")
    with scope.active(api.scope()):
        assert not ShippingCategory.objects.filter(pk=theirs.pk).exists()
        theirs.name = "hijacked"
        with pytest.raises(scope.ScopeMissing):
            theirs.save()
        with pytest.raises(scope.ScopeMissing):
            ShippingCategory.objects.bulk_create(
                [ShippingCategory(name="x", organization_id=other_org.organization.id, mode="test")]
            )
    assert ShippingCategory.unscoped.get(pk=theirs.pk).name == "Globex"


def test_the_scope_ends_with_its_block(api):
    with scope.active(api.scope()):
        ShippingCategory.objects.create(name="inside")
        assert ShippingCategory.objects.count() == 1
    with pytest.raises(scope.ScopeMissing):
        ShippingCategory.objects.count()


# --- market-scoped tokens resolve markets in their own organization and mode --------------------------------


def _market(caller, code):
    with scope.active(caller.scope()):
        return Market.objects.create(name=code, code=code)


def test_sales_channel_tokens_name_only_markets_of_their_organization_and_mode(
    api, other_org, live_api, make_api
):
    globex_market = _market(other_org, "GX")
    _market(live_api, "LV")
    ours = _market(api, "EU")
    for requested in ("market:code:GX", "market:code:LV", f"market:id:{globex_market.id}"):
        with pytest.raises(ApiError) as raised:
            make_api(kind="sales_channel", scope=requested)
        assert raised.value.code == "INVALID_SCOPE", requested
    sales_channel = make_api(kind="sales_channel", scope="market:code:EU")
    assert tokens.verify(sales_channel.token).market_ids == (ours.id,)
    assert sales_channel.get("organization").data["id"] == api.organization.id
    application = sales_channel.get("application").data
    assert application["id"] == sales_channel.app.id and application["attributes"]["kind"] == "sales_channel"


# --- the scoped queryset each query starts from (core.models.TenantManager keeps one per model and scope) ----


def test_each_scope_starts_from_its_own_rows_however_the_scopes_alternate(api, other_org, live_api):
    names = {}
    for caller, name in ((api, "ours"), (other_org, "globex"), (live_api, "live")):
        with scope.active(caller.scope()):
            ShippingCategory.objects.create(name=name)
        names[name] = caller
    for _ in range(3):
        for name, caller in names.items():
            with scope.active(caller.scope()):
                assert list(ShippingCategory.objects.values_list("name", flat=True)) == [name]


def test_a_query_sees_rows_written_after_an_earlier_query_of_the_same_scope(api):
    with scope.active(api.scope()):
        first = ShippingCategory.objects.all()
        assert list(first) == []
        ShippingCategory.objects.create(name="later")
        assert [c.name for c in ShippingCategory.objects.all()] == ["later"]
        assert list(first) == []  # an evaluated queryset keeps its rows, as Django's do


def test_the_scoped_querysets_kept_are_bounded_and_scoping_survives_their_clearing(
    api, other_org, monkeypatch
):
    from orderfactory.core import models as core_models

    monkeypatch.setattr(core_models, "_SCOPED_MAX", 2)
    with scope.active(api.scope()):
        ShippingCategory.objects.create(name="ours")
    for _ in range(3):
        for caller, expected in ((api, ["ours"]), (other_org, [])):
            with scope.active(caller.scope()):
                assert [c.name for c in ShippingCategory.objects.all()] == expected
                assert [m.name for m in InventoryModel.objects.all()] == []
                assert len(core_models._scoped) <= 2
