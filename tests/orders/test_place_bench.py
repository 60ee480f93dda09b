"""bench/place_orders.py runs end to end: starts a server, seeds a catalog through the API, places orders of
1 and 20 line items and prints the figures. It asserts no timing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_placing_benchmark_runs_end_to_end() -> None:
    # The benchmark starts its own server on a temporary SQLite database, whatever this run's database is.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERFACTORY_")}
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "place_orders.py"), "--seconds", "0.2", "--concurrency", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    rows = [line.split() for line in completed.stdout.splitlines()]
    placed = {row[0]: int(row[3]) for row in rows if row[1:3] in (["line", "item"], ["line", "items"])}
    assert set(placed) == {"1", "20"} and all(placed.values()), completed.stdout
