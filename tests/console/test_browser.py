"""The console in a real browser: Playwright drives Debian's Chromium against a real ``orderfactory serve`` (its
embedded worker and scheduler included) on this run's test database.

An operator signs in, finds a failed renewal from the overview, reads its coded error, fixes the stock through the
API, retries the copy from its page and sees it complete; skips and pauses a subscription and sees the preview
change; revokes an application and sees its token refused. axe-core checks every page for serious or critical
accessibility violations, and every page is photographed at a desktop and a phone width.

Chromium cannot be downloaded here: the tests use /usr/bin/chromium (Debian's ``chromium`` package, which
.ci/run installs) and are skipped, saying so, where it is missing. They run in the SQLite pass of ``make test``
only (the Makefile says why).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orderfactory.auth import services as applications
from orderfactory.auth import tokens
from orderfactory.console import services as operators
from orderfactory.core import clock
from tests.conftest import Api
from tests.console.conftest import PASSWORD, Renewal, failed_renewal, failing_webhook
from tests.subscriptions.conftest import subscribe
from tests.test_worker import orderfactory, wait_for

CHROMIUM = Path(os.environ.get("ORDERFACTORY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCREENSHOTS = Path(
    os.environ.get("ORDERFACTORY_CONSOLE_SCREENSHOTS") or ROOT / "build" / "console-screenshots"
)
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
AXE_VERSION = json.loads((HERE / "package.json").read_text())["dependencies"]["axe-core"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"no Chromium at {CHROMIUM}: the console's browser tests need Debian's chromium package",
    ),
    pytest.mark.skipif(shutil.which("npm") is None, reason="npm is needed to install axe-core"),
]


@dataclass
class World:
    url: str
    api: Api
    renewal: Renewal
    subscription_id: str  # due tomorrow, runs normally: skipped and paused in the browser
    webhook_id: str  # its circuit opened
    support: str
    admin: str


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core, pinned in tests/console/package-lock.json, installed once into tests/console/node_modules."""
    manifest = HERE / "node_modules" / "axe-core" / "package.json"
    if not manifest.exists() or json.loads(manifest.read_text())["version"] != AXE_VERSION:
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True, timeout=180
        )
    return (HERE / "node_modules" / "axe-core" / "axe.min.js").read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def server(django_db_setup: Any, tmp_path_factory: Any) -> Iterator[str]:
    """``orderfactory serve`` on this run's test database, for the module's tests: each commits its rows
    (transactional tests) and the database is flushed after each, while the server goes on."""
    port = _free_port()
    with orderfactory(tmp_path_factory.mktemp("console-serve"), "serve", "--port", str(port)) as process:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(f"{url}/console/login"), "the server answers", processes=(process,))
        yield url


@pytest.fixture
def world(server: str, transactional_db: Any, settings: Any) -> World:
    """The shop, a failed renewal, a subscription due tomorrow, a webhook whose circuit opened, and operators."""
    app, _ = applications.create_application(
        name="browser-tests", kind="integration", mode="test", organization_slug="acme"
    )
    api = Api(tokens.issue_token(app, None)["access_token"], app, app.organization)
    renewal = failed_renewal(api)
    subscription_id = subscribe(api, renewal.order["id"]).data["id"]
    webhook, _ = failing_webhook(api)
    accounts = {}
    for role in ("support", "admin"):
        accounts[role] = f"{role}@acme.example"
        operators.create_operator(
            email=accounts[role], organization_slug="acme", role=role, password=PASSWORD
        )
    return World(server, api, renewal, subscription_id, webhook.pk, accounts["support"], accounts["admin"])


@pytest.fixture
def browser(world: World) -> Iterator[Any]:
    """Started once the world is written and closed before it is flushed: while Playwright's event loop runs,
    Django refuses database calls from this thread, so the tests reach the database through the server only."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def signed_in(browser: Any, world: World, email: str, **context: Any) -> Any:
    page = browser.new_context(**context).new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{world.url}/console/")
    assert page.url.startswith(f"{world.url}/console/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{world.url}/console/")
    return page


def http(world: World, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    """A request to the server's API, as any client makes it."""
    headers = {"Accept": "application/vnd.api+json", "Content-Type": "application/vnd.api+json"}
    headers["Authorization"] = f"Bearer {token or world.api.token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{world.url}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def preview_rows(page: Any) -> list[str]:
    return [
        row.inner_text()
        for row in page.get_by_role("region", name="Next runs", exact=True).locator("tbody tr").all()
    ]


def test_find_a_failed_renewal_read_its_error_fix_the_stock_and_retry_it(browser, world):
    from playwright.sync_api import expect

    failed = world.renewal.failed_copy.pk
    page = signed_in(browser, world, world.support)
    failing = page.get_by_role("region", name="Subscriptions failing their last run", exact=True)
    expect(failing).to_contain_text(world.renewal.subscription.number or "")
    page.get_by_role("region", name="Recent failed copies", exact=True).get_by_role(
        "link", name=failed
    ).click()
    expect(page.locator("h1")).to_contain_text(f"{failed} failed")
    errors = page.get_by_role("region", name="Errors", exact=True)
    expect(errors).to_contain_text("TSHIRT is out of stock (requested 2, available 0)")
    expect(errors).to_contain_text("out_of_stock")
    expect(errors).to_contain_text("retryable")

    stock = world.renewal.shop.stock[("TSHIRT", "milan")].pk
    status, _ = http(
        world,
        "PATCH",
        f"/api/stock_items/{stock}",
        {"data": {"type": "stock_items", "id": stock, "attributes": {"quantity": 10}}},
    )
    assert status == 200

    page.get_by_role("button", name="Retry").click()
    expect(page.locator("h1")).to_contain_text("completed", timeout=60_000)  # the page reloads itself
    expect(page.get_by_role("region", name="Orders", exact=True)).to_contain_text(
        re.compile(rf"Retry of\s*{failed}")
    )
    page.get_by_role("link", name=failed).click()
    expect(page.get_by_role("region", name="Orders", exact=True)).to_contain_text("(completed)")
    page.goto(f"{world.url}/console/")
    expect(
        page.get_by_role("region", name="Subscriptions failing their last run", exact=True)
    ).to_contain_text("0 failing")


def test_skip_and_pause_a_subscription_and_see_the_preview_change(browser, world):
    from playwright.sync_api import expect

    page = signed_in(browser, world, world.support)
    page.goto(f"{world.url}/console/subscriptions/{world.subscription_id}")
    before = preview_rows(page)
    assert len(before) == 6 and all("runs" in row for row in before)

    page.get_by_role("button", name="Skip the next run").click()
    expect(page.get_by_role("status")).to_contain_text("The next run will be skipped.")
    after_skip = preview_rows(page)
    assert "skipped" in after_skip[0] and all("runs" in row for row in after_skip[1:])

    until = (clock.now() + dt.timedelta(days=3, hours=12)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Pause until (UTC)").fill(until)
    page.get_by_role("button", name="Pause", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Paused.")
    after_pause = preview_rows(page)
    # the daily runs before the date are paused (the first is still skipped), the later ones run
    assert "skipped" in after_pause[0]
    assert [("paused" in row) for row in after_pause[1:]] == [True, True, False, False, False]


def test_revoke_an_application_and_see_its_token_refused(browser, world):
    from playwright.sync_api import expect

    page = signed_in(browser, world, world.admin)
    page.get_by_role("link", name="Applications").click()
    page.get_by_label("Name").fill("Browser ERP")
    page.get_by_role("button", name="Create").click()
    created = page.get_by_role("alert")
    expect(created).to_contain_text("Browser ERP is created")
    client_id = created.locator("dd code").nth(0).inner_text()
    secret = created.locator("dd code").nth(1).inner_text()

    body = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    request = urllib.request.Request(
        f"{world.url}/oauth/token",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        token = json.loads(response.read())["access_token"]
    assert http(world, "GET", "/api/organization", token=token)[0] == 200

    page.once(
        "dialog", lambda dialog: dialog.accept()
    )  # "Revoke Browser ERP? Its tokens stop working at once."
    page.get_by_role("button", name="Revoke Browser ERP").click()
    expect(page.get_by_role("status")).to_contain_text("Browser ERP is revoked")
    status, document = http(world, "GET", "/api/organization", token=token)
    assert status == 401 and document["errors"][0]["code"] == "INVALID_TOKEN"


def test_the_overview_reads_without_javascript(browser, world):
    page = signed_in(browser, world, world.support, java_script_enabled=False)
    chart = page.get_by_role("img", name="Copies ended per hour over the last 7 days, by outcome")
    assert chart.locator("rect").count() >= 1
    assert "Renewals due in the next 24 hours" in page.inner_text("main")


def page_paths(world: World) -> dict[str, str]:
    renewal = world.renewal
    return {
        "overview": "/console/",
        "copies": "/console/copies/",
        "copy": f"/console/copies/{renewal.failed_copy.pk}",
        "subscriptions": "/console/subscriptions/",
        "subscription": f"/console/subscriptions/{renewal.subscription.pk}",
        "orders": "/console/orders/",
        "order": f"/console/orders/{renewal.order['id']}",
        "webhooks": "/console/webhooks/",
        "webhook": f"/console/webhooks/{world.webhook_id}",
        "applications": "/console/applications/",
    }


def serious_violations(page: Any, axe_source: str) -> list[str]:
    page.evaluate(axe_source)
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['nodes']}" for v in found if v["impact"] in ("serious", "critical")
    ]


def test_every_page_passes_axe_and_is_photographed_at_two_widths(browser, world, axe_source):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = {}
    for width, (w, h) in WIDTHS.items():
        anonymous = browser.new_context(viewport={"width": w, "height": h}).new_page()
        anonymous.goto(f"{world.url}/console/login")
        problems[f"sign-in {width}"] = serious_violations(anonymous, axe_source)
        anonymous.screenshot(path=str(SCREENSHOTS / f"sign-in-{width}.png"), full_page=True)
        page = signed_in(browser, world, world.admin, viewport={"width": w, "height": h})
        for name, path in page_paths(world).items():
            page.goto(f"{world.url}{path}")
            assert page.locator("h1").count() == 1, name
            problems[f"{name} {width}"] = serious_violations(page, axe_source)
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    assert {k: v for k, v in problems.items() if v} == {}
    print(f"console screenshots written to {SCREENSHOTS}")
