"""The README's walk-through, run as it is written: every shell block of its "A walk-through with curl" section,
in order, in one bash session (with ``python3`` a Python 3.11 when one is installed: the version the README
asks for), against ``orderfactory serve`` on a free port with a fresh data directory. The blocks read only
documented variables: ``PORT``, and ``ORDERFACTORY_DEMO_RUNS_IN`` so that the demo's subscriptions run in
seconds, not a minute. It uses no database of this run, so it runs in the SQLite pass only."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
COMMAND = ROOT / ".venv" / "bin" / "orderfactory"
MARK = "@@ end of block "

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="the served instance has its own SQLite data directory: once is enough",
)


def walkthrough_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## A walk-through with curl", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.DOTALL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def python311(tmp_path: Path) -> Path:
    """A directory whose ``python3`` is Python 3.11 when the machine has one (else this interpreter)."""
    binary = shutil.which("python3.11") or sys.executable
    directory = tmp_path / "bin"
    directory.mkdir()
    (directory / "python3").symlink_to(binary)
    return directory


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, str]]:
    """``orderfactory serve`` as the README's reader starts it, and the environment of their second terminal."""
    assert COMMAND.exists(), "the walk-through uses .venv/bin/orderfactory: `make .venv/.installed` first"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERFACTORY_") and k != "PORT"}
    env.update(
        ORDERFACTORY_DATA_DIR=str(tmp_path / "var"),
        ORDERFACTORY_SCHEDULER_INTERVAL="1",
        XDG_RUNTIME_DIR=str(tmp_path),  # gunicorn's control socket, away from other servers'
        PORT=str(port),
    )
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [str(COMMAND), "serve"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    index = json.loads(response.read())
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.2)
        assert index["name"] == "orderfactory" and index["links"]["api"] == f"http://127.0.0.1:{port}/api"
        # an empty server points its reader at the demo, with the command as they would type it
        assert f"  {COMMAND} demo\n" in (tmp_path / "serve.log").read_text()
        yield {
            **env,
            "PATH": f"{python311(tmp_path)}{os.pathsep}{env['PATH']}",
            "ORDERFACTORY_DEMO_RUNS_IN": "3",
        }
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_the_readme_walkthrough_runs_as_written(served: dict[str, str], tmp_path: Path) -> None:
    blocks = walkthrough_blocks()
    assert len(blocks) == 6
    script = "".join(f"{block}\necho '{MARK}{i}'\n" for i, block in enumerate(blocks))
    done = subprocess.run(
        ["bash", "-c", script], env=served, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and done.stderr == "", (done.returncode, done.stderr[-3000:])
    steps = re.split(rf"{MARK}\d+\n", done.stdout)
    assert len(steps) == len(blocks) + 1 and steps[-1] == "", done.stdout[-3000:]
    credentials, token, copy, runs, price_lists, own = (step.strip().splitlines() for step in steps[:-1])

    assert re.fullmatch(r"client [\w-]{43}, order \w{10}, subscription \w{10}", credentials[-1]), credentials
    assert re.fullmatch(r"token eyJ[\w-]{13}\.\.\.", token[-1]), token
    assert re.fullmatch(r"copy \w{10}: completed", copy[-1]), copy
    assert runs[-1] == "runs: succeeded", runs
    created, listed = (json.loads(line) for line in price_lists)
    assert created["data"]["attributes"]["name"] == "Dollars"
    assert [row["id"] for row in listed["data"]] == [created["data"]["id"]]
    assert re.fullmatch(r"client [\w-]{43}", own[-1]) and own[-1] not in credentials[-1], own
    version = subprocess.run(["python3", "--version"], env=served, capture_output=True, text=True).stdout
    assert version.startswith("Python 3.11") or not shutil.which("python3.11"), version

    # What `orderfactory demo` prints for a reader is as pasteable: its four lines, then its commands.
    printed = subprocess.run(
        [str(COMMAND), "demo", "--organization", "printed-demo"],
        env=served,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert printed.returncode == 0, printed.stderr
    credentials_part, commands = printed.stdout.split("paste those four lines, then:\n", 1)
    variables = [line.strip() for line in credentials_part.splitlines() if re.match(r"  [A-Z_]+=", line)]
    assert len(variables) == 4, printed.stdout
    script = "\n".join([*variables, *(line.removeprefix("  ") for line in commands.splitlines())])
    done = subprocess.run(
        ["bash", "-c", script], env=served, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    documents, text = [], done.stdout  # curl prints each answer with no newline after it
    while text.strip():
        document, end = json.JSONDecoder().raw_decode(text.strip())
        documents.append(document)
        text = text.strip()[end:]
    copy_made, copies, subscription_runs = documents
    assert copy_made["data"]["type"] == "order_copies"
    assert copies["data"][0]["id"] == copy_made["data"]["id"]
    assert subscription_runs["data"] == []  # not due yet: a minute from now
