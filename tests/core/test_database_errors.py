"""Which database errors are worth a retry (core.database), told by exception type and SQLSTATE, never by the
message; and what the API answers for them."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, ProgrammingError, close_old_connections, connection
from django.db.utils import DatabaseErrorWrapper
from django.test import Client

from orderfactory.core import database


def wrapped(driver_error: Exception) -> DatabaseError:
    """The driver's exception as Django raises it (its own class, the driver's as the cause)."""
    driver = psycopg if isinstance(driver_error, psycopg.Error) else sqlite3
    try:
        with DatabaseErrorWrapper(SimpleNamespace(Database=driver, errors_occurred=False)):
            raise driver_error
    except DatabaseError as exc:
        return exc
    raise AssertionError("not wrapped")


def sqlite_error(code: int, message: str) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.CannotConnectNow("the database system is starting up"),
        psycopg.errors.TooManyConnections("sorry, too many clients already"),
        psycopg.errors.ConnectionFailure("connection failure"),
        psycopg.OperationalError(
            "connection failed: Connection refused"
        ),  # raised by the client: no SQLSTATE
        psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"),
    ],
)
def test_a_lost_or_refused_connection_is_unavailable(error: Exception) -> None:
    exc = wrapped(error)
    assert database.unavailable(exc) and not database.contention(exc) and database.transient(exc)


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.errors.SerializationFailure("could not serialize access"),
        psycopg.errors.LockNotAvailable("could not obtain lock"),
        sqlite_error(5, "database is locked"),  # SQLITE_BUSY
        sqlite_error(6 | (1 << 8), "database table is locked"),  # an extended SQLITE_LOCKED code
    ],
)
def test_lock_contention_is_contention(error: Exception) -> None:
    exc = wrapped(error)
    assert database.contention(exc) and not database.unavailable(exc)


def test_the_sqlite_engines_write_lock_timeout_is_contention() -> None:
    assert database.contention(database.WriteLockTimeout("database is locked"))


@pytest.mark.parametrize(
    "error",
    [
        # what the message-matching classification took for contention
        psycopg.errors.UndefinedColumn('column "locked" does not exist'),
        psycopg.errors.UniqueViolation('duplicate key value violates unique constraint "deadlock_key"'),
        sqlite_error(1, "no such table: unlocked"),  # SQLITE_ERROR
        psycopg.errors.NumericValueOutOfRange("integer out of range"),
    ],
)
def test_other_errors_are_not_worth_a_retry(error: Exception) -> None:
    assert not database.transient(wrapped(error))
    assert not database.transient(ProgrammingError("could not serialize: the word is not the reason"))


def _end_this_connection() -> None:
    """What a restarting server does to this process's connection."""
    backend = connection.connection.info.backend_pid
    s = connection.settings_dict
    with psycopg.connect(
        dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"], host=s["HOST"], port=s["PORT"] or 5432
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [backend])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL server ends the connection")
@pytest.mark.django_db(transaction=True)
def test_a_request_whose_connection_the_server_ended_is_a_503_with_retry_after(api: Any) -> None:
    assert api.get("shipping_categories").status == 200
    _end_this_connection()
    r = api.get("shipping_categories")
    assert r.status == 503 and r.headers["Retry-After"] == "2", r
    assert r.json["errors"][0]["code"] == "SERVICE_UNAVAILABLE"
    close_old_connections()  # what the end of a request does (Django's test client leaves it out)
    assert api.get("shipping_categories").status == 200  # the next request connects again
    # the token endpoint too, through Django's handler500
    _end_this_connection()
    body = {"grant_type": "client_credentials", "client_id": api.app.client_id, "client_secret": "x"}
    r = Client(raise_request_exception=False).post("/oauth/token", body, content_type="application/json")
    assert (
        r.status_code == 503 and r["Retry-After"] == "2" and r["Content-Type"] == "application/vnd.api+json"
    )
    assert r.json()["errors"][0]["code"] == "SERVICE_UNAVAILABLE"
    close_old_connections()
