"""The API holds to its own OpenAPI document under schema-driven fuzzing (#18 item 17): Schemathesis sends
every operation of ``GET /openapi.json`` a few generated requests, valid and invalid, with a real token and
real ids; no answer is a 5xx, and each has a documented status, content type and schema. A longer run is
bench/fuzz.py. Derandomized, so a run is reproducible; the bench draws new cases each time."""

from __future__ import annotations

import schemathesis

from orderfactory.wsgi import application
from tests.conftest import Api
from tests.fuzzing import fuzz, in_process, known_ids, seed

EXAMPLES = 3
RELATIONSHIP_EXAMPLES = 1  # each relationship of each type: 330 operations
SEEDED = ("orders", "line_items", "skus", "markets", "customers", "order_subscriptions", "coupons")


def test_every_operation_holds_to_the_document(api: Api) -> None:
    seed(api)
    ids = known_ids(api)
    assert all(ids[t] for t in SEEDED), {t: len(ids[t]) for t in SEEDED}
    with in_process():
        schema = schemathesis.openapi.from_wsgi("/openapi.json", application)
        report = fuzz(
            schema,
            api.token,
            ids,
            examples=EXAMPLES,
            relationship_examples=RELATIONSHIP_EXAMPLES,
            derandomize=True,
        )
    print(report.summary())
    assert report.operations > 400
    assert report.statuses[200] + report.statuses[201] > report.requests // 5  # real rows, not only 404s
    assert not report.server_errors, "\n".join(report.server_errors[:20])
    assert not report.failures, "\n".join(report.failures[:20])
