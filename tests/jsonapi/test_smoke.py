def test_create_list_retrieve(api):
    created = api.create("price_lists", {"name": "EUR", "code": "eur", "currency_code": "EUR"})
    assert created["type"] == "price_lists"
    r = api.get("price_lists", {"filter[q][name_eq]": "EUR", "sort": "-created_at", "page[size]": "5"})
    assert r.status == 200, r
    assert r.json["meta"] == {"record_count": 1, "page_count": 1}
    r = api.get(f"price_lists/{created['id']}")
    assert r.status == 200, r
    print(r.json)
