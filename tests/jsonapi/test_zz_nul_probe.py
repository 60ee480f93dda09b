from tests.conftest import document

def test_probe(api):
    r = api.post("shipping_categories", document("shipping_categories", {"name": "x", "metadata": {"a": "b\u0000c"}}))
    print("\nNUL in metadata value:", r.status, r.body[:200])
    r = api.post("shipping_categories", document("shipping_categories", {"name": "x", "metadata": {"k\u0000": 1}}))
    print("NUL in metadata key:", r.status, r.body[:200])
    r = api.post("shipping_categories", document("shipping_categories", {"name": "x", "metadata": {"n": 10**30}}))
    print("huge int:", r.status, r.body[:200])
