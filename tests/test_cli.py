"""The ``orderfactory apps`` commands, as an operator runs them: create, list, revoke."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client

from orderfactory import cli
from orderfactory.auth import services, tokens
from orderfactory.auth.models import Application

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def create(capsys, *extra: str, name: str = "storefront-sync") -> dict:
    code, out, err = run(
        capsys, "apps", "create", "--name", name, "--kind", "integration", "--mode", "test", "--json", *extra
    )
    assert code == 0, err
    return json.loads(out)


def token_for(client_id: str, client_secret: str) -> str:
    body = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
    r = Client().post("/oauth/token", data=json.dumps(body), content_type="application/json")
    assert r.status_code == 200, r.content
    return r.json()["access_token"]


def get(path: str, token: str):
    return Client().get(
        path, headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.api+json"}
    )


def test_apps_create_prints_the_credentials_once(capsys):
    info = create(capsys, "--organization", "acme")
    assert set(info) >= {"client_id", "client_secret", "organization", "mode", "kind"}
    assert (info["organization"], info["mode"], info["kind"]) == ("acme", "test", "integration")
    # the credentials work at once: a token, and the API answers in the application's organization
    r = get("/api/organization", token_for(info["client_id"], info["client_secret"]))
    assert r.status_code == 200 and r.json()["data"]["attributes"]["slug"] == "acme"


def test_the_secret_is_not_stored_in_plain_text(capsys):
    info = create(capsys)
    app = Application.objects.get(client_id=info["client_id"])
    stored = [str(getattr(app, f.attname)) for f in Application._meta.concrete_fields]
    assert not any(info["client_secret"] in value for value in stored)
    assert app.client_secret_hash == services.hash_secret(info["client_secret"])


def test_apps_create_without_json_says_the_secret_is_shown_once(capsys):
    code, out, _ = run(capsys, "apps", "create", "--name", "ops", "--kind", "sales_channel", "--mode", "live")
    assert code == 0
    app = Application.objects.get(name="ops")
    assert app.client_id in out and "shown only now" in out
    assert (app.kind, app.mode, app.organization.slug) == ("sales_channel", "live", "demo")


def test_apps_list(capsys):
    first = create(capsys, "--organization", "acme", name="one")
    second = create(capsys, "--organization", "globex", name="two")
    code, out, _ = run(capsys, "apps", "list", "--json")
    assert code == 0
    listed = {a["client_id"]: a for a in json.loads(out)}
    assert listed[first["client_id"]]["organization"] == "acme"
    assert listed[second["client_id"]] == {
        "id": second["id"],
        "name": "two",
        "client_id": second["client_id"],
        "organization": "globex",
        "mode": "test",
        "kind": "integration",
        "revoked": False,
    }
    assert all("secret" not in key for a in listed.values() for key in a)
    code, out, _ = run(capsys, "apps", "list")
    assert code == 0 and second["client_id"] in out and second["client_secret"] not in out


def test_apps_revoke_stops_the_token_at_once(capsys, django_capture_on_commit_callbacks):
    info = create(capsys)
    token = token_for(info["client_id"], info["client_secret"])
    assert get("/api/organization", token).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        code, out, _ = run(capsys, "apps", "revoke", info["client_id"])
    assert code == 0 and info["client_id"] in out
    r = get("/api/organization", token)
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "INVALID_TOKEN"
    # and no new token either
    body = {"grant_type": "client_credentials", **{k: info[k] for k in ("client_id", "client_secret")}}
    r = Client().post("/oauth/token", data=json.dumps(body), content_type="application/json")
    assert r.status_code == 401
    code, out, _ = run(capsys, "apps", "list", "--json")
    assert next(a for a in json.loads(out) if a["client_id"] == info["client_id"])["revoked"] is True


def test_a_server_process_sees_a_revocation_within_its_refresh_period(capsys, monkeypatch):
    """The CLI runs in its own process: the server learns of the revocation from its next cache refresh."""
    info = create(capsys)
    token = token_for(info["client_id"], info["client_secret"])
    assert tokens._RevokedApplications().refresh_seconds <= 1
    # Slow the refresh down, so that a slow test run cannot refresh before the revocation by accident.
    monkeypatch.setattr(tokens._revoked, "refresh_seconds", 3600)
    tokens.reset_revocation_cache()
    assert get("/api/organization", token).status_code == 200  # the cache is loaded: nothing revoked
    monkeypatch.setattr(tokens, "note_revoked", lambda application_id: None)  # another process's revoke
    assert run(capsys, "apps", "revoke", info["client_id"])[0] == 0
    assert get("/api/organization", token).status_code == 200  # until the refresh...
    later = time.monotonic() + tokens._revoked.refresh_seconds + 0.01
    monkeypatch.setattr(tokens.time, "monotonic", lambda: later)
    r = get("/api/organization", token)
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "INVALID_TOKEN"


def test_revoking_an_unknown_client_fails(capsys):
    code, _, err = run(capsys, "apps", "revoke", "no-such-client")
    assert code != 0 and "no-such-client" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["apps", "create", "--name", "x", "--kind", "superuser", "--mode", "test"],
        ["apps", "create", "--name", "x", "--kind", "integration", "--mode", "staging"],
        ["apps", "create", "--kind", "integration", "--mode", "test"],
        # The SDK builds https://<slug>.<domain>/api from it: a slug that is no host label breaks every client.
        [
            "apps",
            "create",
            "--name",
            "x",
            "--kind",
            "integration",
            "--mode",
            "test",
            "--organization",
            "Not A Slug!",
        ],
        ["apps", "create", "--name", " ", "--kind", "integration", "--mode", "test"],
        ["apps"],
        ["apps", "delete", "x"],
    ],
)
def test_bad_arguments_exit_non_zero_and_create_nothing(capsys, argv):
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    _, err = capsys.readouterr()
    assert code not in (0, None) and err
    assert not Application.objects.exists()


def test_the_command_in_its_own_process(tmp_path):
    """The console script's entry, on a fresh data directory: migrates, then creates and lists."""
    # A SQLite file of its own, whatever this run's database is: never the test database.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERFACTORY_")}
    env.update(ORDERFACTORY_DATA_DIR=str(tmp_path), PYTHONPATH=str(ROOT / "src"))

    def command(*argv: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "orderfactory.cli", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    info = json.loads(
        command("apps", "create", "--name", "p", "--kind", "integration", "--mode", "live", "--json")
    )
    assert info["mode"] == "live" and info["organization"] == "demo"
    assert [a["client_id"] for a in json.loads(command("apps", "list", "--json"))] == [info["client_id"]]


def test_client_ids_never_start_with_a_dash():
    """One in 64 would, and `apps revoke <client_id>` would read it as an option."""
    from orderfactory.auth.services import new_client_id

    ids = [new_client_id() for _ in range(2000)]
    assert not [i for i in ids if i.startswith("-")]
    assert {len(i) for i in ids} == {43}
