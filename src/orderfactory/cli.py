"""The ``orderfactory`` command (serve, migrate, worker, scheduler, demo, apps, users, copies), a stable contract for
tests, docs and operators. A bad configuration is one line on stderr saying what is wrong and what to set, and
exit status 2, never a traceback."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys
import threading
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from orderfactory import config, copies_cli, demo
from orderfactory.auth.kinds import KINDS
from orderfactory.core import outbound

log = logging.getLogger("orderfactory.cli")


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderfactory.settings")
    import django

    django.setup()


def _database_problem(exc: Exception, doing: str = "cannot connect to") -> str:
    """One line: which database could not be reached, why, and what to set."""
    from django.db import connection

    s = connection.settings_dict
    reason = " ".join(str(exc).split("\n")[0].split())
    if connection.vendor == "postgresql":
        reason = reason.rsplit(" failed: ", 1)[-1].removeprefix("FATAL: ").strip()
        where = f"PostgreSQL at {s['HOST'] or 'localhost'}:{s['PORT'] or 5432} (database {s['NAME']!r})"
    else:
        where = f"the SQLite database {s['NAME']}"
    return f"{doing} {where}: {reason}; {config.DATABASE_URL_HELP}"


def _check_database() -> None:
    from django.db import DatabaseError, connection

    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        raise config.ConfigError(_database_problem(exc)) from None


def cmd_migrate(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1 if args.verbose else 0)
    return 0


def cmd_apps(args: argparse.Namespace) -> int:
    from orderfactory.auth import services

    cmd_migrate(argparse.Namespace(verbose=False))
    if args.apps_command == "create":
        try:
            app, secret = services.create_application(
                name=args.name, kind=args.kind, mode=args.mode, organization_slug=args.organization
            )
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        info = {
            "id": app.id,
            "name": app.name,
            "client_id": app.client_id,
            "client_secret": secret,
            "organization": app.organization.slug,
            "organization_id": app.organization_id,
            "mode": app.mode,
            "kind": app.kind,
        }
        if args.json:
            print(json.dumps(info))
        else:
            print(
                f"Created {app.kind} application {app.name!r} in organization {app.organization.slug!r} ({app.mode} mode)."
            )
            print(f"  client_id:     {app.client_id}")
            print(f"  client_secret: {secret}")
            print("The secret is stored hashed and is shown only now.")
        return 0
    if args.apps_command == "list":
        rows = services.list_applications()
        if args.json:
            print(
                json.dumps(
                    [
                        {
                            "id": a.id,
                            "name": a.name,
                            "client_id": a.client_id,
                            "organization": a.organization.slug,
                            "mode": a.mode,
                            "kind": a.kind,
                            "revoked": a.revoked_at is not None,
                        }
                        for a in rows
                    ]
                )
            )
        else:
            for a in rows:
                state = "revoked" if a.revoked_at else "active"
                print(f"{a.client_id}\t{a.organization.slug}\t{a.mode}\t{a.kind}\t{state}\t{a.name}")
        return 0
    if args.apps_command == "revoke":
        try:
            app = services.revoke_application(args.client_id)
        except LookupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"Revoked {app.client_id}: its tokens stop working now.")
        return 0
    return 2


def _password(args: argparse.Namespace) -> str | None:
    """Generated with ``--generate-password``; else asked twice at a terminal; else one line of standard input
    (scripts and tests)."""
    import getpass

    from orderfactory.console import services

    if args.generate_password:
        return services.generate_password()
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != first:
            print("error: the passwords differ", file=sys.stderr)
            return None
        return first
    return sys.stdin.readline().rstrip("\n")


def cmd_users(args: argparse.Namespace) -> int:
    from orderfactory.console import services

    cmd_migrate(argparse.Namespace(verbose=False))
    if args.users_command == "create":
        password = _password(args)
        if password is None:
            return 2
        try:
            operator = services.create_operator(
                email=args.email,
                organization_slug=args.organization or os.environ.get("ORDERFACTORY_ORGANIZATION") or "demo",
                role=args.role,
                password=password,
            )
        except services.OperatorInvalid as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(
            f"Created {operator.role} {operator.email} in organization {operator.organization.slug!r}: "
            "they sign in at /console/."
        )
        if args.generate_password:
            print(f"  password: {password}")
            print("The password is stored hashed and is shown only now.")
        return 0
    if args.users_command == "list":
        for operator in services.list_operators():
            state = "active" if operator.is_active else "deactivated"
            print(f"{operator.email}\t{operator.organization.slug}\t{operator.role}\t{state}")
        return 0
    if args.users_command == "deactivate":
        try:
            operator = services.deactivate_operator(args.email)
        except services.OperatorInvalid as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"Deactivated {operator.email}: they can no longer sign in.")
        return 0
    return 2


def _command() -> str:
    """How the user ran this command (``.venv/bin/orderfactory`` under ``make run``), to print commands that
    work as they are."""
    return sys.argv[0] if os.path.basename(sys.argv[0]) == "orderfactory" else "orderfactory"


def _print_first_start_hint(host: str, port: int) -> None:
    from orderfactory.auth.models import Application

    if not Application.objects.exists():
        print(
            "No API credentials exist yet. For demo data to try (a catalog, customers, placed orders and\n"
            "subscriptions) and credentials to use it, run in another terminal:\n"
            f"  {_command()} demo\n"
            "or create credentials of your own:\n"
            f"  {_command()} apps create --name my-integration --kind integration --mode test\n"
            f"The server's index: http://{host}:{port}/",
            flush=True,
        )


def cmd_demo(args: argparse.Namespace) -> int:
    import shlex

    from django.conf import settings

    cmd_migrate(argparse.Namespace(verbose=False))
    # The demo's own requests (made in this process) are not a client to pace.
    settings.ORDERFACTORY = {**settings.ORDERFACTORY, "RATE_LIMITS_ENABLED": False}
    try:
        made = demo.create(args.organization, runs_in=args.runs_in)
    except demo.DemoExists:
        print(
            f"orderfactory: the demo organization {args.organization!r} exists already (its client secret was "
            f"shown once, when it was made); for new credentials to it: {_command()} apps create --name demo "
            f"--kind integration --mode test --organization {args.organization}; for another demo: "
            f"{_command()} demo --organization {args.organization}-2",
            file=sys.stderr,
        )
        return 1
    if args.json:
        print(json.dumps(dataclasses.asdict(made)))
    elif args.shell:
        print("\n".join(f"{name}={shlex.quote(value)}" for name, value in made.variables().items()))
    else:
        base = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
        print(demo.instructions(made, base))
    return 0


def _check_port(host: str, port: int) -> None:
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
            probe.bind(infos[0][4])
    except (OSError, OverflowError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise config.ConfigError(
            f"cannot listen on {host}:{port} ({reason}); set PORT (or --port) to a free port and HOST "
            "(or --host) to an address of this machine"
        ) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication

    from orderfactory import worker
    from orderfactory.auth import keys
    from orderfactory.server import LIMIT_REQUEST_LINE

    _check_port(args.host, args.port)
    keys.signing_key()  # a configured signing key that cannot sign is a configuration error, said now
    cmd_migrate(argparse.Namespace(verbose=False))
    _print_first_start_hint(args.host, args.port)
    # The embedded worker: child processes of this one (gunicorn's master), one per web worker, kept running
    # and stopped with it (gunicorn ends its run with SystemExit, also on Ctrl-C and SIGTERM).
    embedded_worker = None if args.no_worker else worker.EmbeddedWorker(processes=args.workers)

    class App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            cfg: dict[str, Any] = {
                "bind": f"{args.host}:{args.port}",
                "workers": args.workers,
                "threads": args.threads,
                # gunicorn's threaded worker, answering what gunicorn itself refuses as JSON:API errors
                "worker_class": "orderfactory.server.ThreadWorker",
                "limit_request_line": LIMIT_REQUEST_LINE,
                "accesslog": "-" if args.access_log else None,
                "graceful_timeout": 10,
                "timeout": 60,
                "keepalive": 5,
            }
            for key, value in cfg.items():
                self.cfg.set(key, value)
            if embedded_worker is not None:
                # started once gunicorn's master handles SIGTERM and SIGINT (and before it forks web workers)
                self.cfg.set("when_ready", lambda _arbiter: embedded_worker.start())

        def load(self) -> Any:
            from orderfactory.wsgi import application

            return application

    print(f"orderfactory serving on http://{args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    try:
        App().run()
    finally:
        if embedded_worker is not None:
            embedded_worker.stop()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """``--concurrency N`` worker processes (copies are CPU-bound Python: threads of one process would share
    one interpreter lock), each running ``--threads`` job threads (for jobs that mostly wait: webhook
    deliveries, gateway calls). With N > 1 this process supervises the N others."""
    from orderfactory import worker

    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        log.warning("stopping worker on %s", signal.strsignal(signum))
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    if args.concurrency > 1:
        return worker.supervise(processes=args.concurrency, threads=args.threads, batch=args.batch, stop=stop)
    worker.run_standalone(concurrency=args.threads, stop=stop, batch=args.batch, scheduler=args.embedded)
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    """Start due subscription runs, retries and renewal alerts every ``--interval`` seconds. Several schedulers
    may run against one database: each run is started once (docs/decisions.md, "Subscriptions")."""
    from django.db import DatabaseError

    from orderfactory.core import database
    from orderfactory.subscriptions import services

    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        log.warning("stopping scheduler on %s", signal.strsignal(signum))
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    while True:
        failed = False
        try:
            counts = services.tick()
            if any(counts.values()):
                log.info("scheduler tick: %s", counts)
        except Exception as exc:
            failed = True
            if isinstance(exc, DatabaseError) and database.unavailable(exc):
                log.warning("scheduler tick: the database is not available")
            else:
                log.exception("scheduler tick failed")
        if args.once:
            return 1 if failed else 0  # so cron sees a failed tick
        if stop.wait(args.interval):
            return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orderfactory",
        description="Self-hostable order-copy and recurring-order engine speaking the Commerce Layer Core API.",
        epilog="Configuration is read from ORDERFACTORY_* environment variables (README, Configuration). "
        "`orderfactory COMMAND --help` describes each command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="apply migrations, serve the API and run the embedded worker")
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=config.integer("PORT", 8000, minimum=1))
    p.add_argument("--workers", type=int, default=config.integer("ORDERFACTORY_WEB_WORKERS", 1, minimum=1))
    p.add_argument("--threads", type=int, default=config.integer("ORDERFACTORY_WEB_THREADS", 8, minimum=1))
    p.add_argument("--no-worker", action="store_true", help="do not run the embedded background worker")
    p.add_argument("--access-log", action="store_true")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.add_argument("--verbose", action="store_true")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("worker", help="run standalone background workers")
    p.add_argument("--concurrency", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--threads", type=int, default=1, help="job threads per worker process (default 1)")
    p.add_argument("--batch", action="store_true", help="exit when the queue is empty")
    # serve's embedded worker (a child process of serve): the scheduler too, woken by serve's requests
    p.add_argument("--embedded", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("scheduler", help="run the subscription scheduler standalone")
    p.add_argument(
        "--interval", type=float, default=config.number("ORDERFACTORY_SCHEDULER_INTERVAL", 10, minimum=0.1)
    )
    p.add_argument("--once", action="store_true", help="one tick, then exit")
    p.set_defaults(func=cmd_scheduler)

    p = sub.add_parser(
        "demo", help="create a demo organization to try (catalog, orders, subscriptions) and print how"
    )
    p.add_argument("--organization", default=demo.ORGANIZATION, help="its slug (default %(default)s)")
    p.add_argument(
        "--runs-in",
        type=float,
        default=config.number("ORDERFACTORY_DEMO_RUNS_IN", 60),
        help="seconds until the subscriptions' next run (default $ORDERFACTORY_DEMO_RUNS_IN or 60)",
    )
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print what was made as one JSON object")
    output.add_argument("--shell", action="store_true", help="print CLIENT_ID=... lines for eval")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("apps", help="manage API applications (client credentials)")
    apps_sub = p.add_subparsers(dest="apps_command", required=True)
    c = apps_sub.add_parser("create")
    c.add_argument("--name", required=True)
    c.add_argument(
        "--kind",
        required=True,
        choices=KINDS,
        help="integration, sales_channel, or the kind of a Commerce Layer dashboard app (docs/console.md)",
    )
    c.add_argument("--mode", required=True, choices=["test", "live"])
    c.add_argument(
        "--organization",
        default=None,
        help="organization slug (default $ORDERFACTORY_ORGANIZATION or 'demo')",
    )
    c.add_argument("--json", action="store_true")
    lst = apps_sub.add_parser("list")
    lst.add_argument("--json", action="store_true")
    rv = apps_sub.add_parser("revoke")
    rv.add_argument("client_id")
    p.set_defaults(func=cmd_apps)

    p = sub.add_parser("users", help="manage the operators who sign in to the console at /console/")
    users_sub = p.add_subparsers(dest="users_command", required=True)
    c = users_sub.add_parser("create")
    c.add_argument("--email", required=True)
    c.add_argument(
        "--organization",
        default=None,
        help="organization slug (default $ORDERFACTORY_ORGANIZATION or 'demo')",
    )
    c.add_argument("--role", required=True, choices=["admin", "support", "viewer"])
    c.add_argument(
        "--generate-password",
        action="store_true",
        help="generate a password and print it once (else it is asked, or read from standard input)",
    )
    users_sub.add_parser("list")
    d = users_sub.add_parser("deactivate")
    d.add_argument("email")
    p.set_defaults(func=cmd_users)

    copies_cli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from django.db import InterfaceError, OperationalError

    try:
        args = build_parser().parse_args(argv)
        _setup()
        outbound.check_settings()
        _check_database()
        return int(args.func(args) or 0)
    except ImproperlyConfigured as exc:  # config.ConfigError, and Django's own
        print(f"orderfactory: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except (OperationalError, InterfaceError) as exc:  # the database went away after the check
        print(f"orderfactory: {_database_problem(exc, 'lost')}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
