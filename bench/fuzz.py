"""A longer schema-driven fuzzing run than the suite's (tests/test_fuzz.py), against the API's own OpenAPI
document (``GET /openapi.json``), with new random cases each run.

Migrates a temporary SQLite database (or ``--database-url``), creates an application of a new organization,
seeds a little of everything through the API (tests/fuzzing.py), then sends every operation
``--examples`` generated requests (``--relationship-examples`` for relationship endpoints), valid and
invalid, in-process, with a real token and real ids. Prints operations, requests by status class, 5xx and
failed checks (undocumented status, content type or schema), then the first of each. Figures only: nothing
here asserts. Exits 1 when a 5xx or a failure was found.

    .venv/bin/python bench/fuzz.py [--examples 25] [--relationship-examples 5]
    .venv/bin/python bench/fuzz.py --database-url postgresql://postgres@127.0.0.1:5432/of_bench
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="", help="PostgreSQL URL (default: a temporary SQLite file)"
    )
    parser.add_argument("--examples", type=int, default=25, help="cases per operation")
    parser.add_argument(
        "--relationship-examples", type=int, default=5, help="cases per relationship endpoint"
    )
    parser.add_argument("--show", type=int, default=10, help="how many 5xx and failures to print")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="of-fuzz-")
    os.environ["ORDERFACTORY_DATA_DIR"] = data_dir
    os.environ["ORDERFACTORY_DATABASE_URL"] = args.database_url or f"sqlite:///{data_dir}/fuzz.sqlite3"
    os.environ["ORDERFACTORY_RATE_LIMITS"] = "off"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderfactory.settings")
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

    import django

    django.setup()
    import schemathesis
    from django.core.management import call_command
    from tests.conftest import Api
    from tests.fuzzing import fuzz, in_process, known_ids, seed

    from orderfactory.auth import services, tokens
    from orderfactory.wsgi import application

    call_command("migrate", interactive=False, verbosity=0)
    organization = f"fuzz-{secrets.token_hex(4)}"
    app, _secret = services.create_application(
        name="fuzz", kind="integration", mode="test", organization_slug=organization
    )
    api = Api(tokens.issue_token(app, None)["access_token"], app, app.organization)
    seed(api)
    ids = known_ids(api)
    with in_process():
        schema = schemathesis.openapi.from_wsgi("/openapi.json", application)
        report = fuzz(
            schema,
            api.token,
            ids,
            examples=args.examples,
            relationship_examples=args.relationship_examples,
            derandomize=False,
        )
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{database}, organization {organization}: {report.summary()}")
    statuses = ", ".join(f"{status} {count}" for status, count in sorted(report.statuses.items()))
    print(f"statuses: {statuses}")
    for title, found in (("5xx", report.server_errors), ("failures", report.failures)):
        for line in found[: args.show]:
            print(f"{title}: {line}")
    return 1 if report.server_errors or report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
