"""``Idempotency-Key`` on POST: a retry with the same key and the same request within 24 hours gets the first
response (status and document) and does nothing else; the same key with another request is a 422.

The key row is inserted in the same transaction as the write it guards, so a crash leaves neither, and a
concurrent retry waits on the row (PostgreSQL's unique index, SQLite's single writer) and then replays it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from orderfactory.core import clock, locks
from orderfactory.core.models import IdempotencyKey
from orderfactory.jsonapi import errors

HEADER = "Idempotency-Key"
META_KEY = "HTTP_IDEMPOTENCY_KEY"  # HEADER as WSGI names it in request.META
TTL = dt.timedelta(hours=24)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class _DoNotStore(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def request_hash(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def run(
    request: HttpRequest, application_id: str, key: str, handle: Callable[[], HttpResponse]
) -> HttpResponse:
    if not _KEY.match(key):
        raise errors.bad_request(
            "The Idempotency-Key header must be 1 to 255 printable ASCII characters.", parameter=HEADER
        )
    digest = request_hash(request)
    try:
        with transaction.atomic():
            record = _claim(application_id, key, digest)
            if record.status_code is not None:
                return _replay(record, digest)
            response = handle()
            if response.status_code >= 500:
                raise _DoNotStore(response)  # roll back: a retry should try again
            record.status_code = response.status_code
            record.content_type = response.get("Content-Type")
            record.body = response.content
            record.save(update_fields=["status_code", "content_type", "body"])
            return response
    except _DoNotStore as exc:
        return exc.response


def _claim(application_id: str, key: str, digest: str) -> IdempotencyKey:
    cutoff = clock.now() - TTL
    IdempotencyKey.objects.filter(application_id=application_id, key=key, created_at__lt=cutoff).delete()
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(application_id=application_id, key=key, request_hash=digest)
    except IntegrityError:
        # Another request with this key committed first (we waited for it): replay what it stored.
        return locks.for_update(IdempotencyKey.objects.filter(application_id=application_id, key=key)).get()


def _replay(record: IdempotencyKey, digest: str) -> HttpResponse:
    if record.request_hash != digest:
        raise errors.ApiError(
            422,
            "VALIDATION_ERROR",
            "Idempotency key reused",
            "This Idempotency-Key was used with a different request.",
            meta={"error": "idempotency_key_reused"},
        )
    response = HttpResponse(bytes(record.body), status=record.status_code, content_type=record.content_type)
    response["Idempotent-Replayed"] = "true"
    return response


def purge(now: dt.datetime | None = None) -> int:
    """Forget keys older than 24 hours (a periodic job)."""
    return IdempotencyKey.objects.filter(created_at__lt=(now or clock.now()) - TTL).delete()[0]
