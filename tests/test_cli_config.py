"""A configuration mistake is one line on stderr saying what is wrong and what to set, and exit status 2: the
real ``orderfactory`` command, run as a process. None of these reach this run's database, so they run in the
SQLite pass only. And ``orderfactory --help`` and the README's CLI section name every command and option."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from orderfactory import cli

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_all(
    tmp_path: Path, cases: dict[str, tuple[list[str], dict[str, str]]]
) -> dict[str, tuple[int, str, str]]:
    """Run every case's command at once (each is a Python process starting Django): name -> (code, out, err)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ORDERFACTORY_") and k != "PORT"}
    base.update(PYTHONPATH=str(ROOT / "src"), ORDERFACTORY_DATA_DIR=str(tmp_path / "var"))
    running = {
        name: subprocess.Popen(
            [sys.executable, "-m", "orderfactory.cli", *argv],
            env={**base, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (argv, env) in cases.items()
    }
    return {name: (p.wait(120), *p.communicate()) for name, p in running.items()}


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="no case reaches this run's database: once is enough"
)
def test_a_bad_configuration_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    closed = _free_port()
    nowhere = f"postgresql://postgres@127.0.0.1:{closed}/orderfactory"
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    taken = busy.getsockname()[1]
    cases = {
        "postgresql not listening, migrate": (["migrate"], {"ORDERFACTORY_DATABASE_URL": nowhere}),
        "postgresql not listening, serve": (
            ["serve", "--port", str(_free_port())],
            {"ORDERFACTORY_DATABASE_URL": nowhere},
        ),
        "postgresql not listening, worker": (["worker", "--batch"], {"ORDERFACTORY_DATABASE_URL": nowhere}),
        "mysql": (["migrate"], {"ORDERFACTORY_DATABASE_URL": "mysql://shop:secret@db.example.com/shop"}),
        "not a url": (["apps", "list"], {"ORDERFACTORY_DATABASE_URL": "orders.sqlite3"}),
        "a number that is not": (["apps", "list"], {"ORDERFACTORY_TOKEN_TTL": "4h"}),
        "a port that is not": (["serve"], {"PORT": "eighty"}),
        "a port in use": (["serve", "--port", str(taken)], {}),
        "a flag that is neither": (["scheduler", "--once"], {"ORDERFACTORY_RATE_LIMITS": "maybe"}),
        "a data directory that cannot be": (["demo"], {"ORDERFACTORY_DATA_DIR": "/proc/orderfactory"}),
        "the removed task backend": (["worker", "--batch"], {"ORDERFACTORY_TASK_BACKEND": "rq"}),
        "a network that is not": (["worker"], {"ORDERFACTORY_OUTBOUND_ALLOWED_NETWORKS": "10.0.0.0/33"}),
    }
    try:
        results = _run_all(tmp_path, cases)
    finally:
        busy.close()
    expected = {
        "postgresql not listening, migrate": [
            f"PostgreSQL at 127.0.0.1:{closed}",
            "ORDERFACTORY_DATABASE_URL",
        ],
        "postgresql not listening, serve": [f"PostgreSQL at 127.0.0.1:{closed}", "ORDERFACTORY_DATABASE_URL"],
        "postgresql not listening, worker": [
            f"PostgreSQL at 127.0.0.1:{closed}",
            "postgresql://user:password@",
        ],
        "mysql": ["ORDERFACTORY_DATABASE_URL", "'mysql' is not supported", "sqlite://", "postgresql://"],
        "not a url": ["ORDERFACTORY_DATABASE_URL", "not a URL", "sqlite:///"],
        "a number that is not": ["ORDERFACTORY_TOKEN_TTL='4h'", "whole number"],
        "a port that is not": ["PORT='eighty'", "whole number"],
        "a port in use": [f"cannot listen on 127.0.0.1:{taken}", "set PORT"],
        "a flag that is neither": ["ORDERFACTORY_RATE_LIMITS='maybe'", "on or off"],
        "a data directory that cannot be": [
            "ORDERFACTORY_DATA_DIR",
            "/proc/orderfactory",
            "writable directory",
        ],
        "the removed task backend": ["ORDERFACTORY_TASK_BACKEND", "unset it"],
        "a network that is not": ["ORDERFACTORY_OUTBOUND_ALLOWED_NETWORKS", "10.0.0.0/33", "CIDRs"],
    }
    for name, (code, out, err) in results.items():
        assert code == 2, (name, code, err)
        assert err.count("\n") == 1 and err.startswith("orderfactory: "), (name, err)
        assert "Traceback" not in err and "secret" not in err, (name, err)
        assert all(fragment in err for fragment in expected[name]), (name, err)
        assert out == "", (name, out)


def _readme_cli_lines() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("## The CLI", 1)[1].split("```", 2)[1]
    return [line for line in block.splitlines() if line.startswith("orderfactory ")]


def _commands() -> dict[str, list[str]]:
    """Each command (``apps create`` ...) and its options, from the parser the CLI runs."""
    import argparse

    found: dict[str, list[str]] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, f"{prefix} {name}".strip())
                return
        found[prefix] = [  # what --help shows: an option it hides (serve's own --embedded) is no user's
            o
            for a in parser._actions
            if a.help != argparse.SUPPRESS
            for o in a.option_strings
            if o.startswith("--") and o != "--help"
        ]

    walk(cli.build_parser(), "")
    return found


def test_help_and_the_readme_name_every_command_and_option() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "orderfactory.cli", "--help"],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    commands = _commands()
    listed = done.stdout.split("positional arguments:", 1)[1].split("options:", 1)[0]
    assert {
        line.split()[0] for line in listed.splitlines()[2:] if line.startswith("    ") and line[4] != " "
    } == {c.split()[0] for c in commands}, done.stdout
    readme = {
        " ".join(re.findall(r"^orderfactory ((?:[a-z]+ ?)+)", line)[0].split()): line
        for line in _readme_cli_lines()
    }
    assert set(readme) == set(commands)
    for command, options in commands.items():
        assert all(option in readme[command] for option in options), (command, options, readme[command])


def test_processes_starting_at_once_on_a_fresh_data_directory_share_one_secret_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by CI: parallel commands on a fresh data directory raced to create the key, and the loser died with
    FileExistsError. Here the race is made certain (another process writes the key between our look and our
    write) and also run for real by many threads at once: everyone gets the one key, whole."""
    from orderfactory import config

    monkeypatch.setenv("ORDERFACTORY_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("ORDERFACTORY_SECRET_KEY", raising=False)
    key = tmp_path / "var" / "secret_key"
    seen = Path.exists

    def look_then_lose(self: Path) -> bool:
        if self == key and not seen(self):
            key.write_text("the-other-process-key")
        return False if self == key else seen(self)

    monkeypatch.setattr(Path, "exists", look_then_lose)
    assert config.secret_key() == "the-other-process-key"
    monkeypatch.undo()

    monkeypatch.setenv("ORDERFACTORY_DATA_DIR", str(tmp_path / "fresh"))
    monkeypatch.delenv("ORDERFACTORY_SECRET_KEY", raising=False)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(16) as pool:
        keys = set(pool.map(lambda _: config.secret_key(), range(64)))
    assert len(keys) == 1 and len(keys.pop()) >= 48
    assert [p.name for p in (tmp_path / "fresh").iterdir()] == ["secret_key"]
