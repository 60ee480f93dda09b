from tests.orders.conftest import new_order, place


def test_order_lifecycle(api, shop):
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})
    a = order["attributes"]
    assert a["status"] == "pending"
    assert a["subtotal_amount_cents"] == 3800
    assert a["shipping_amount_cents"] == 700
    assert a["total_amount_cents"] == 4500
    assert a["formatted_total_amount"] == "€45,00"
    r = place(api, order["id"])
    assert r.status == 200, r
    a = r.data["attributes"]
    assert a["status"] == "placed" and a["payment_status"] == "authorized" and a["number"] == "1"
