"""The benchmarks run end to end: bench/api_read.py and bench/copy_throughput.py start their servers, seed,
measure their phases and print the ratios.

Smoke tests of the benchmarks themselves, with tiny data sets; they assert no timing.
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


def test_copy_benchmark_runs_end_to_end() -> None:
    # Its own server and workers, on a temporary SQLite database, whatever this run's database is.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERFACTORY_")}
    command = [sys.executable, str(ROOT / "bench" / "copy_throughput.py"), "--orders", "3", "--lines", "2"]
    command += ["--sizes", "3,6", "--per-size", "1", "--ceiling-rounds", "1", "--rounds", "2"]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)

    assert completed.returncode == 0, completed.stderr
    rows = [line.split() for line in completed.stdout.splitlines()]
    phases = [row[0] for row in rows if row[:1] in (["embedded"], ["workers"], ["ceiling"])]
    assert phases == ["embedded", "workers", "ceiling"], completed.stdout
    assert "median of 3 rounds" in completed.stdout, completed.stdout  # before, between and after the phases
    assert completed.stdout.count("(median of 2 rounds;") == 2, completed.stdout  # each phase
    assert ["ratio", "embedded/ceiling:"] in [row[:2] for row in rows], completed.stdout
    assert ["ratio", "workers/ceiling:"] in [row[:2] for row in rows], completed.stdout
    assert [row[:4] for row in rows if row[:2] == ["per", "copy"]] == [
        ["per", "copy", "at", "3"],
        ["per", "copy", "at", "6"],
    ], completed.stdout
    assert ["cost", "6/3"] in [row[:2] for row in rows], completed.stdout
