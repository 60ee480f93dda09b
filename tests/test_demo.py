"""``orderfactory demo`` and the server's root: a newcomer gets a shop to try, credentials, and an index."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from orderfactory import cli, demo
from orderfactory.auth.models import Application, Organization
from orderfactory.core import clock, scope
from orderfactory.customers.models import CustomerPaymentSource
from orderfactory.orders.models import Order
from orderfactory.subscriptions.models import OrderSubscription
from tests.test_worker import environment, orderfactory, wait_for


def _demo_scope(organization: str = demo.ORGANIZATION) -> scope.Scope:
    app = Application.objects.get(organization__slug=organization)
    return scope.Scope(
        organization_id=app.organization_id,
        organization_slug=organization,
        mode=app.mode,
        application_id=app.id,
        application_kind=app.kind,
    )


@pytest.mark.django_db
def test_the_demo_makes_a_shop_to_try_once(capsys: Any) -> None:
    before = clock.now()
    assert cli.main(["demo", "--json", "--runs-in", "90"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["organization"] == demo.ORGANIZATION and len(made["client_secret"]) == 43
    with scope.active(_demo_scope()):
        placed = Order.objects.filter(status="placed")
        assert sorted(placed.values_list("pk", flat=True)) == sorted(made["orders"])
        assert set(placed.values_list("customer_email", flat=True)) == set(demo.CUSTOMERS)
        assert CustomerPaymentSource.objects.count() == len(made["orders"])  # wallets to pay the runs
        subscriptions = OrderSubscription.objects.filter(pk__in=made["subscriptions"], status="active")
        assert subscriptions.count() == 2
        for subscription in subscriptions:
            assert subscription.next_run_at is not None
            assert 89 <= (subscription.next_run_at - before).total_seconds() <= 90 + 60
    # an admin of its console, to watch it with
    console = Client()
    assert console.post(
        "/console/login", {"email": made["operator_email"], "password": made["operator_password"]}
    ).status_code in (302, 303)
    assert made["subscriptions"][0] in console.get("/console/subscriptions/").content.decode()
    # run again: refused in one line, nothing more written
    counts = (Organization.objects.count(), Application.objects.count())
    assert cli.main(["demo"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "exists already" in err and "apps create" in err
    assert (Organization.objects.count(), Application.objects.count()) == counts
    # the commands it prints to a reader
    assert cli.main(["demo", "--organization", "demo-store-2"]) == 0
    out = capsys.readouterr().out
    assert "CLIENT_SECRET=" in out and "/api/order_copies" in out and "subscription_runs" in out
    assert "/console/, signed in as operator@demo-store-2.example" in out and "with the password " in out


@pytest.mark.django_db
def test_the_root_is_an_index_and_the_api_root_lists_the_resources() -> None:
    client = Client()
    r = client.get("/")
    assert r.status_code == 200 and r["Content-Type"] == "application/json"
    assert r.content.startswith(b'{\n  "name": "orderfactory"')  # indented: it reads in a browser
    index = r.json()
    assert index["version"] == "0.1.0"
    assert index["links"] == {
        "api": "http://testserver/api",
        "token": "http://testserver/oauth/token",
        "jwks": "http://testserver/.well-known/jwks.json",
        "docs": "https://docs.commercelayer.io/core/",
    }
    root = client.get("/api")
    assert root.status_code == 200 and root["Content-Type"] == "application/vnd.api+json"
    links = json.loads(root.content)["links"]
    assert (
        links["self"] == "http://testserver/api"
        and links["order_copies"] == "http://testserver/api/order_copies"
    )
    assert client.get(links["order_copies"]).status_code == 401  # a link that answers: it wants a token
    head = client.head("/")
    assert head.status_code == 200 and head.content == b""
    refused = client.post("/", data=b"{}", content_type="application/json")
    assert refused.status_code == 405 and refused.json()["errors"][0]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="on SQLite, tests/test_readme.py runs the demo, copies its order and watches its run over HTTP",
)
@pytest.mark.django_db(transaction=True)
def test_a_served_demo_copies_an_order_and_runs_its_subscriptions(tmp_path: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "orderfactory.cli", "demo", "--json", "--runs-in", "2"],
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"

    def call(method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        headers = {"Content-Type": "application/vnd.api+json", "Accept": "application/vnd.api+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{base}{path}", data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    with orderfactory(
        tmp_path, "serve", "--port", str(port), "--threads", "2", ORDERFACTORY_SCHEDULER_INTERVAL="1"
    ) as server:

        def token() -> str | None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                return None
            credentials = {
                "grant_type": "client_credentials",
                **{k: made[k] for k in ("client_id", "client_secret")},
            }
            return call("POST", "/oauth/token", credentials)["access_token"]

        bearer = wait_for(token, "the server answers", processes=(server,))
        source = {"data": {"type": "orders", "id": made["orders"][1]}}
        body = {"data": {"type": "order_copies", "relationships": {"source_order": source}}}
        copy_id = call("POST", "/api/order_copies", body, bearer)["data"]["id"]

        def status(path: str) -> str:
            return call("GET", path, token=bearer)["data"]["attributes"]["status"]

        wait_for(
            lambda: status(f"/api/order_copies/{copy_id}") == "completed", "the copy", processes=(server,)
        )
        for subscription in made["subscriptions"]:
            runs = f"/api/order_subscriptions/{subscription}/subscription_runs"
            wait_for(
                lambda runs=runs: (
                    [r["attributes"]["status"] for r in call("GET", runs, token=bearer)["data"]]
                    == ["succeeded"]
                ),
                "the subscription's run",
                processes=(server,),
            )
