"""``orderfactory users``: create operators (password read, or generated and printed once), list, deactivate."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client

from orderfactory import cli
from orderfactory.console.models import Operator
from tests.console.test_sign_in import sign_in

pytestmark = pytest.mark.django_db


def run(capsys, monkeypatch, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_create_an_operator_with_a_password_from_standard_input(capsys, monkeypatch):
    code, out, err = run(
        capsys,
        monkeypatch,
        *("users", "create", "--email", "Ops@Acme.example", "--organization", "acme", "--role", "admin"),
        stdin="a long console password\n",
    )
    assert code == 0, err
    assert out == "Created admin ops@acme.example in organization 'acme': they sign in at /console/.\n"
    operator = Operator.objects.select_related("organization").get()
    assert (operator.email, operator.organization.slug, operator.role) == (
        "ops@acme.example",
        "acme",
        "admin",
    )
    assert operator.password.startswith("pbkdf2_sha256$")  # hashed: the password is nowhere in the row
    assert sign_in(Client(), "ops@acme.example", "a long console password").status_code == 303


def test_a_generated_password_is_printed_once(capsys, monkeypatch, fast_hashing):
    argv = ("users", "create", "--email", "v@acme.example", "--organization", "acme", "--role", "viewer")
    code, out, _ = run(capsys, monkeypatch, *argv, "--generate-password")
    assert code == 0
    match = re.search(r"password: (\S+)\n", out)
    assert match is not None and "shown only now" in out
    assert sign_in(Client(), "v@acme.example", match.group(1)).status_code == 303
    code, out, _ = run(capsys, monkeypatch, "users", "list")
    assert out == "v@acme.example\tacme\tviewer\tactive\n" and match.group(1) not in out


@pytest.mark.parametrize(
    "email, password, message",
    [
        ("not-an-address", "a long console password", "email 'not-an-address' is not a valid address"),
        ("ok@acme.example", "short", "password: This password is too short."),
        ("ok@acme.example", "123456789012345", "password: This password is entirely numeric."),
    ],
)
def test_bad_input_is_refused_with_a_reason(capsys, monkeypatch, email, password, message):
    argv = ("users", "create", "--email", email, "--organization", "acme", "--role", "support")
    code, _, err = run(capsys, monkeypatch, *argv, stdin=password + "\n")
    assert code == 2 and message in err
    assert Operator.objects.count() == 0


def test_an_email_is_one_operator_and_a_role_is_one_of_three(capsys, monkeypatch, fast_hashing):
    argv = ("users", "create", "--email", "ops@acme.example", "--organization", "acme", "--generate-password")
    assert run(capsys, monkeypatch, *argv, "--role", "support")[0] == 0
    code, _, err = run(capsys, monkeypatch, *argv, "--role", "admin")
    assert code == 2 and "an operator with email ops@acme.example exists already" in err
    with pytest.raises(SystemExit) as exited:
        run(capsys, monkeypatch, *argv, "--role", "root")
    assert exited.value.code == 2 and "invalid choice: 'root'" in capsys.readouterr().err


def test_deactivate(capsys, monkeypatch, fast_hashing):
    argv = ("users", "create", "--email", "ops@acme.example", "--organization", "acme", "--role", "support")
    run(capsys, monkeypatch, *argv, stdin="a long console password\n")
    code, out, _ = run(capsys, monkeypatch, "users", "deactivate", "OPS@acme.example")
    assert code == 0 and "Deactivated ops@acme.example" in out
    assert sign_in(Client(), "ops@acme.example", "a long console password").status_code == 200
    assert run(capsys, monkeypatch, "users", "deactivate", "nobody@acme.example")[0] == 2
