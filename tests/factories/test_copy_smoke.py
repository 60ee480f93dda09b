from tests.factories.conftest import copy, run_job


def test_copy_then_run(api, placed_order):
    r = copy(api, placed_order["id"], attributes={"place_target_order": False, "reference": "ERP-1"})
    assert r.status == 201, r
    factory = r.data
    assert factory["attributes"]["status"] == "pending"
    assert factory["attributes"]["type"] == "order_copies"
    assert run_job(factory["id"]) == "completed"
    r = api.get(f"order_copies/{factory['id']}", {"include": "target_order.line_items"})
    assert r.data["attributes"]["status"] == "completed", r
    target = r.data["relationships"]["target_order"]["data"]
    assert target is not None
    t = api.get(f"orders/{target['id']}").data["attributes"]
    assert t["status"] == "pending" and t["subtotal_amount_cents"] == 3800
    assert run_job(factory["id"]) is None
