"""One full storefront flow over HTTP (issue 13): a volume-tiered SKU, a taxable adjustment, a taxed Italian
shipping address (manual calculator, prices without tax), a zone-restricted weight-tiered shipping method;
placed, captured, partly refunded; then copied and the copy placed. Every figure is the hand computation
written next to it, to the cent."""

from __future__ import annotations

from typing import Any

from orderfactory.core import scope
from orderfactory.payments.models import Transaction
from tests.conftest import Api, document
from tests.factories.conftest import copied, copy, run_job
from tests.orders.conftest import build_shop, line_items, new_order, place
from tests.orders.test_shipping_rules import choose, method, method_of, weigh, zone
from tests.orders.test_taxes import with_lines
from tests.orders.test_tiers_and_adjustments import add, adjustment, price_of

# The hand computation (cents; taxes at 22% added to prices without tax, each line rounded half up):
#   TSHIRT  10 x 1200 (volume tier: 1500 up to 9, 1200 from 10)   = 12000, tax 12000 * 0.22 = 2640
#   shipping: 10 x 200 g = 2000 g > 1000 g: the heavy weight tier    =   925, tax   925 * 0.22 = 203.5 -> 204
#   adjustment "Gift wrap" (positive, adjustment_taxable)           =   350, tax   350 * 0.22 =  77
#   payment method (wire transfer, free)                            =     0, tax 0
#   total_amount = 12000 + 925 + 350                                = 13275
#   total tax    = 2640 + 204 + 77                                  =  2921
#   total_amount_with_taxes = 13275 + 2921                          = 16196: what the customer pays
SUBTOTAL, SHIPPING, ADJUSTMENT = 12000, 925, 350
TAXES = {"TSHIRT": 2640, "shipments": 204, "adjustments": 77, "payment_methods": 0}
TOTAL = SUBTOTAL + SHIPPING + ADJUSTMENT  # 13275
TOTAL_TAX = sum(TAXES.values())  # 2921
TO_PAY = TOTAL + TOTAL_TAX  # 16196
REFUNDED = 5000  # the partial refund: 16196 - 5000 = 11196 left refundable

# The copy, after the tier's price becomes 1000 and the rule's rate 10%: the unit price stays 1200 (frozen),
# the taxes are the target's own at the current rate:
#   12000 * 0.10 = 1200;  925 * 0.10 = 92.5 -> 93;  350 * 0.10 = 35;  total tax 1328
#   total_amount 13275 (unchanged), with taxes 13275 + 1328 = 14603: the target's authorization
COPY_TAXES = {"TSHIRT": 1200, "shipments": 93, "adjustments": 35, "payment_methods": 0}
COPY_TO_PAY = TOTAL + sum(COPY_TAXES.values())  # 14603


def patch(api: Api, type_name: str, rid: str, attributes: dict[str, Any]) -> Any:
    return api.patch(f"{type_name}/{rid}", document(type_name, attributes, rid=rid))


def of(api: Api, order_id: str, name: str) -> list[dict[str, Any]]:
    r = api.get(f"orders/{order_id}/{name}")
    assert r.status == 200, r
    return r.data


def storefront(api: Api) -> tuple[Any, dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """The shop, its tax rule, its Italian weight-tiered method and its volume tiers."""
    shop = build_shop(api, skus={"TSHIRT": (1500, {"milan": 30})}, code="SF")
    with scope.active(api.scope()):
        shop.price_list.tax_included = False
        shop.price_list.save()
    calculator = api.create("manual_tax_calculators", {"name": "VAT"})
    rule = api.create(
        "tax_rules",
        {
            "name": "Italy",
            "tax_rate": 0.22,
            "country_code_regex": "^IT$",
            "freight_taxable": True,
            "payment_method_taxable": True,
            "adjustment_taxable": True,
        },
        {"manual_tax_calculator": calculator},
    )
    assert api.update("markets", shop.market.pk, relationships={"tax_calculator": calculator}).status == 200
    tiers = [
        api.create(
            "price_volume_tiers",
            {"name": name, "up_to": up_to, "price_amount_cents": cents},
            {"price": price_of(api, shop, "TSHIRT")},
        )
        for name, up_to, cents in (("single", 9, 1500), ("ten or more", None, 1200))
    ]
    weigh(api, shop, TSHIRT=200)
    italy = zone(api, country_code_regex="^IT$")
    courier = method(
        api,
        shop,
        "Italian courier",
        0,
        {"shipping_zone": italy},
        scheme="weight_tiered",
        unit_of_weight="gr",
    )
    for name, up_to, cents in (("Light", 1000, 500), ("Heavy", None, SHIPPING)):
        api.create(
            "shipping_weight_tiers",
            {"name": name, "up_to": up_to, "price_amount_cents": cents},
            {"shipping_method": courier},
        )
    return shop, rule, courier, tiers


def assert_totals(attrs: dict[str, Any], lines: dict[str, dict[str, Any]], taxes: dict[str, int]) -> None:
    total_tax = sum(taxes.values())
    assert {key: line["tax_amount_cents"] for key, line in lines.items()} == taxes
    assert lines["TSHIRT"]["quantity"] == 10
    assert (lines["TSHIRT"]["unit_amount_cents"], lines["TSHIRT"]["total_amount_cents"]) == (1200, SUBTOTAL)
    assert lines["adjustments"]["total_amount_cents"] == ADJUSTMENT
    assert (
        attrs["subtotal_amount_cents"],
        attrs["shipping_amount_cents"],
        attrs["adjustment_amount_cents"],
        attrs["payment_method_amount_cents"],
        attrs["total_amount_cents"],
    ) == (SUBTOTAL, SHIPPING, ADJUSTMENT, 0, TOTAL)
    assert (
        attrs["subtotal_tax_amount_cents"],
        attrs["shipping_tax_amount_cents"],
        attrs["adjustment_tax_amount_cents"],
        attrs["payment_method_tax_amount_cents"],
        attrs["total_tax_amount_cents"],
    ) == (taxes["TSHIRT"], taxes["shipments"], taxes["adjustments"], 0, total_tax)
    assert (attrs["subtotal_taxable_amount_cents"], attrs["total_taxable_amount_cents"]) == (SUBTOTAL, TOTAL)
    assert attrs["total_amount_with_taxes_cents"] == TOTAL + total_tax


def test_a_full_storefront_flow_and_its_copy(api: Api) -> None:
    shop, rule, courier, tiers = storefront(api)
    order = new_order(api, shop, {"TSHIRT": 1})  # shipped to Milano, IT 20100
    [tshirt] = line_items(api, order["id"])
    assert tshirt["attributes"]["unit_amount_cents"] == 1500  # the tier up to 9
    r = api.update("line_items", tshirt["id"], {"quantity": 10})
    assert r.status == 200 and r.data["attributes"]["unit_amount_cents"] == 1200, r  # the tier from 10
    add(api, order, {"quantity": 1}, item=adjustment(api, ADJUSTMENT, "Gift wrap"))
    # 2 kg: the default method (7.00, free over 100.00) and the courier, for Italy, are available.
    r = choose(api, order["id"], courier)
    assert r.status == 200 and r.data["attributes"]["cost_amount_cents"] == SHIPPING, r

    attrs, lines = with_lines(api, order["id"])
    assert attrs["payment_status"] == "unpaid"
    assert attrs["formatted_total_amount_with_taxes"] == "€161,96"
    assert_totals(attrs, lines, TAXES)
    assert lines["shipments"]["tax_breakdown"]["taxable_amount"] == 9.25
    assert lines["shipments"]["tax_breakdown"]["tax_collectable"] == 2.04

    # The wire transfer goes to the customer's wallet, so the copy can pay with it.
    assert patch(api, "orders", order["id"], {"_save_payment_source_to_customer_wallet": True}).status == 200
    # Placed: the customer's payment is authorized for what they pay, taxes included.
    r = place(api, order["id"])
    assert r.status == 200, r
    assert (r.data["attributes"]["status"], r.data["attributes"]["payment_status"]) == (
        "placed",
        "authorized",
    )
    [authorization] = of(api, order["id"], "authorizations")
    assert authorization["attributes"]["amount_cents"] == TO_PAY
    assert authorization["attributes"]["capture_balance_cents"] == TO_PAY
    attrs, lines = with_lines(api, order["id"])
    assert_totals(attrs, lines, TAXES)

    # Captured in full (a manual gateway captures the whole authorized amount).
    r = patch(api, "orders", order["id"], {"_capture": True})
    assert r.status == 200 and r.data["attributes"]["payment_status"] == "paid", r
    [capture] = of(api, order["id"], "captures")
    assert (capture["attributes"]["amount_cents"], capture["attributes"]["refund_balance_cents"]) == (
        TO_PAY,
        TO_PAY,
    )
    [authorization] = of(api, order["id"], "authorizations")
    assert authorization["attributes"]["capture_balance_cents"] == 0

    # Part refunded: 50.00 of 161.96.
    r = patch(api, "orders", order["id"], {"_refund": True, "_refund_amount_cents": REFUNDED})
    assert r.status == 200 and r.data["attributes"]["payment_status"] == "partially_refunded", r
    [refund] = of(api, order["id"], "refunds")
    assert (refund["attributes"]["amount_cents"], refund["attributes"]["succeeded"]) == (REFUNDED, True)
    [capture] = of(api, order["id"], "captures")
    assert capture["attributes"]["refund_balance_cents"] == TO_PAY - REFUNDED  # 11196
    kinds = [t["attributes"]["type"] for t in of(api, order["id"], "transactions")]
    assert kinds == ["authorizations", "captures", "refunds"]
    attrs, lines = with_lines(api, order["id"])
    assert_totals(attrs, lines, TAXES)  # money moving changes no total

    # The copy, after the tiers' prices and the rule's rate changed.
    for tier in tiers:
        assert api.update("price_volume_tiers", tier["id"], {"price_amount_cents": 1000}).status == 200
    assert api.update("tax_rules", rule["id"], {"tax_rate": 0.10}).status == 200
    r = copy(api, order["id"], attributes={"place_target_order": True, "reuse_wallet": True})
    assert r.status == 201, r
    run_job(r.data["id"])
    factory, target = copied(api, r.data["id"])
    assert target is not None and factory["attributes"]["status"] == "completed", factory["attributes"][
        "errors_log"
    ]
    assert target["id"] != order["id"]
    attrs, lines = with_lines(api, target["id"])
    assert (attrs["status"], attrs["payment_status"]) == ("placed", "authorized")
    assert_totals(attrs, lines, COPY_TAXES)  # unit price 1200 frozen, adjustment copied, taxes at 10%
    assert lines["TSHIRT"]["tax_rate"] == 0.1
    [adjustment_line] = line_items(api, target["id"], "adjustments")
    assert (adjustment_line["attributes"]["name"], adjustment_line["attributes"]["unit_amount_cents"]) == (
        "Gift wrap",
        ADJUSTMENT,
    )
    assert method_of(api, target["id"]) == courier["id"]
    [target_authorization] = of(api, target["id"], "authorizations")
    assert target_authorization["attributes"]["amount_cents"] == COPY_TO_PAY
    assert target_authorization["attributes"]["number"] == f"{attrs['number']}/T/001"
    assert of(api, target["id"], "captures") == [] and of(api, target["id"], "refunds") == []
    source_ids = {t["id"] for t in of(api, order["id"], "transactions")}
    assert {t["id"] for t in of(api, target["id"], "transactions")}.isdisjoint(source_ids)
    with scope.active(api.scope()):
        assert Transaction.objects.filter(order_id=target["id"]).count() == 1
    # The source keeps what it was placed with.
    attrs, lines = with_lines(api, order["id"])
    assert_totals(attrs, lines, TAXES)
    assert attrs["payment_status"] == "partially_refunded"
