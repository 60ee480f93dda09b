"""A copy's taxes are the target's own, computed when it is priced, at the rules' current rates: Commerce
Layer computes an order's taxes again whenever it is priced, and a copy is a new order
(docs/decisions.md, "Taxes on orders")."""

from __future__ import annotations

from typing import Any

import pytest

from orderfactory.core import scope
from tests.conftest import document
from tests.factories.conftest import copied, copy, run_job
from tests.orders.conftest import build_shop, new_order, place
from tests.taxes.test_external import Receiver, receiver  # noqa: F401 (the fixture)


def test_the_copy_is_taxed_at_the_rules_current_rate(api: Any) -> None:
    shop = build_shop(api, code="CT")
    with scope.active(api.scope()):
        shop.price_list.tax_included = False  # taxes added: 22% of 30.00 and 8.00
        shop.price_list.save()
    calculator = api.create("manual_tax_calculators", {"name": "VAT"})
    rule = api.create(
        "tax_rules",
        {"name": "Italy", "tax_rate": 0.22, "country_code_regex": "IT"},
        {"manual_tax_calculator": calculator},
    )
    assert api.update("markets", shop.market.pk, relationships={"tax_calculator": calculator}).status == 200
    source = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})  # 3000 + 800
    assert place(api, source["id"]).status == 200
    assert api.get(f"orders/{source['id']}").data["attributes"]["subtotal_tax_amount_cents"] == 660 + 176
    assert api.update("tax_rules", rule["id"], {"tax_rate": 0.1}).status == 200
    factory_id = copy(api, source["id"]).data["id"]
    assert run_job(factory_id) == "completed"
    _, target = copied(api, factory_id)
    assert target is not None
    attrs = target["attributes"]
    assert (attrs["subtotal_tax_amount_cents"], attrs["tax_rate"]) == (300 + 80, 0.1)
    lines = api.get(f"orders/{target['id']}/line_items", {"filter[q][item_type_eq]": "skus"}).data
    assert sorted(line["attributes"]["tax_amount_cents"] for line in lines) == [80, 300]
    # the source keeps what it was placed with
    assert api.get(f"orders/{source['id']}").data["attributes"]["subtotal_tax_amount_cents"] == 660 + 176


# --- a market with an external calculator -----------------------------------------------------------------


def external_shop(api: Any, calc: Receiver, code: str) -> Any:
    """A shop (prices without tax) whose market's calculator is the local calc."""
    shop = build_shop(api, code=code)
    with scope.active(api.scope()):
        shop.price_list.tax_included = False
        shop.price_list.save()
    calculator = api.create("external_tax_calculators", {"name": "Ours", "tax_calculator_url": calc.url})
    calc.secret = calculator["attributes"]["shared_secret"]
    assert api.update("markets", shop.market.pk, relationships={"tax_calculator": calculator}).status == 200
    return shop


def taxed_source(api: Any, calc: Receiver, shop: Any) -> dict[str, Any]:
    """A placed source of 2 TSHIRT and 1 MUG (3000 + 800), taxed by the receiver at 22%, its wire transfer
    saved to the customer's wallet (so a target can be placed)."""
    source = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})
    transfer = api.get(f"orders/{source['id']}/payment_source").data
    iban = {"metadata": {"iban": "IT60X0542811101000000123456"}}
    assert api.update("wire_transfers", transfer["id"], iban).status == 200
    wallet = document("orders", {"_save_payment_source_to_customer_wallet": True}, rid=source["id"])
    assert api.patch(f"orders/{source['id']}", wallet).status == 200
    calc.answers.append((200, {"success": True, "data": {"tax_rate": 0.22}}))
    r = api.patch(f"orders/{source['id']}", document("orders", {"_update_taxes": True}, rid=source["id"]))
    assert r.status == 200, r
    assert place(api, source["id"]).status == 200
    calc.requests.clear()
    return source


@pytest.mark.parametrize("place_target", [False, True], ids=["copied", "placed"])
def test_the_copy_calls_the_markets_external_calculator(
    api: Any,
    receiver: Receiver,  # noqa: F811 (the fixture of tests/taxes/test_external.py)
    place_target: bool,
) -> None:
    """The target is taxed by the market's external calculator, called signed with the target's document
    after the copy's transaction, at the calculator's current answer (10% now): the target places."""
    shop = external_shop(api, receiver, "CX" if place_target else "CY")
    source = taxed_source(api, receiver, shop)
    receiver.answers.append((200, {"success": True, "data": {"tax_rate": 0.1}}))
    factory_id = copy(api, source["id"], attributes={"place_target_order": place_target}).data["id"]
    status = run_job(factory_id)
    factory, target = copied(api, factory_id)
    assert status == "completed", factory["attributes"]["errors_log"]
    assert target is not None and factory["attributes"]["errors_count"] == 0
    [sent] = receiver.requests
    assert sent["signed"] and sent["body"]["data"]["id"] == target["id"]
    assert {o["type"] for o in sent["body"]["included"]} >= {"line_items"}
    attrs = target["attributes"]
    assert (attrs["subtotal_tax_amount_cents"], attrs["tax_rate"], attrs["tax_calculations_count"]) == (
        300 + 80,
        0.1,
        1,
    )
    assert attrs["status"] == ("placed" if place_target else "pending")
    # the source keeps what it was placed with
    assert api.get(f"orders/{source['id']}").data["attributes"]["subtotal_tax_amount_cents"] == 660 + 176


@pytest.mark.parametrize("skip_errors", [False, True], ids=["fails", "skip-errors"])
def test_a_failing_external_calculator_fails_the_copy_unless_skip_errors(
    api: Any,
    receiver: Receiver,  # noqa: F811
    skip_errors: bool,
) -> None:
    shop = external_shop(api, receiver, "CF" if skip_errors else "CG")
    source = taxed_source(api, receiver, shop)
    receiver.answers.append((200, {"success": False, "error": {"code": "NOPE", "message": "no taxes today"}}))
    factory_id = copy(
        api, source["id"], attributes={"place_target_order": True, "skip_errors": skip_errors}
    ).data["id"]
    assert run_job(factory_id) == ("completed" if skip_errors else "failed")
    factory, target = copied(api, factory_id)
    attrs = factory["attributes"]
    assert attrs["errors_log"] == {"tax_calculator": ["no taxes today"]}
    assert [(d["attribute"], d["code"]) for d in attrs["errors_details"]] == [
        ("tax_calculator", "calculator_declined")
    ]
    # the target is left unplaced and untaxed (placing would refuse it: its taxes are not calculated)
    assert target is not None and target["attributes"]["status"] == "pending"
    assert target["attributes"]["tax_calculations_count"] == 0
    assert len(receiver.requests) == 1


def test_the_copy_does_not_call_the_calculator_when_there_is_nothing_to_tax(
    api: Any,
    receiver: Receiver,  # noqa: F811
) -> None:
    """Commerce Layer calls an external calculator only for an order with an address, a positive total and
    a SKU line: a source without addresses gives a target without them, not sent, its taxes zero."""
    shop = external_shop(api, receiver, "CN")
    source = new_order(api, shop, {"TSHIRT": 1}, ready=False)
    factory_id = copy(api, source["id"]).data["id"]
    assert run_job(factory_id) == "completed"
    _, target = copied(api, factory_id)
    assert target is not None and receiver.requests == []
    attrs = target["attributes"]
    assert (attrs["total_tax_amount_cents"], attrs["tax_calculations_count"]) == (0, 0)
    # _update_taxes does the same on the target: no call
    r = api.patch(f"orders/{target['id']}", document("orders", {"_update_taxes": True}, rid=target["id"]))
    assert r.status == 200 and receiver.requests == [], r
