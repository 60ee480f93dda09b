"""Outbound calls cannot be turned against the server's own network (core.outbound): webhook callbacks and
external gateways refuse loopback, private and link-local targets, when the URL is stored and again at each
call after resolving the name, connect to the address they checked, follow no redirect, and store no answer
of a call they did not make or did not follow."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from orderfactory.core import outbound
from orderfactory.core import scope as scopes
from orderfactory.events import services as events
from orderfactory.payments import services as payments
from orderfactory.payments.models import ExternalGateway, ExternalPayment, PaymentMethod
from tests.events.conftest import pending, subscribe

PUBLIC = "93.184.215.14"  # an address on the internet: accepted, never connected to here

REFUSED = [
    "http://127.0.0.1:8080/hooks",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://0.0.0.0:9000/",
    "http://2130706433/",  # 127.0.0.1, decimal
    "http://0x7f000001/",  # hex
    "http://017700000001/",  # octal
    "http://0x7f.1/",
    "http://127.1/",
    "http://[::1]:8080/",
    "http://[::]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:a9fe:a9fe]/",  # 169.254.169.254, mapped
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "http://localhost:8000/",
    "http://api.localhost/",
    "https://LOCALHOST./",
    "http://224.0.0.1/",  # multicast
]
ALLOWED = [
    f"http://{PUBLIC}/hooks",
    "https://example.com/hooks",
    "https://hooks.example.com:8443/in?x=1",
    "http://[2606:4700:4700::1111]/",
    "http://10.0.0.5.example.com/",  # a name, resolved at each call
]


@pytest.mark.parametrize("url", REFUSED)
def test_loopback_private_and_link_local_urls_are_refused(url: str) -> None:
    assert outbound.problem(url) == outbound.REFUSED


@pytest.mark.parametrize("url", ALLOWED)
def test_public_urls_and_names_are_accepted(url: str) -> None:
    assert outbound.problem(url) is None


def test_the_operator_allows_private_networks_or_some_of_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERFACTORY_OUTBOUND_ALLOW_PRIVATE", "on")
    assert [u for u in REFUSED if outbound.problem(u)] == []
    monkeypatch.setenv("ORDERFACTORY_OUTBOUND_ALLOW_PRIVATE", "off")
    monkeypatch.setenv("ORDERFACTORY_OUTBOUND_ALLOWED_NETWORKS", "10.0.0.0/8, 127.0.0.1/32")
    assert outbound.problem("http://10.0.0.5/") is None
    assert outbound.problem("http://[64:ff9b::a00:1]/") is None  # 10.0.0.1 inside NAT64
    assert outbound.problem("http://127.0.0.1:8080/") is None
    assert outbound.problem("http://localhost/") is None
    assert outbound.problem("http://127.0.0.2/") == outbound.REFUSED
    assert outbound.problem("http://169.254.169.254/") == outbound.REFUSED


@dataclass
class Listener:
    """A local HTTP server: ``/hooks`` answers ``status``; ``/internal`` is what an attacker wants to read."""

    port: int = 0
    status: int = 200
    hits: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, host: str = "127.0.0.1", path: str = "/hooks") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def listener() -> Iterator[Listener]:
    state = Listener()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer()

        def do_GET(self) -> None:  # noqa: N802
            self._answer()

        def _answer(self) -> None:
            state.hits.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            secret = b"internal secret: db password hunter2"
            if self.path == "/internal":
                self.send_response(200)
            else:
                self.send_response(state.status)
                if 300 <= state.status < 400:
                    self.send_header("Location", state.url(path="/internal"))
            self.send_header("Content-Length", str(len(secret)))
            self.end_headers()
            self.wfile.write(secret)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


class Dns:
    """Plays the DNS server of one name: its answers are the addresses listed, in turn (the last one stays)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.name, self.answers, self.asked = name, [[PUBLIC]], 0
        real = outbound.resolve

        def resolve(host: str, port: int) -> list[str]:
            if host != name:
                return real(host, port)
            self.asked += 1
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

        monkeypatch.setattr(outbound, "resolve", resolve)


def callbacks(api: Any, webhook_id: str) -> list[dict[str, Any]]:
    r = api.get(f"webhooks/{webhook_id}/last_event_callbacks")
    assert r.status == 200, r
    return [row["attributes"] for row in r.data]


def deliver_all(api: Any) -> None:
    for delivery_id in pending(api):
        events.deliver(delivery_id, timeout_seconds=2)


def refusal(r: Any, attribute: str) -> None:
    assert r.status == 422, r
    assert [(e["source"]["pointer"], e["detail"]) for e in r.json["errors"]] == [
        (f"/data/attributes/{attribute}", f"{attribute} - {outbound.REFUSED}")
    ], r


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/", "http://2130706433/", "http://[::1]:9/"])
def test_a_webhook_to_a_private_address_is_refused_at_create_and_update(api: Any, url: str) -> None:
    refusal(api.post("webhooks", _webhook(url)), "callback_url")
    webhook = subscribe(api, "customers.create", f"http://{PUBLIC}/hooks")
    refusal(api.update("webhooks", webhook["id"], {"callback_url": url}), "callback_url")
    assert api.get(f"webhooks/{webhook['id']}").data["attributes"]["callback_url"] == f"http://{PUBLIC}/hooks"
    assert len(api.get("webhooks").data) == 1


@pytest.mark.parametrize("attribute", payments.URL_COLUMNS)
def test_a_gateway_url_to_a_private_address_is_refused_at_create_and_update(api: Any, attribute: str) -> None:
    url = "http://10.1.2.3/pay"
    refusal(api.post("external_gateways", _gateway({"name": "PSP", attribute: url})), attribute)
    gateway = api.create("external_gateways", {"name": "PSP", attribute: f"https://{PUBLIC}/pay"})
    refusal(api.update("external_gateways", gateway["id"], {attribute: url}), attribute)


def test_the_operator_setting_lets_a_webhook_reach_the_local_network(
    api: Any, listener: Listener, monkeypatch
):
    monkeypatch.setenv("ORDERFACTORY_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8")
    webhook = subscribe(api, "customers.create", listener.url())
    api.create("customers", {"email": "ada@example.com"})
    deliver_all(api)
    assert [path for path, _ in listener.hits] == ["/hooks"]
    assert callbacks(api, webhook["id"])[0]["response_code"] == "200"


def test_a_name_that_resolves_to_a_private_address_at_delivery_is_not_called(
    api: Any, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS answered a public address when the webhook was made, and the local one when the event fires."""
    dns = Dns(monkeypatch, "hooks.example.test")
    webhook = subscribe(api, "customers.create", listener.url("hooks.example.test"))
    dns.answers = [["127.0.0.1"]]
    api.create("customers", {"email": "ada@example.com"})
    deliver_all(api)
    assert listener.hits == [] and dns.asked == 1
    [callback] = callbacks(api, webhook["id"])
    assert callback["response_code"] is None
    assert callback["response_message"].startswith(
        "not sent: the callback URL resolves to an address that is not"
    )
    assert "secret" not in callback["response_message"]
    # one of several addresses is enough to refuse
    dns.answers = [[PUBLIC, "10.0.0.7"]]
    api.create("customers", {"email": "bob@example.com"})
    deliver_all(api)
    assert listener.hits == [] and callbacks(api, webhook["id"])[0]["response_message"].startswith("not sent")


def test_the_connection_goes_to_the_checked_address_not_to_a_second_answer(
    api: Any, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name is resolved once per call; asked again it would answer another address (where
    nothing listens, so a second lookup would fail the call). The allowed 127.0.0.1 is the one connected to,
    and the Host header is still the URL's."""
    monkeypatch.setenv("ORDERFACTORY_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.1/32")
    dns = Dns(monkeypatch, "hooks.example.test")
    webhook = subscribe(api, "customers.create", listener.url("hooks.example.test"))
    dns.answers = [["127.0.0.1"], ["127.0.0.2"]]
    api.create("customers", {"email": "ada@example.com"})
    deliver_all(api)
    assert dns.asked == 1
    [(path, headers)] = listener.hits
    assert path == "/hooks" and headers["host"] == f"hooks.example.test:{listener.port}"
    assert callbacks(api, webhook["id"])[0]["response_code"] == "200"


def test_a_redirect_is_not_followed_and_its_body_is_not_stored(
    api: Any, listener: Listener, local_network_allowed: None
) -> None:
    """Even to an allowed address: a redirect could point anywhere, and its body is never read."""
    for status in (301, 302, 303, 307, 308):
        listener.status = status
        webhook = subscribe(api, "customers.create", listener.url())
        api.create("customers", {"email": f"ada-{status}@example.com"})
        deliver_all(api)
        [callback] = callbacks(api, webhook["id"])
        assert (callback["response_code"], callback["response_message"]) == (
            str(status),
            "redirect not followed",
        )
        api.update("webhooks", webhook["id"], {"_disable": True})
    assert {path for path, _ in listener.hits} == {"/hooks"}  # never /internal


def test_a_gateway_whose_url_became_private_is_not_called(
    api: Any, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    dns = Dns(monkeypatch, "psp.example.test")
    with scopes.active(api.scope()):
        gateway = ExternalGateway.objects.create(
            name="PSP", authorize_url=listener.url("psp.example.test", "/authorize")
        )
        method = PaymentMethod.objects.create(
            name="Card",
            payment_source_type="external_payments",
            currency_code="EUR",
            payment_gateway_type="external_gateways",
            payment_gateway_id=gateway.pk,
        )
        payment = ExternalPayment.objects.create(payment_source_token="tok_4242")
        dns.answers = [["127.0.0.1"]]
        result = payments.authorize(method, payment, 1000, "EUR", "ORD-1")
        assert result.success is False
        assert result.message.startswith("the gateway was not called: its URL resolves to an address")
        assert ExternalGateway.objects.get(pk=gateway.pk).circuit_failure_count == 0
        monkeypatch.setenv("ORDERFACTORY_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.1/32")
        result = payments.authorize(method, payment, 1000, "EUR", "ORD-1")
    assert result.success is False and result.message == "the gateway answered 200"  # reached, not a PSP
    assert [path for path, _ in listener.hits] == ["/authorize"]


def _webhook(url: str) -> dict[str, Any]:
    return {"data": {"type": "webhooks", "attributes": {"topic": "customers.create", "callback_url": url}}}


def _gateway(attributes: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"type": "external_gateways", "attributes": attributes}}
