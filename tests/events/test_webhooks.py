"""The webhooks resource: topic, callback URL, includes, the secret and the circuit/disable triggers."""

from __future__ import annotations

import re

from tests.events.conftest import subscribe

URL = "https://example.com/hooks"


def test_create_generates_a_readable_secret(api):
    webhook = subscribe(api, "skus.create", URL, name="ERP", include_resources=["shipping_category"])
    a = webhook["attributes"]
    assert re.fullmatch(r"[0-9a-f]{32}", a["shared_secret"])
    assert a["topic"] == "skus.create" and a["callback_url"] == URL and a["name"] == "ERP"
    assert a["include_resources"] == ["shipping_category"]
    assert a["circuit_state"] == "closed" and a["circuit_failure_count"] == 0 and a["disabled_at"] is None
    assert api.get(f"webhooks/{webhook['id']}").data["attributes"]["shared_secret"] == a["shared_secret"]
    other = subscribe(api, "skus.create", URL)
    assert other["attributes"]["shared_secret"] != a["shared_secret"]


def test_regenerate_the_secret(api):
    webhook = subscribe(api, "skus.create", URL)
    r = api.update("webhooks", webhook["id"], {"_regenerate_shared_secret": True})
    assert r.status == 200, r
    assert r.data["attributes"]["shared_secret"] != webhook["attributes"]["shared_secret"]


def test_disable_enable_and_reset_the_circuit(api):
    webhook = subscribe(api, "skus.create", URL, _disable=True)
    assert webhook["attributes"]["disabled_at"] is not None
    r = api.update("webhooks", webhook["id"], {"_enable": True})
    assert r.data["attributes"]["disabled_at"] is None
    r = api.update("webhooks", webhook["id"], {"_disable": True})
    assert r.data["attributes"]["disabled_at"] is not None
    r = api.update("webhooks", webhook["id"], {"_reset_circuit": True})
    assert r.status == 200 and r.data["attributes"]["circuit_state"] == "closed"
    listed = api.get("webhooks", {"filter[q][disabled_at_null]": "false"}).data
    assert [w["id"] for w in listed] == [webhook["id"]]


def test_required_and_invalid_values_are_reported_together(api):
    r = api.post("webhooks", {"data": {"type": "webhooks", "attributes": {}}})
    assert r.status == 422, r
    pointers = {e["source"]["pointer"] for e in r.json["errors"]}
    assert pointers == {"/data/attributes/topic", "/data/attributes/callback_url"}
    r = api.post(
        "webhooks",
        {
            "data": {
                "type": "webhooks",
                "attributes": {
                    "topic": "skus.create",
                    "callback_url": "ftp://example.com/x",
                    "include_resources": ["nope"],
                },
            }
        },
    )
    assert r.status == 422, r
    pointers = {e["source"]["pointer"] for e in r.json["errors"]}
    assert pointers == {"/data/attributes/callback_url", "/data/attributes/include_resources"}
    webhook = subscribe(api, "skus.create", URL)
    r = api.update("webhooks", webhook["id"], {"topic": "skus.explode"})
    assert r.status == 422 and r.json["errors"][0]["source"]["pointer"] == "/data/attributes/topic"


def test_secret_and_circuit_are_not_writable(api):
    webhook = subscribe(api, "skus.create", URL)
    for attribute in ("shared_secret", "circuit_state", "circuit_failure_count"):
        r = api.update("webhooks", webhook["id"], {attribute: "x"})
        assert r.status == 400, (attribute, r)


def test_other_tenants_cannot_see_or_change_a_webhook(api, other_org, live_api):
    webhook = subscribe(api, "skus.create", URL)
    for them in (other_org, live_api):
        assert them.get(f"webhooks/{webhook['id']}").status == 404
        assert them.get("webhooks").data == []
        assert them.update("webhooks", webhook["id"], {"_disable": True}).status == 404
        assert them.delete(f"webhooks/{webhook['id']}").status == 404
        assert them.get(f"webhooks/{webhook['id']}/last_event_callbacks").status == 404
    assert api.delete(f"webhooks/{webhook['id']}").status == 204
