"""A local HTTP receiver for webhook deliveries, and helpers to subscribe and deliver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest

from orderfactory.core import scope
from orderfactory.events import services
from orderfactory.events.models import WebhookDelivery


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names lowercased: HTTP header names are case-insensitive
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        expected = base64.b64encode(hmac.new(secret.encode(), self.body, hashlib.sha256).digest()).decode()
        return hmac.compare_digest(self.headers.get("x-commercelayer-signature", ""), expected)


@dataclass
class Receiver:
    """Answers each POST with the next of ``answers`` (status, seconds to wait first), then 200."""

    url: str
    received: list[Received] = field(default_factory=list)
    answers: list[tuple[int, float]] = field(default_factory=list)

    def answer(self, *answers: tuple[int, float]) -> None:
        self.answers.extend(answers)


@pytest.fixture
def receiver(local_network_allowed: None) -> Iterator[Receiver]:
    state = Receiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                state.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status, wait = state.answers.pop(0) if state.answers else (200, 0.0)
            time.sleep(wait)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver says no")
            except OSError:
                pass  # the sender gave up waiting

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def refused_url(local_network_allowed: None) -> str:
    """A local URL nobody listens on: bind a port, then free it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}/hooks"


def subscribe(api: Any, topic: str, url: str, **attributes: Any) -> dict[str, Any]:
    return api.create("webhooks", {"topic": topic, "callback_url": url, **attributes})


def pending(api: Any, webhook_id: str | None = None) -> list[str]:
    """Ids of the deliveries waiting for an attempt, oldest first."""
    with scope.active(api.scope()):
        qs = WebhookDelivery.objects.filter(status="pending").order_by("created_at", "id")
        if webhook_id is not None:
            qs = qs.filter(webhook_id=webhook_id)
        return list(qs.values_list("id", flat=True))


def deliver_pending(api: Any, webhook_id: str | None = None, **kw: Any) -> int:
    """Make one attempt of every pending delivery, as the worker would; returns how many were attempted."""
    ids = pending(api, webhook_id)
    for delivery_id in ids:
        services.deliver(delivery_id, **kw)
    return len(ids)


def delivery_of(api: Any, delivery_id: str) -> WebhookDelivery:
    with scope.active(api.scope()):
        return WebhookDelivery.objects.get(pk=delivery_id)
