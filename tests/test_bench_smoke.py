"""bench/api_read.py runs end to end: starts a server, seeds, measures the three phases and prints the ratios.

A smoke test of the benchmark itself, with a tiny data set and half a second per phase; it asserts no timing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_read_benchmark_runs_end_to_end() -> None:
    # The benchmark starts its own server on a temporary SQLite database, whatever this run's database is.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERFACTORY_")}
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "api_read.py"), "--seconds", "0.5", "--price-lists", "30"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    rows = [line.split() for line in completed.stdout.splitlines()]
    assert [row[0] for row in rows if row[:1] in (["list"], ["retrieve"], ["ceiling"])] == [
        "list",
        "retrieve",
        "ceiling",
    ], completed.stdout
    assert ["ratio", "list/ceiling:"] in [row[:2] for row in rows], completed.stdout
    assert ["ratio", "retrieve/ceiling:"] in [row[:2] for row in rows], completed.stdout
