"""``orderfactory copies batch``, the real command run as a process beside a real worker: the batch it makes,
its progress (plain lines when its output is no terminal, a bar redrawn in place on one), the outcome counts
and the exit status."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from orderfactory.core import clock, scope
from orderfactory.factories.models import OrderCopyBatch, OrderFactory
from orderfactory.orders.models import Order
from tests.orders.conftest import build_shop, new_order, place
from tests.test_worker import environment, orderfactory

pytestmark = pytest.mark.django_db(transaction=True)


def placed_orders(api: Any, shop: Any, n: int, email: str) -> list[str]:
    out = []
    for _ in range(n):
        order = new_order(api, shop, {"MUG": 1}, email=email)
        assert place(api, order["id"]).status == 200
        out.append(order["id"])
    return out


def command(tmp_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "orderfactory.cli", "copies", "batch", "--organization", "acme", *args]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(tmp_path, *args), env=environment(tmp_path), capture_output=True, text=True, timeout=120
    )


def run_on_a_terminal(tmp_path: Path, *args: str) -> tuple[int, str]:
    """The command with its output on a pseudo-terminal: (exit status, what the terminal got)."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        command(tmp_path, *args), env=environment(tmp_path), stdout=secondary, stderr=secondary
    )
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    return process.wait(30), seen.decode()


def test_copies_batch_waits_with_its_progress_and_prints_the_outcome(api, tmp_path):
    shop = build_shop(api, skus={"MUG": (800, {"milan": 100})})
    bobs = placed_orders(api, shop, 3, "bob@example.com")
    placed_orders(api, shop, 1, "ada@example.com")
    with scope.active(api.scope()):
        before = Order.objects.count()

    refused = run(tmp_path, "--filter", "nonsense_eq=1")
    assert refused.returncode == 2 and refused.stderr.startswith("orderfactory: "), refused
    assert "nonsense_eq is not allowed" in refused.stderr and refused.stderr.count("\n") == 1
    assert not OrderCopyBatch.unscoped.exists()

    with orderfactory(tmp_path, "worker"):
        done = run(tmp_path, "--filter", "customer_email_eq=bob@example.com", "--wait")
        assert done.returncode == 0, done
        lines = done.stdout.splitlines()
        assert lines[0].startswith("order copy batch ") and "3 orders to copy (acme, test mode)" in lines[0]
        progress = [line for line in lines if line.startswith("[")]
        assert progress and all("copies/s" in line and "left" in line for line in progress)
        assert progress[-1].startswith("[" + "#" * 30 + "] 3/3 100%")
        assert lines[-1] == "completed: 3 copied, 0 failed, 0 aborted, of 3"
        with scope.active(api.scope()):
            assert sorted(OrderFactory.objects.values_list("source_order_id", flat=True)) == sorted(bobs)
            assert Order.objects.count() == before + 3
            Order.objects.filter(pk=bobs[0]).update(archived_at=clock.now())

        status, screen = run_on_a_terminal(tmp_path, "--ids", ",".join(bobs), "--place", "--wait")
    assert status == 1, screen
    assert "\r[" in screen and "\x1b[K" in screen  # the bar redrawn in place
    # placing the copies fails (a wire transfer is in no wallet to reuse); the archived source is not copied
    assert screen.rstrip().splitlines()[-1] == "failed: 0 copied, 2 failed, 1 aborted, of 3"
    with scope.active(api.scope()):
        batch = OrderCopyBatch.objects.order_by("-created_at").first()
        assert batch is not None and batch.place_target_order is True
        failed = OrderFactory.objects.filter(order_copy_batch=batch, status="failed")
        assert {f.errors_details[0]["attribute"] for f in failed} == {"payment_source"}
