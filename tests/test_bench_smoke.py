"""The benchmarks run end to end: bench/api_read.py, bench/copy_throughput.py and bench/scale.py start their servers, seed,
measure their phases and print the ratios; bench/paths.py traces its three paths.

Smoke tests of the benchmarks themselves, with tiny data sets; they assert no timing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    command += ["--sizes", "3,6", "--per-size", "1", "--ceiling-rounds", "1", "--rounds", "2", "--batch", "5"]
    command += ["--rich-orders", "2"]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)

    assert completed.returncode == 0, completed.stderr
    rows = [line.split() for line in completed.stdout.splitlines()]
    phases = [row[0] for row in rows if row[:1] in (["embedded"], ["rich"], ["workers"], ["ceiling"])]
    assert phases == ["embedded", "rich", "workers", "ceiling"], completed.stdout
    assert "median of 3 rounds" in completed.stdout, completed.stdout  # before, between and after the phases
    assert completed.stdout.count("(median of 2 rounds;") == 3, completed.stdout  # each phase, rich included
    assert ["ratio", "rich/embedded:"] in [row[:2] for row in rows], completed.stdout
    # The rich orders hold what issue 14 added: options and a bundle, a redeemed card, three promotion kinds.
    [rich] = [line for line in completed.stdout.splitlines() if line.startswith("one rich order:")]
    for kind in ("bundles", "gift_cards", "percentage_discount_promotions", "fixed_amount_promotions"):
        assert kind in rich, rich
    assert "free_shipping_promotions" in rich and "gift card -500" in rich, rich
    assert ["ratio", "embedded/ceiling:"] in [row[:2] for row in rows], completed.stdout
    assert ["ratio", "workers/ceiling:"] in [row[:2] for row in rows], completed.stdout
    assert [row[:2] for row in rows if row[:1] == ["batch"]] == [["batch", "5"]] * 2, completed.stdout
    assert [row[2] for row in rows if row[:2] == ["ratio", "batch"]] == [
        "embedded/ceiling:",
        "workers/ceiling:",
    ], completed.stdout
    assert [row[:4] for row in rows if row[:2] == ["per", "copy"]] == [
        ["per", "copy", "at", "3"],
        ["per", "copy", "at", "6"],
    ], completed.stdout
    assert ["cost", "6/3"] in [row[:2] for row in rows], completed.stdout


@pytest.mark.skipif(
    bool(os.environ.get("ORDERFACTORY_DATABASE_URL")),
    reason="runs on its own SQLite file: once per suite is enough",
)
def test_scale_benchmark_runs_end_to_end() -> None:
    # Its own server on a temporary SQLite database, whatever this run's database is.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERFACTORY_")}
    command = [sys.executable, str(ROOT / "bench" / "scale.py"), "--sizes", "3000", "--requests", "2"]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)

    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    header = next(line for line in lines if line.rstrip().endswith("target"))
    assert header.split() == ["alone", "3,000", "target"], completed.stdout
    names = [" ".join(line.split()[:4]) for line in lines if line.startswith(("small ", "big "))]
    for name in ("small first page", "big page 50% deep", "big filter email_cont", "big tick", "big copy"):
        assert any(n.startswith(name) for n in names), (name, completed.stdout)
    assert "p50 " in completed.stdout and "(< 100)" in completed.stdout


@pytest.mark.skipif(
    bool(os.environ.get("ORDERFACTORY_DATABASE_URL")),
    reason="runs on its own SQLite file: once per suite is enough",
)
def test_the_path_tracer_runs_its_three_paths_end_to_end() -> None:
    # In its own process, on a temporary SQLite database, whatever this run's database is.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERFACTORY_")}
    command = [sys.executable, str(ROOT / "bench" / "paths.py"), "--edges"]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)

    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    titles = [line.split()[0] for line in lines if line[:2] in ("1.", "2.", "3.")]
    assert titles == ["1.", "2.", "3."], completed.stdout
    counts = [line.split() for line in lines if line.startswith("  files: ")]
    assert len(counts) == 3 and all(int(c[1].rstrip(",")) > 1 for c in counts), completed.stdout
    assert "    1. cors.py\n" in completed.stdout, (
        completed.stdout
    )  # the URL's view: the request path's entry
    assert "api.py -> jsonapi/views.py: dispatch" in completed.stdout, completed.stdout
