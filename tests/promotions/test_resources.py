"""percentage_discount_promotions, coupon_codes_promotion_rules and coupons over HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderfactory.core import clock
from orderfactory.core import scope as scopes
from orderfactory.promotions.models import Coupon, Promotion

T0 = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
PROMOTIONS = "percentage_discount_promotions"
RULES = "coupon_codes_promotion_rules"


@pytest.fixture(autouse=True)
def now() -> Iterator[Any]:
    with clock.frozen(T0) as advance:
        yield advance


def promotion_attributes(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Spring sale",
        "percentage": 10,
        "starts_at": "2026-03-01T00:00:00.000Z",
        "expires_at": "2026-04-01T00:00:00.000Z",
        **overrides,
    }


def make_promotion(api: Any, **overrides: Any) -> dict[str, Any]:
    return api.create(PROMOTIONS, promotion_attributes(**overrides))


def make_coupon(
    api: Any, promotion: dict[str, Any], code: str = "SPRING2026", **attributes: Any
) -> dict[str, Any]:
    rule = api.create(RULES, {}, {"promotion": promotion})
    return api.create("coupons", {"code": code, **attributes}, {"promotion_rule": rule})


def pointers(response: Any) -> list[tuple[str, str]]:
    assert response.status == 422, response
    return [(e["source"]["pointer"], e["meta"]["error"]) for e in response.json["errors"]]


def test_a_promotion_is_created_with_its_defaults_and_computed_fields(api: Any) -> None:
    promotion = make_promotion(api, currency_code="EUR", priority=2, total_usage_limit=5)

    assert promotion["type"] == PROMOTIONS
    assert promotion["attributes"] == {
        "name": "Spring sale",
        "type": PROMOTIONS,
        "currency_code": "EUR",
        "exclusive": False,
        "priority": 2,
        "starts_at": "2026-03-01T00:00:00.000Z",
        "expires_at": "2026-04-01T00:00:00.000Z",
        "total_usage_limit": 5,
        "total_usage_count": 0,
        "total_usage_reached": False,
        "active": True,
        "status": "active",
        "weight": None,
        "coupons_count": 0,
        "disabled_at": None,
        "percentage": 10,
        "created_at": "2026-03-01T12:00:00.000Z",
        "updated_at": "2026-03-01T12:00:00.000Z",
        "reference": None,
        "reference_origin": None,
        "metadata": {},
    }
    assert {"market", "coupon_codes_promotion_rule", "coupons", "skus"} <= set(promotion["relationships"])
    assert (
        api.get(f"{PROMOTIONS}/{promotion['id']}", {"include": "skus"}).data["relationships"]["skus"]["data"]
        == []
    )


@pytest.mark.parametrize(
    ("starts_at", "expires_at", "status"),
    [
        ("2026-03-02T00:00:00Z", "2026-04-01T00:00:00Z", "pending"),
        ("2026-02-01T00:00:00Z", "2026-03-01T12:00:00Z", "expired"),
    ],
)
def test_status_follows_the_clock(api: Any, starts_at: str, expires_at: str, status: str) -> None:
    promotion = make_promotion(api, starts_at=starts_at, expires_at=expires_at)
    assert (promotion["attributes"]["status"], promotion["attributes"]["active"]) == (status, False)


def test_disable_and_enable_triggers(api: Any, now: Any) -> None:
    promotion = make_promotion(api)
    now(dt.timedelta(minutes=5))
    disabled = api.update(PROMOTIONS, promotion["id"], {"_disable": True})
    assert disabled.status == 200, disabled
    assert disabled.data["attributes"]["disabled_at"] == "2026-03-01T12:05:00.000Z"
    assert disabled.data["attributes"]["status"] == "disabled"

    enabled = api.update(PROMOTIONS, promotion["id"], {"_enable": True})
    assert enabled.data["attributes"]["disabled_at"] is None
    assert enabled.data["attributes"]["status"] == "active"


def test_a_promotion_reports_every_problem_at_once(api: Any) -> None:
    response = api.post(
        PROMOTIONS,
        {
            "data": {
                "type": PROMOTIONS,
                "attributes": promotion_attributes(
                    percentage=101,
                    starts_at="2026-04-01T00:00:00Z",
                    expires_at="2026-03-01T00:00:00Z",
                    currency_code="euro",
                    total_usage_limit=0,
                ),
            }
        },
    )
    assert pointers(response) == [
        ("/data/attributes/percentage", "less_than_or_equal_to"),
        ("/data/attributes/expires_at", "greater_than"),
        ("/data/attributes/currency_code", "invalid"),
        ("/data/attributes/total_usage_limit", "greater_than_or_equal_to"),
    ]
    assert response.json["errors"][0]["detail"] == "percentage - must be less than or equal to 100"
    with scopes.active(api.scope()):
        assert not Promotion.objects.exists()


def test_a_negative_percentage_and_an_update_that_inverts_the_dates_are_refused(api: Any) -> None:
    promotion = make_promotion(api)
    response = api.update(
        PROMOTIONS, promotion["id"], {"percentage": -1, "expires_at": "2026-01-01T00:00:00Z"}
    )
    assert pointers(response) == [
        ("/data/attributes/percentage", "greater_than_or_equal_to"),
        ("/data/attributes/expires_at", "greater_than"),
    ]
    assert api.get(f"{PROMOTIONS}/{promotion['id']}").data["attributes"]["percentage"] == 10


def test_required_fields_of_the_three_resources(api: Any) -> None:
    assert pointers(api.post(PROMOTIONS, {"data": {"type": PROMOTIONS, "attributes": {}}})) == [
        ("/data/attributes/name", "blank"),
        ("/data/attributes/starts_at", "blank"),
        ("/data/attributes/expires_at", "blank"),
        ("/data/attributes/percentage", "blank"),
    ]
    assert pointers(api.post(RULES, {"data": {"type": RULES}})) == [
        ("/data/relationships/promotion", "blank")
    ]
    assert pointers(api.post("coupons", {"data": {"type": "coupons", "attributes": {}}})) == [
        ("/data/attributes/code", "blank"),
        ("/data/relationships/promotion_rule", "blank"),
    ]


def test_a_promotion_has_one_coupon_codes_rule(api: Any) -> None:
    promotion = make_promotion(api)
    api.create(RULES, {}, {"promotion": promotion})
    response = api.post(
        RULES,
        {
            "data": {
                "type": RULES,
                "relationships": {"promotion": {"data": {"type": PROMOTIONS, "id": promotion["id"]}}},
            }
        },
    )
    assert pointers(response) == [("/data/relationships/promotion", "taken")]


def test_a_rule_refuses_promotion_types_we_do_not_serve(api: Any) -> None:
    response = api.post(
        RULES,
        {
            "data": {
                "type": RULES,
                "relationships": {"promotion": {"data": {"type": "flex_promotions", "id": "x"}}},
            }
        },
    )
    assert response.status == 400 and response.error_codes == ["INVALID_RELATIONSHIP"], response


def test_coupon_and_rule_link_the_promotion_both_ways(api: Any) -> None:
    promotion = make_promotion(api)
    coupon = make_coupon(api, promotion, recipient_email="ann@example.com", usage_limit=3)
    attributes = coupon["attributes"]
    assert {k: attributes[k] for k in ("code", "customer_single_use", "usage_limit", "usage_count")} == {
        "code": "SPRING2026",
        "customer_single_use": False,
        "usage_limit": 3,
        "usage_count": 0,
    }
    assert (attributes["recipient_email"], attributes["expires_at"]) == ("ann@example.com", None)

    response = api.get(
        f"{PROMOTIONS}/{promotion['id']}", {"include": "coupons,coupon_codes_promotion_rule.coupons"}
    )
    assert response.status == 200, response
    data = response.data
    rule_id = data["relationships"]["coupon_codes_promotion_rule"]["data"]["id"]
    assert data["relationships"]["coupons"]["data"] == [{"type": "coupons", "id": coupon["id"]}]
    assert data["attributes"]["coupons_count"] == 1
    included = {(o["type"], o["id"]): o for o in response.json["included"]}
    assert set(included) == {("coupons", coupon["id"]), (RULES, rule_id)}
    assert included[(RULES, rule_id)]["attributes"]["type"] == RULES
    assert included[(RULES, rule_id)]["relationships"]["coupons"]["data"] == [
        {"type": "coupons", "id": coupon["id"]}
    ]

    back = api.get(f"coupons/{coupon['id']}", {"include": "promotion_rule.promotion"})
    assert {(o["type"], o["id"]) for o in back.json["included"]} == {
        (RULES, rule_id),
        (PROMOTIONS, promotion["id"]),
    }

    related = api.get(f"{PROMOTIONS}/{promotion['id']}/coupons")
    assert [c["id"] for c in related.data] == [coupon["id"]]
    assert related.json["meta"]["record_count"] == 1
    linkage = api.get(f"{PROMOTIONS}/{promotion['id']}/relationships/coupon_codes_promotion_rule")
    assert linkage.json["data"] == {"type": RULES, "id": rule_id}


def test_coupon_code_length_and_uniqueness(api: Any, live_api: Any) -> None:
    promotion = make_promotion(api)
    rule = api.create(RULES, {}, {"promotion": promotion})

    def post(code: str) -> Any:
        return api.post(
            "coupons",
            {
                "data": {
                    "type": "coupons",
                    "attributes": {"code": code},
                    "relationships": {"promotion_rule": {"data": {"type": RULES, "id": rule["id"]}}},
                }
            },
        )

    assert pointers(post("SHORT")) == [("/data/attributes/code", "too_short")]
    assert post("SHORT").json["errors"][0]["title"] == "is too short (minimum is 8 characters)"
    assert pointers(post("X" * 41)) == [("/data/attributes/code", "too_long")]
    assert post("X" * 40).status == 201
    assert post("SPRING26").status == 201
    assert pointers(post("SPRING26")) == [("/data/attributes/code", "taken")]
    assert post("spring26").status == 201  # codes are case-sensitive

    live_promotion = make_promotion(live_api)
    make_coupon(live_api, live_promotion, code="SPRING26")  # another environment
    with scopes.active(api.scope()):
        assert Coupon.objects.filter(code="SPRING26").count() == 1


def test_coupon_code_length_follows_the_organization_settings(api: Any) -> None:
    api.organization.config = {"coupons_min_code_length": 4, "coupons_max_code_length": 6}
    api.organization.save()
    promotion = make_promotion(api)
    rule = api.create(RULES, {}, {"promotion": promotion})
    assert api.create("coupons", {"code": "ABCD"}, {"promotion_rule": rule})["attributes"]["code"] == "ABCD"
    assert api.create("coupons", {"code": "ABCDEFG"}, {"promotion_rule": rule}, expect=422)["errors"][0][
        "meta"
    ] == {
        "error": "too_long",
        "value": "ABCDEFG",
        "count": 6,
    }


def test_filters_through_the_rule(api: Any, now: Any) -> None:
    spring = make_promotion(api, name="Spring sale")
    now(dt.timedelta(seconds=1))  # lists are in creation order
    summer = make_promotion(api, name="Summer sale", total_usage_limit=1)
    spring_coupon = make_coupon(api, spring, code="SPRING2026")
    summer_coupon = make_coupon(api, summer, code="SUMMER2026")

    def ids(type_name: str, key: str, value: str) -> list[str]:
        response = api.get(type_name, {f"filter[q][{key}]": value})
        assert response.status == 200, response
        return [o["id"] for o in response.data]

    assert ids("coupons", "code_eq", "SUMMER2026") == [summer_coupon["id"]]
    assert ids("coupons", "code_eq", "summer2026") == []
    assert ids("coupons", "promotion_rule_promotion_name_eq", "Spring sale") == [spring_coupon["id"]]
    assert ids(PROMOTIONS, "coupons_code_eq", "SUMMER2026") == [summer["id"]]
    assert ids(PROMOTIONS, "type_eq", PROMOTIONS) == [spring["id"], summer["id"]]
    assert ids(PROMOTIONS, "total_usage_limit_null", "true") == [spring["id"]]

    with scopes.active(api.scope()):
        Promotion.objects.filter(pk=summer["id"]).update(total_usage_count=1)
    assert ids(PROMOTIONS, "total_usage_reached_true", "true") == [summer["id"]]
    sorted_ids = [o["id"] for o in api.get(PROMOTIONS, {"sort": "-total_usage_reached"}).data]
    assert sorted_ids == [summer["id"], spring["id"]]
    assert api.get(f"{PROMOTIONS}/{summer['id']}").data["attributes"]["status"] == "inactive"


def test_deleting_a_promotion_deletes_its_rule_and_coupons(api: Any) -> None:
    promotion = make_promotion(api)
    coupon = make_coupon(api, promotion)
    assert api.delete(f"{PROMOTIONS}/{promotion['id']}").status == 204
    assert api.get(f"coupons/{coupon['id']}").status == 404
    assert api.get(RULES).json["meta"]["record_count"] == 0


def test_other_organizations_see_nothing(api: Any, other_org: Any) -> None:
    promotion = make_promotion(api)
    coupon = make_coupon(api, promotion)
    assert other_org.get(f"{PROMOTIONS}/{promotion['id']}").status == 404
    assert other_org.get("coupons", {"filter[q][code_eq]": "SPRING2026"}).json["meta"]["record_count"] == 0
    response = other_org.post(
        "coupons",
        {
            "data": {
                "type": "coupons",
                "attributes": {"code": "GLOBEX2026"},
                "relationships": {
                    "promotion_rule": {
                        "data": {
                            "type": RULES,
                            "id": api.get(f"coupons/{coupon['id']}/promotion_rule").data["id"],
                        }
                    }
                },
            }
        },
    )
    assert response.status == 404, response


def test_listing_with_coupons_costs_the_same_for_one_promotion_or_many(api: Any) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = api.get(PROMOTIONS, {"include": "coupons,coupon_codes_promotion_rule"})
        assert response.status == 200, response
        return len(captured.captured_queries)

    make_coupon(api, make_promotion(api), code="FIRST2026")
    one = queries()
    for code in ("SECOND2026", "THIRD2026"):
        make_coupon(api, make_promotion(api), code=code)
    assert queries() == one
